#include "model/layers/layer_util.hpp"

#include <cmath>

#include "core/rng.hpp"

namespace mantissa::layers {

Shape batched(std::int64_t n, const Shape& per_sample) {
  std::vector<std::int64_t> dims{n};
  dims.insert(dims.end(), per_sample.dims().begin(), per_sample.dims().end());
  return Shape(std::move(dims));
}

Param make_param(Backend& backend, Policy policy, std::string name, Shape shape,
                 const std::vector<float>& values, DType compute_dtype, bool decay) {
  Param p;
  p.name = std::move(name);
  p.master = Tensor::from_host(backend, shape, master_dtype(policy), values.data());
  p.compute = compute_dtype == p.master.dtype() ? p.master
                                                 : Tensor::empty(backend, shape, compute_dtype);
  p.grad = Tensor::zeros(backend, shape, DType::F32);
  p.decay = decay;
  return p;
}

std::vector<float> init_weights(Init init, std::int64_t count, std::int64_t fan_in,
                                std::int64_t fan_out, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<float> w(static_cast<std::size_t>(count));
  const double fi = double(std::max<std::int64_t>(fan_in, 1));
  const double fo = double(std::max<std::int64_t>(fan_out, 1));
  switch (init) {
    case Init::Default: {  // PyTorch's nn.Linear / nn.Conv2d default
      const double bound = 1.0 / std::sqrt(fi);
      for (auto& v : w) v = float(rng.uniform(-bound, bound));
      break;
    }
    case Init::KaimingUniform: {
      const double bound = std::sqrt(6.0 / fi);
      for (auto& v : w) v = float(rng.uniform(-bound, bound));
      break;
    }
    case Init::KaimingNormal: {
      const double sd = std::sqrt(2.0 / fi);
      for (auto& v : w) v = float(sd * rng.normal());
      break;
    }
    case Init::XavierUniform: {
      const double bound = std::sqrt(6.0 / (fi + fo));
      for (auto& v : w) v = float(rng.uniform(-bound, bound));
      break;
    }
    case Init::XavierNormal: {
      const double sd = std::sqrt(2.0 / (fi + fo));
      for (auto& v : w) v = float(sd * rng.normal());
      break;
    }
  }
  return w;
}

std::vector<float> init_bias(Init init, std::int64_t count, std::int64_t fan_in,
                             std::uint64_t seed) {
  std::vector<float> b(static_cast<std::size_t>(count), 0.0f);
  if (init != Init::Default) return b;
  Rng rng(seed);
  const double bound = 1.0 / std::sqrt(double(std::max<std::int64_t>(fan_in, 1)));
  for (auto& v : b) v = float(rng.uniform(-bound, bound));
  return b;
}

Tensor empty_like(const Tensor& t) { return Tensor::empty(t.backend(), t.shape(), t.dtype()); }
Tensor empty_like(const Tensor& t, DType dtype) {
  return Tensor::empty(t.backend(), t.shape(), dtype);
}

}  // namespace mantissa::layers
