#pragma once
// The Inspector's model summary: parameters, forward FLOPs and activation
// memory per policy (per sample and per batch), or the model's error.
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

  void setSummary(const std::optional<mantissa::ModelSummary>& summary, const QString& error,
                  std::int64_t batchSize);

  QString paramsText() const;

 private:
  QLabel* params_;
  QLabel* flops_;
  QLabel* error_;
  QWidget* table_;
  QGridLayout* grid_;
  QLabel* activation_[3][2];  // per policy: per sample, per batch
};

}  // namespace mantissa::ui
