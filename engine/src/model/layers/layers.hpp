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
  // Its op counts what it reads and writes (not when its producer applied it).
  bool takes_stats() const override { return !by_producer_; }

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

// GroupNorm: statistics per sample over groups of channels, in fp32.
class GroupNorm : public Layer {
 public:
  using Layer::Layer;
  void create_state(Backend&, Policy, const std::vector<Shape>&, std::uint64_t) override;
  std::vector<Param*> params() override { return {&gamma_, &beta_}; }
  Tensor forward(ExecContext&, std::span<const Tensor>) override;
  std::vector<Tensor> backward(ExecContext&, const Tensor&, const std::vector<bool>&) override;
  void clear_saved() override;

 private:
  Param gamma_, beta_;                  // (C)
  Tensor x_, save_mean_, save_invstd_;  // x (N, C, ...), stats (N, groups)
};

// Token ids (fp32 holding integers) -> rows of a learned table.
class Embedding : public Layer {
 public:
  using Layer::Layer;
  void create_state(Backend&, Policy, const std::vector<Shape>&, std::uint64_t) override;
  std::vector<Param*> params() override { return {&table_}; }
  Tensor forward(ExecContext&, std::span<const Tensor>) override;
  std::vector<Tensor> backward(ExecContext&, const Tensor&, const std::vector<bool>&) override;
  void clear_saved() override;

 private:
  Param table_;  // (vocab, width)
  Tensor ids_;   // (N, T) fp32
};

// x (N, T, C) + the first T rows of a learned (max_length, C) table.
class PositionalEmbedding : public Layer {
 public:
  using Layer::Layer;
  void create_state(Backend&, Policy, const std::vector<Shape>&, std::uint64_t) override;
  std::vector<Param*> params() override { return {&table_}; }
  Tensor forward(ExecContext&, std::span<const Tensor>) override;
  std::vector<Tensor> backward(ExecContext&, const Tensor&, const std::vector<bool>&) override;

 private:
  Param table_;  // (max_length, C), fp32 compute copy (added like a bias)
  Shape shape_;  // the input's
};

// Multi-head self-attention over (N, T, C): the Q, K, V projection (one
// (3C, C) matmul), softmax(Q Kᵀ / √d + mask) V per head with fp32 scores and
// softmax (PRECISION.md), and the output projection.
class MultiHeadAttention : public Layer {
 public:
  using Layer::Layer;
  void create_state(Backend&, Policy, const std::vector<Shape>&, std::uint64_t) override;
  std::vector<Param*> params() override { return {&w_in_, &b_in_, &w_out_, &b_out_}; }
  Tensor forward(ExecContext&, std::span<const Tensor>) override;
  std::vector<Tensor> backward(ExecContext&, const Tensor&, const std::vector<bool>&) override;
  void clear_saved() override;

 private:
  std::int64_t T_ = 0, C_ = 0, H_ = 1, D_ = 0, N_ = 0;
  Param w_in_, b_in_, w_out_, b_out_;  // (3C, C), (3C), (C, C), (C)
  Tensor x_;     // (N*T, C)
  Tensor q_, k_, v_;  // (N*H, T, D) each
  Tensor probs_;      // (N*H, T, T) in the compute dtype
  Tensor drop_mask_;  // attention dropout's mask, when it runs
  Tensor ctx_;        // (N*T, C): the heads merged, the output projection's input
};

// Softmax over the last axis, in fp32.
class Softmax : public Layer {
 public:
  using Layer::Layer;
  Tensor forward(ExecContext&, std::span<const Tensor>) override;
  std::vector<Tensor> backward(ExecContext&, const Tensor&, const std::vector<bool>&) override;
  void clear_saved() override;

 private:
  Tensor y_;
};

// A new per-sample shape over the same values.
class Reshape : public Layer {
 public:
  using Layer::Layer;
  Tensor forward(ExecContext&, std::span<const Tensor>) override;
  std::vector<Tensor> backward(ExecContext&, const Tensor&, const std::vector<bool>&) override;

 private:
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
