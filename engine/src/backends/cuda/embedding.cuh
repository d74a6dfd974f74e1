#pragma once
// Embedding lookups and their gradient. ids are fp32 holding token ids; an id
// that is not an integer in [0, V) cannot be rejected on the device without
// a host round trip, so its output row is NaN (the loss then shows up as
// non-finite and the step is skipped) and its gradient row is dropped.
//
// The gradient is deterministic and gives the CPU backend's bits: for each
// token id, the dout rows that looked it up are added in increasing position
// order into an fp32 accumulator that starts at 0.0f. One block per position:
// a position that is the first to hold its id (the block scans the earlier
// ids) then walks the later positions in order, each thread owning some
// channels, and writes its token's row; the rest of the table is zeroed
// first. Cost: M^2 / 2 id comparisons for the first-occurrence test plus
// U * M * ceil(C / threads) sequential steps (U distinct ids), against the
// M * C of an atomic scatter; determinism comes first here.
#include <cuda_runtime_api.h>

#include <cstdint>

#include "mantissa/dtype.hpp"

namespace mantissa::cuda {

// out (M, C, table's dtype) = rows ids[m] of table (V, C).
void launch_embedding_forward(const void* table, DType table_type, const float* ids, void* out,
                              std::int64_t V, std::int64_t C, std::int64_t M, cudaStream_t stream);
// dtable (V, C, fp32), overwritten; dout (M, C) of any dtype.
void launch_embedding_backward(const float* ids, const void* dout, DType dout_type, float* dtable,
                               std::int64_t V, std::int64_t C, std::int64_t M, cudaStream_t stream);

}  // namespace mantissa::cuda
