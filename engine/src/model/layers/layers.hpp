#pragma once
// The runtime layers (forward, backward, state). One .cpp per layer or small
// family; each kind's descriptor (model/kinds/) says which class it builds.
#include "mantissa/graph.hpp"

namespace mantissa::layers {

class Input : public Layer {
 public:
  using Layer::Layer;
  Tensor forward(ExecContext&, std::span<const Tensor> inputs) override { return inputs[0]; }
  std::vector<Tensor> backward(ExecContext&, const Tensor&, const std::vector<bool>&) override {
    return {};
  }
};

class Linear : public Layer {
 public:
  using Layer::Layer;
  void create_state(Backend&, Policy, const std::vector<Shape>&, std::uint64_t) override;
  std::vector<Param*> params() override;
  Tensor forward(ExecContext&, std::span<const Tensor>) override;
  std::vector<Tensor> backward(ExecContext&, const Tensor&, const std::vector<bool>&) override;
  void clear_saved() override;
  // The ReLU that alone consumes this layer's output is applied here, in the
  // matmul (Graph decides; the ReLU layer then passes its input through).
  void fuse_relu() { relu_ = true; }

 private:
  std::int64_t in_ = 0;
  bool relu_ = false;
  Param weight_, bias_;  // (out, in), (out)
  Tensor x_;             // (N, in)
  Shape input_shape_;
};

class Conv2d : public Layer {
 public:
  using Layer::Layer;
  void create_state(Backend&, Policy, const std::vector<Shape>&, std::uint64_t) override;
  std::vector<Param*> params() override;
  Tensor forward(ExecContext&, std::span<const Tensor>) override;
  std::vector<Tensor> backward(ExecContext&, const Tensor&, const std::vector<bool>&) override;
  void clear_saved() override;

 private:
  Conv2dParams params_;
  std::int64_t out_h_ = 0, out_w_ = 0;
  Param weight_, bias_;  // (C_out, C_in, kh, kw), (C_out)
  Tensor x_;             // (N, C_in, H, W)
};

// MaxPool2d, AvgPool2d and GlobalAvgPool (an average over the whole H×W).
class Pool2d : public Layer {
 public:
  Pool2d(const LayerSpec& spec, PoolKind kind, bool global)
      : Layer(spec), kind_(kind), global_(global) {}
  void create_state(Backend&, Policy, const std::vector<Shape>&, std::uint64_t) override;
  Tensor forward(ExecContext&, std::span<const Tensor>) override;
  std::vector<Tensor> backward(ExecContext&, const Tensor&, const std::vector<bool>&) override;
  void clear_saved() override;

 private:
  PoolKind kind_;
  bool global_;
  Pool2dParams params_;
  std::int64_t out_h_ = 0, out_w_ = 0;
  Tensor x_, y_, workspace_;  // x (N, C, H, W), y (N, C, H', W')
};

class Flatten : public Layer {
 public:
  using Layer::Layer;
  Tensor forward(ExecContext&, std::span<const Tensor>) override;
  std::vector<Tensor> backward(ExecContext&, const Tensor&, const std::vector<bool>&) override;

 private:
  Shape input_shape_;
};

class ActivationLayer : public Layer {
 public:
  ActivationLayer(const LayerSpec& spec, Activation act) : Layer(spec), act_(act) {}
  Tensor forward(ExecContext&, std::span<const Tensor>) override;
  std::vector<Tensor> backward(ExecContext&, const Tensor&, const std::vector<bool>&) override;
  void clear_saved() override;
  // A ReLU whose producer (a Linear) already applied it: forward passes the
  // input through. Backward is unchanged: relu(v) > 0 exactly when v > 0, so
  // the activated tensor serves as x for the derivative.
  void applied_by_producer();

 private:
  Activation act_;
  bool by_producer_ = false;
  Tensor x_, y_;
};

class Dropout : public Layer {
 public:
  using Layer::Layer;
  Tensor forward(ExecContext&, std::span<const Tensor>) override;
  std::vector<Tensor> backward(ExecContext&, const Tensor&, const std::vector<bool>&) override;
  void clear_saved() override;

 private:
  Tensor mask_;  // empty in inference mode: identity
};

class BatchNorm : public Layer {
 public:
  using Layer::Layer;
  void create_state(Backend&, Policy, const std::vector<Shape>&, std::uint64_t) override;
  std::vector<Param*> params() override { return {&gamma_, &beta_}; }
  std::vector<Buffer*> buffers() override { return {&running_mean_, &running_var_}; }
  Tensor forward(ExecContext&, std::span<const Tensor>) override;
  std::vector<Tensor> backward(ExecContext&, const Tensor&, const std::vector<bool>&) override;
  void clear_saved() override;

 private:
  Param gamma_, beta_;                   // (C) fp32 compute copies
  Buffer running_mean_, running_var_;    // (C) fp32
  Tensor x_, save_mean_, save_invstd_;  // x (N, C, ...), stats (C)
};

class LayerNorm : public Layer {
 public:
  using Layer::Layer;
  void create_state(Backend&, Policy, const std::vector<Shape>&, std::uint64_t) override;
  std::vector<Param*> params() override { return {&gamma_, &beta_}; }
  Tensor forward(ExecContext&, std::span<const Tensor>) override;
  std::vector<Tensor> backward(ExecContext&, const Tensor&, const std::vector<bool>&) override;
  void clear_saved() override;

 private:
  std::int64_t width_ = 0;               // size of the normalised (last) axis
  Param gamma_, beta_;                   // (D)
  Tensor x_, save_mean_, save_invstd_;  // x (rows, D), stats (rows)
  Shape input_shape_;
};

class Add : public Layer {
 public:
  using Layer::Layer;
  Tensor forward(ExecContext&, std::span<const Tensor>) override;
  std::vector<Tensor> backward(ExecContext&, const Tensor&, const std::vector<bool>&) override;

 private:
  std::size_t arity_ = 0;
};

class Concat : public Layer {
 public:
  using Layer::Layer;
  Tensor forward(ExecContext&, std::span<const Tensor>) override;
  std::vector<Tensor> backward(ExecContext&, const Tensor&, const std::vector<bool>&) override;

 private:
  std::vector<Shape> input_shapes_;
};

class SoftmaxCrossEntropy : public LossLayer {
 public:
  using LossLayer::LossLayer;
  void loss_and_grad(ExecContext&, const Tensor& pred, const Tensor& targets, const Tensor& scale,
                     Tensor& loss, Tensor& dpred) override;
};

class MeanSquaredError : public LossLayer {
 public:
  using LossLayer::LossLayer;
  void loss_and_grad(ExecContext&, const Tensor& pred, const Tensor& targets, const Tensor& scale,
                     Tensor& loss, Tensor& dpred) override;
};

}  // namespace mantissa::layers
