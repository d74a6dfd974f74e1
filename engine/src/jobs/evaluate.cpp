#include "mantissa/evaluate.hpp"

#include <algorithm>
#include <filesystem>

#include "jobs/stored_model.hpp"
#include "mantissa/error.hpp"

namespace mantissa {

std::vector<double> Evaluation::per_class_accuracy() const {
  std::vector<double> out(std::size_t(num_classes), -1.0);
  for (int t = 0; t < num_classes; ++t) {
    std::int64_t row = 0;
    for (int p = 0; p < num_classes; ++p) row += confusion[std::size_t(t * num_classes + p)];
    if (row > 0) out[std::size_t(t)] = double(confusion[std::size_t(t * num_classes + t)]) / double(row);
  }
  return out;
}

Evaluation evaluate_run(RunStore& store, std::int64_t run_id, const EvaluateOptions& options) {
  StoredModel m =
      open_stored_model(store, run_id, options.checkpoint_step, options.backend, "evaluate");
  const Project& project = m.project;
  Backend* backend = m.backend.get();
  Graph& graph = *m.graph;

  Evaluation r;
  r.run_id = m.run.id;
  r.step = m.checkpoint.step;
  r.backend = options.backend;

  const std::filesystem::path base =
      project.file.empty() ? std::filesystem::path{} : project.file.parent_path();
  auto data = std::make_shared<Dataset>(load_dataset(project.dataset, base).validation);
  const Dataset& v = *data;
  check_input_shape(v, graph.input_shape().dims(), "input");
  r.data = data;
  r.samples = v.size();
  r.classification = graph.loss_kind() == LayerKind::SoftmaxCrossEntropy;
  const std::int64_t outputs = graph.output_shape().numel();
  if (r.classification) {
    r.num_classes = std::max<int>(v.num_classes, int(outputs));
    for (int c = 0; c < r.num_classes; ++c)
      r.class_names.push_back(c < int(v.class_names.size()) ? v.class_names[std::size_t(c)]
                                                            : std::to_string(c));
    r.confusion.assign(std::size_t(r.num_classes) * std::size_t(r.num_classes), 0);
  }

  // Batch by batch as the trainer validates: forward, the fp32 loss of the
  // batch (mean) weighted by its size, and the predicted classes.
  const std::int64_t bs = std::max<std::int64_t>(1, project.training.batch_size);
  float one = 1.0f;
  Tensor scale = Tensor::from_host(*backend, Shape{1}, DType::F32, &one);
  Tensor loss = Tensor::empty(*backend, Shape{1}, DType::F32);
  ExecContext ctx{*backend, false, 0};
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
    Tensor x = Tensor::from_host(*backend, Shape(dims), DType::F32, b.x.data());
    Tensor pred = graph.forward(ctx, x);
    Tensor pred32 = Tensor::empty(*backend, pred.shape(), DType::F32);
    backend->cast(pred, pred32);
    Tensor dpred = Tensor::empty(*backend, pred.shape(), DType::F32);
    std::vector<float> target = b.y;
    if (!r.classification && v.num_classes > 0) {  // MSE on class labels: one-hot targets
      target.assign(std::size_t(b.size * outputs), 0.0f);
      for (std::int64_t i = 0; i < b.size; ++i)
        target[std::size_t(i * outputs + std::int64_t(b.y[std::size_t(i)]))] = 1.0f;
    }
    const Shape target_shape = r.classification ? Shape{b.size} : pred32.shape();
    Tensor y = Tensor::from_host(*backend, target_shape, DType::F32, target.data());
    if (r.classification)
      backend->softmax_cross_entropy(pred32, y, loss, dpred, scale);
    else
      backend->mse_loss(pred32, y, loss, dpred, scale);
    float l = 0;
    backend->download(&l, loss.data(), sizeof l);
    loss_sum += double(l) * double(b.size);
    if (r.classification) {
      const std::vector<float> out = pred32.to_host();
      for (std::int64_t i = 0; i < b.size; ++i) {
        const float* row = out.data() + i * outputs;
        const int predicted = int(std::max_element(row, row + outputs) - row);
        const int truth = int(b.y[std::size_t(i)]);
        if (truth < 0 || truth >= r.num_classes) continue;
        ++r.confusion[std::size_t(truth * r.num_classes + predicted)];
        if (truth == predicted) {
          ++r.correct;
        } else if (r.misclassified.size() < options.max_misclassified) {
          r.misclassified.push_back({rows[std::size_t(i)], truth, predicted});
        }
      }
    }
    graph.clear_saved();
  }
  r.loss = v.size() > 0 ? loss_sum / double(v.size()) : 0.0;
  return r;
}

}  // namespace mantissa
