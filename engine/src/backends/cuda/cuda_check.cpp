#include "backends/cuda/cuda_check.hpp"

#include <string>

#include "mantissa/error.hpp"

namespace mantissa::cuda {

void throw_cuda_error(cudaError_t error, const char* expr, const char* file, int line) {
  const std::string what = std::string(cudaGetErrorName(error)) + ": " + cudaGetErrorString(error);
  if (error == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // not sticky: clear it so later calls do not report it again
    throw OutOfMemoryError("cuda: out of device memory in " + std::string(expr) + " (" + what +
                           ")");
  }
  throw_internal(expr, file, line, "CUDA error " + what);
}

}  // namespace mantissa::cuda
