#pragma once
// The weight fingerprint (Backend::weight_fingerprint) as one kernel over
// every master (pointer table slots: [0] the master, [1] its previous copy or
// null). `out` (fingerprint_rule.hpp's words) is zeroed first; each block
// adds its chunk's checksum (64-bit integer atomics: exact in any order), its
// update sum of squares and its tensor's sum of squares (fp32 atomics: the
// last bits may depend on the order blocks finish in), and copies the chunk
// into the previous copy.
#include <cuda_runtime_api.h>

#include "backends/cuda/multi_tensor_layout.hpp"

namespace mantissa::cuda {

void launch_weight_fingerprint(const TableView& table, float* out, std::int64_t out_words,
                               cudaStream_t stream);

}  // namespace mantissa::cuda
