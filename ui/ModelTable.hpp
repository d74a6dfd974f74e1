#pragma once
// Read-only table of the project's layers as analyze_model() sees them: type,
// inputs, inferred output shape, parameters, FLOPs, activation bytes and
// output dtype under the current policy. Stands in the Model tab until the
// graph editor takes its place.
#include <QWidget>
#include <optional>

#include "mantissa/model.hpp"

class QLabel;
class QTableWidget;

namespace mantissa::ui {

class ModelTable : public QWidget {
  Q_OBJECT

 public:
  explicit ModelTable(QWidget* parent = nullptr);

  void setModel(const mantissa::ModelSpec& spec,
                const std::optional<mantissa::ModelSummary>& summary, const QString& error,
                mantissa::Policy policy);
  QTableWidget* table() const { return table_; }

 private:
  QLabel* message_;
  QTableWidget* table_;
};

}  // namespace mantissa::ui
