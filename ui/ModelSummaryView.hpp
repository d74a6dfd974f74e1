#pragma once
// The Inspector's model summary: parameters, forward FLOPs and the
// activation memory of a training step per policy (per sample and per
// batch, ModelSummary::training_activation_bytes), or the model's error.
#include <QWidget>
#include <optional>

#include "mantissa/model.hpp"

class QLabel;
class QGridLayout;

namespace mantissa::ui {

class ModelSummaryView : public QWidget {
  Q_OBJECT

 public:
  explicit ModelSummaryView(QWidget* parent = nullptr);

  // The model's totals (over the inferred part while it is unfinished) and
  // what is wrong with it, in words.
  // `modelComplete`: the model itself has no problem (a dataset that does not
  // fit is one of `diagnosis`'s problems, but the totals are whole).
  void setSummary(const mantissa::ModelDiagnosis& diagnosis, std::int64_t batchSize,
                  bool modelComplete);

  QString paramsText() const;
  // Activation memory under kSummaryPolicies[policy], per sample or per batch.
  QString activationText(int policy, bool perBatch) const;
  // Whether the activation figures are of the part built so far.
  bool activationIsPartial() const;

 private:
  QLabel* params_;
  QLabel* flops_;
  QLabel* error_;
  QWidget* table_;
  QGridLayout* grid_;
  QLabel* partialNote_;  // under the activation table while the model is unfinished
  QLabel* activation_[3][2];  // per policy: per sample, per batch
};

}  // namespace mantissa::ui
