#pragma once
// CUDA runtime errors as exceptions carrying the failed expression, file and
// line (never exit()). An allocation failure becomes OutOfMemoryError; any
// other error is an InternalError, since shapes and dtypes are validated
// before anything reaches the GPU.
#include <cuda_runtime_api.h>

namespace mantissa::cuda {

[[noreturn]] void throw_cuda_error(cudaError_t error, const char* expr, const char* file, int line);

inline void check_cuda(cudaError_t error, const char* expr, const char* file, int line) {
  if (error != cudaSuccess) throw_cuda_error(error, expr, file, line);
}

}  // namespace mantissa::cuda

#define MANTISSA_CUDA_CHECK(expr) ::mantissa::cuda::check_cuda((expr), #expr, __FILE__, __LINE__)
// After a kernel launch: reports a bad launch configuration at once; errors
// inside the kernel surface at the next synchronisation (download).
#define MANTISSA_CUDA_CHECK_LAUNCH(what) \
  ::mantissa::cuda::check_cuda(cudaGetLastError(), what, __FILE__, __LINE__)
