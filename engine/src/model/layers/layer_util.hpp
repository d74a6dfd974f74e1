#pragma once
// Helpers shared by the layer implementations.
#include <string>
#include <vector>

#include "mantissa/graph.hpp"

namespace mantissa::layers {

// Adds batch axis n in front of a per-sample shape.
Shape batched(std::int64_t n, const Shape& per_sample);

// Creates a parameter: master in master_dtype(policy) filled from `values`,
// compute copy in compute_dtype (aliasing master when the dtypes match), fp32
// gradient.
Param make_param(Backend& backend, Policy policy, std::string name, Shape shape,
                 const std::vector<float>& values, DType compute_dtype, bool decay);

// Initial weight values for a layer with the given fan-in / fan-out.
std::vector<float> init_weights(Init init, std::int64_t count, std::int64_t fan_in,
                                std::int64_t fan_out, std::uint64_t seed);
// Bias values: PyTorch's default U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for Init::Default, else 0.
std::vector<float> init_bias(Init init, std::int64_t count, std::int64_t fan_in, std::uint64_t seed);

Tensor empty_like(const Tensor& t);
Tensor empty_like(const Tensor& t, DType dtype);

}  // namespace mantissa::layers
