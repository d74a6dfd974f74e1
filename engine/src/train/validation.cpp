#include "train/validation.hpp"

#include <algorithm>

namespace mantissa {

std::vector<float> loss_targets(const Graph& graph, const Batch& b, int num_classes) {
  if (graph.loss_kind() != LayerKind::MSE || num_classes == 0) return b.y;
  const std::int64_t k = graph.output_shape().numel();
  std::vector<float> onehot(std::size_t(b.size * k), 0.0f);
  for (std::int64_t i = 0; i < b.size; ++i)
    onehot[std::size_t(i * k + std::int64_t(b.y[std::size_t(i)]))] = 1.0f;
  return onehot;
}

ValidationResult validate(
    Graph& graph, Backend& backend, const Dataset& v, std::int64_t batch_size,
    const std::function<void(std::span<const std::int64_t>, const Batch&, const Tensor&)>& on_batch) {
  ValidationResult r;
  if (v.size() == 0) return r;
  const std::int64_t bs = std::max<std::int64_t>(1, batch_size);
  const bool classify = graph.loss_kind() == LayerKind::SoftmaxCrossEntropy;
  float one = 1.0f;
  Tensor scale = Tensor::from_host(backend, Shape{1}, DType::F32, &one);
  Tensor loss = Tensor::empty(backend, Shape{1}, DType::F32);
  Tensor correct = Tensor::zeros(backend, Shape{1}, DType::F32);
  ExecContext ctx{backend, false, 0};
  graph.prepare_step();
  double loss_sum = 0;
  Batch b;
  std::vector<std::int64_t> rows;
  for (std::int64_t start = 0; start < v.size(); start += bs) {
    rows.clear();
    for (std::int64_t i = start; i < std::min(v.size(), start + bs); ++i) rows.push_back(i);
    gather_batch(v, rows, b);
    std::vector<std::int64_t> dims{b.size};
    for (auto d : graph.input_shape().dims()) dims.push_back(d);
    Tensor x = Tensor::empty(backend, Shape(dims), DType::F32);
    backend.upload(x.data(), b.x.data(), x.bytes());
    const std::vector<float> targets = loss_targets(graph, b, v.num_classes);
    const Shape target_shape = classify ? Shape{b.size * graph.positions()}
                                        : Shape{b.size, graph.output_shape().numel()};
    Tensor y = Tensor::empty(backend, target_shape, DType::F32);
    backend.upload(y.data(), targets.data(), y.bytes());
    Tensor pred = graph.forward(ctx, x);
    Tensor pred32 = Tensor::empty(backend, pred.shape(), DType::F32);
    backend.cast(pred, pred32);
    Tensor dpred = Tensor::empty(backend, pred.shape(), DType::F32);
    if (classify) {
      // One row per labelled position ([T, V] logits: every token).
      const Shape per_position{b.size * graph.positions(), graph.outputs_per_position()};
      Tensor logits = pred32.reshaped(per_position);
      Tensor dlogits = dpred.reshaped(per_position);
      backend.softmax_cross_entropy(logits, y, loss, dlogits, scale);
      backend.count_correct(logits, y, correct);
    } else {
      backend.mse_loss(pred32, y.reshaped(pred32.shape()), loss, dpred, scale);
    }
    float l = 0;
    backend.download(&l, loss.data(), sizeof l);
    loss_sum += double(l) * double(b.size);
    if (on_batch) on_batch(rows, b, pred32);
    graph.clear_saved();
  }
  float c = 0;
  backend.download(&c, correct.data(), sizeof c);
  r.loss = loss_sum / double(v.size());
  r.correct = std::int64_t(c);
  return r;
}

}  // namespace mantissa
