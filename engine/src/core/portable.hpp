#pragma once
// Functions marked MANTISSA_HD compile for the host and for the GPU. The rules
// that kernels apply (dtype rounding, optimizer updates, the loss-scale rule,
// the LR schedule) are written once this way, so the same source runs in the
// kernels and in host unit tests on machines without a GPU.
#if defined(__CUDACC__)
#define MANTISSA_HD __host__ __device__
#else
#define MANTISSA_HD
#endif
