#pragma once
// The numerics manifest of a run (docs/numerics.md "Manifest"): everything
// that decides its arithmetic, stored with it so that two runs can be told
// apart by more than their settings, and a run can be reproduced.
#include <cstdint>
#include <string>

#include "mantissa/backend.hpp"
#include "mantissa/data.hpp"
#include "mantissa/metrics.hpp"
#include "mantissa/model.hpp"

namespace mantissa {

// A 64-bit fingerprint of a dataset's values (features, then targets, as
// stored): equal for the same data in the same order.
std::uint64_t dataset_fingerprint(const Dataset& d);

// JSON: Mantissa's version; the device and backend; library versions (oneDNN;
// CUDA runtime, cuBLASLt and cuDNN where the backend reports them); the CPU
// model and the ISA features that change arithmetic (avx512_bf16, amx_bf16,
// avx512_fp16); oneDNN's effective ISA and fpmath mode; the flush-to-zero and
// denormals-are-zero state of this thread; the threads; the implementation
// chosen per matmul and convolution shape (oneDNN's, or the GPU backend's op
// paths); the seeds; the dataset's fingerprint; how the batch was split and
// summed (`ranks`: the world, its engine and sum order, virtual ranks, and
// BatchNorm's statistics per rank or synchronised); and a reproducibility
// class. Call after the run's steps, so that every op has chosen its path.
std::string numerics_manifest_json(Backend& backend, const Project& project,
                                   std::uint64_t dataset_hash, std::uint64_t dropout_seed,
                                   const RankLayout& ranks);

}  // namespace mantissa
