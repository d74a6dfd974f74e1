#pragma once
// Evaluating a stored run: its model rebuilt from the run's project snapshot
// and one of its checkpoints, its dataset's validation split run through it.
// One definition for both faces (`mantissa evaluate`, the studio's Data ▸
// Evaluate Selected Run).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mantissa/data.hpp"

namespace mantissa {

class RunStore;

struct EvaluateOptions {
  std::optional<std::int64_t> checkpoint_step;  // default: the newest checkpoint
  std::string backend = "cpu";
  std::size_t max_misclassified = 32;  // examples kept
};

struct MisclassifiedSample {
  std::int64_t row = 0;  // in the validation split
  int truth = 0;
  int predicted = 0;
};

struct Evaluation {
  std::int64_t run_id = 0;
  std::int64_t step = 0;  // of the checkpoint evaluated
  std::string backend;
  bool classification = false;  // softmax cross-entropy: accuracy and confusion exist
  std::int64_t samples = 0;     // in the validation split
  std::int64_t predictions = 0;  // labelled positions: samples, or samples × T for sequences
  double loss = 0;              // mean per sample, as the trainer's validation loss
  // Classification only.
  int num_classes = 0;
  std::vector<std::string> class_names;
  std::vector<std::int64_t> confusion;  // num_classes², row = true class, column = predicted
  std::int64_t correct = 0;
  std::vector<MisclassifiedSample> misclassified;  // the first max_misclassified, in row order
  // The split that was evaluated (rows index into it), e.g. for thumbnails.
  std::shared_ptr<const Dataset> data;

  double accuracy() const {
    return predictions > 0 ? double(correct) / double(predictions) : 0.0;
  }
  // Per true class: the fraction of its samples predicted right (recall);
  // -1 for a class with no samples.
  std::vector<double> per_class_accuracy() const;
};

// Throws InputError naming the run when it does not exist, has no checkpoint
// (or none at checkpoint_step: the steps it has are listed), when its
// dataset does not load or does not fit the model, or when the backend is
// not available.
Evaluation evaluate_run(RunStore& store, std::int64_t run_id, const EvaluateOptions& options = {});

}  // namespace mantissa
