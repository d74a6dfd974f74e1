#pragma once
// Activations forward (y = act(x)) and backward (dx = dy * act'(x), from x or
// from y as elementwise_math.hpp says), any dtypes, fp32 math.
#include <cuda_runtime_api.h>

#include <cstdint>

#include "backends/cuda/elementwise_math.hpp"
#include "mantissa/dtype.hpp"

namespace mantissa::cuda {

void launch_activation_forward(ActKind act, float alpha, const void* x, DType x_type, void* y,
                               DType y_type, std::int64_t n, cudaStream_t stream);
// `a` is x or y, whichever activation_reads_output(act) asks for.
void launch_activation_backward(ActKind act, float alpha, const void* a, DType a_type,
                                const void* dy, DType dy_type, void* dx, DType dx_type,
                                std::int64_t n, cudaStream_t stream);

}  // namespace mantissa::cuda
