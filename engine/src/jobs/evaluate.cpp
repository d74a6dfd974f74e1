#include "mantissa/evaluate.hpp"

#include <algorithm>
#include <filesystem>

#include "jobs/stored_model.hpp"
#include "train/validation.hpp"
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

  auto data =
      std::make_shared<Dataset>(load_dataset(project.dataset, project.dataset_dir()).validation);
  const Dataset& v = *data;
  check_input_shape(v, graph.input_shape().dims(), "input");
  r.data = data;
  r.samples = v.size();
  r.classification = graph.loss_kind() == LayerKind::SoftmaxCrossEntropy;
  const std::int64_t outputs = graph.outputs_per_position();
  const std::int64_t positions = graph.positions();
  r.predictions = r.samples * positions;
  if (r.classification) {
    r.num_classes = std::max<int>(v.num_classes, int(outputs));
    for (int c = 0; c < r.num_classes; ++c)
      r.class_names.push_back(c < int(v.class_names.size()) ? v.class_names[std::size_t(c)]
                                                            : std::to_string(c));
    r.confusion.assign(std::size_t(r.num_classes) * std::size_t(r.num_classes), 0);
  }

  // The trainer's validation pass (the same loss and count for the same
  // weights), reading each batch's predictions for the confusion matrix.
  const ValidationResult pass = validate(
      graph, *backend, v, project.training.batch_size,
      [&](std::span<const std::int64_t> rows, const Batch& b, const Tensor& pred32) {
        if (!r.classification) return;
        const std::vector<float> out = pred32.to_host();
        for (std::int64_t i = 0; i < b.size * positions; ++i) {
          const float* row = out.data() + i * outputs;
          const int predicted = int(std::max_element(row, row + outputs) - row);
          const int truth = int(b.y[std::size_t(i)]);
          if (truth < 0 || truth >= r.num_classes) continue;
          ++r.confusion[std::size_t(truth * r.num_classes + predicted)];
          if (truth != predicted && r.misclassified.size() < options.max_misclassified)
            r.misclassified.push_back({rows[std::size_t(i / positions)], truth, predicted});
        }
      });
  r.loss = pass.loss;
  r.correct = pass.correct;
  return r;
}

}  // namespace mantissa
