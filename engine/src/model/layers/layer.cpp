// Maps a layer kind to its implementation.
#include "mantissa/error.hpp"
#include "model/layers/layers.hpp"

namespace mantissa {

std::unique_ptr<Layer> create_layer(const LayerSpec& spec) {
  using namespace layers;
  switch (spec.kind) {
    case LayerKind::Input: return std::make_unique<Input>(spec);
    case LayerKind::Linear: return std::make_unique<Linear>(spec);
    case LayerKind::Conv2d: return std::make_unique<Conv2d>(spec);
    case LayerKind::MaxPool2d: return std::make_unique<Pool2d>(spec, PoolKind::Max, false);
    case LayerKind::AvgPool2d: return std::make_unique<Pool2d>(spec, PoolKind::Avg, false);
    case LayerKind::GlobalAvgPool: return std::make_unique<Pool2d>(spec, PoolKind::Avg, true);
    case LayerKind::Flatten: return std::make_unique<Flatten>(spec);
    case LayerKind::ReLU: return std::make_unique<ActivationLayer>(spec, Activation::Relu);
    case LayerKind::LeakyReLU: return std::make_unique<ActivationLayer>(spec, Activation::LeakyRelu);
    case LayerKind::GELU: return std::make_unique<ActivationLayer>(spec, Activation::Gelu);
    case LayerKind::Tanh: return std::make_unique<ActivationLayer>(spec, Activation::Tanh);
    case LayerKind::Sigmoid: return std::make_unique<ActivationLayer>(spec, Activation::Sigmoid);
    case LayerKind::Dropout: return std::make_unique<Dropout>(spec);
    case LayerKind::BatchNorm: return std::make_unique<BatchNorm>(spec);
    case LayerKind::LayerNorm: return std::make_unique<LayerNorm>(spec);
    case LayerKind::Add: return std::make_unique<Add>(spec);
    case LayerKind::Concat: return std::make_unique<Concat>(spec);
    case LayerKind::SoftmaxCrossEntropy: return std::make_unique<SoftmaxCrossEntropy>(spec);
    case LayerKind::MSE: return std::make_unique<MeanSquaredError>(spec);
  }
  MANTISSA_ASSERT(false, "unhandled layer kind");
  return nullptr;
}

}  // namespace mantissa
