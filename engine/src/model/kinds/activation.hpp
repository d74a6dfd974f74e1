#pragma once
// What the elementwise activations share: the input's shape and dtype, one
// FLOP per element, and the runtime layer ActivationLayer.
#include "io/onnx_emitter.hpp"
#include "model/kinds/kind_file.hpp"
#include "model/layers/layers.hpp"

namespace mantissa::detail {

template <Activation A>
std::unique_ptr<Layer> build_activation(const LayerSpec& spec) {
  return std::make_unique<layers::ActivationLayer>(spec, A);
}

}  // namespace mantissa::detail
