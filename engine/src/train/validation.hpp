#pragma once
// One pass of a dataset through a model as the trainer validates it: batch
// by batch, forward, the fp32 loss of the batch (mean) weighted by its
// size, and for classifiers the number predicted right. The trainer's
// per-epoch validation and the evaluate job both run this, so the figures
// they report for the same weights are the same.
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "mantissa/backend.hpp"
#include "mantissa/data.hpp"
#include "mantissa/graph.hpp"

namespace mantissa {

struct ValidationResult {
  double loss = 0;           // mean per sample
  std::int64_t correct = 0;  // classifiers only
};

// MSE on class labels is computed against one-hot vectors of the graph's
// output width; other targets are used as they are.
std::vector<float> loss_targets(const Graph& graph, const Batch& batch, int num_classes);

// `on_batch` (optional) sees each batch's rows and its fp32 predictions
// (batch, outputs) on the device.
ValidationResult validate(
    Graph& graph, Backend& backend, const Dataset& data, std::int64_t batch_size,
    const std::function<void(std::span<const std::int64_t> rows, const Batch& batch,
                             const Tensor& predictions)>& on_batch = {});

}  // namespace mantissa
