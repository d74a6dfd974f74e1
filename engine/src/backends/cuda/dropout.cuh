#pragma once
// Inverted dropout: mask[i] = keep(seed, i) ? keep_scale : 0 with the CPU
// backend's counter-based draw, y = x * mask (the mask value as stored).
#include <cuda_runtime_api.h>

#include <cstdint>

#include "mantissa/dtype.hpp"
#include "mantissa/step_state.hpp"

namespace mantissa::cuda {

// keep_scale is 1 / (1 - p) already rounded to the mask's dtype. `step`
// (the step state in device memory, or null): the kernel mixes its
// steps_taken into the seed.
void launch_dropout(const void* x, DType x_type, void* y, DType y_type, void* mask, DType mask_type,
                    std::int64_t n, float p, float keep_scale, std::uint64_t seed,
                    const StepState* step, cudaStream_t stream);

}  // namespace mantissa::cuda
