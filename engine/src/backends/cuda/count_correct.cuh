#pragma once
// correct[0] += number of rows whose first maximum is the label.
#include <cuda_runtime_api.h>

#include <cstdint>

namespace mantissa::cuda {

void launch_count_correct(const float* logits, const float* labels, std::int64_t N, std::int64_t C,
                          float* correct, cudaStream_t stream);

}  // namespace mantissa::cuda
