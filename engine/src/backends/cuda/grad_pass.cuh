#pragma once
// The gradient pass of the training step as ONE kernel launch over every
// gradient tensor (a device pointer table, multi_tensor_layout.hpp): unscale
// in place by inv = float(1.0 / double(S)) with S read on the device, note the
// lowest-index tensor holding a non-finite value (checked before unscaling,
// as GradScaler does), and the sum of squares of the unscaled values. Each
// block handles one chunk and leaves a partial sum; the last block to finish
// adds the partials in chunk order (double) and writes found_inf (1 + tensor
// index, only if it is still 0) and the sum, so results are deterministic.
#include <cuda_runtime_api.h>

#include "backends/cuda/multi_tensor_layout.hpp"

namespace mantissa::cuda {

struct GradPassOutputs {
  const float* scale = nullptr;  // null: no unscaling
  float* found_inf = nullptr;    // null: no check
  float* sum_squares = nullptr;  // null: no norm
};

void launch_grad_pass(const TableView& table, const GradPassOutputs& out, cudaStream_t stream);

}  // namespace mantissa::cuda
