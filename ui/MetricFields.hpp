#pragma once
// The per-step metrics table (mantissa/metric_fields.hpp) as the studio's
// plots show it: a row found by name, its value as a number, its label, the
// unit an axis shows it in and its description for tooltips. A plot names the
// rows it draws through stepField(), so a name the table lacks does not
// compile; every other row is offered in the plots' metric chooser.
#include <QString>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "mantissa/metric_fields.hpp"

namespace mantissa::ui {

// The row named `name`, or nullptr.
constexpr const StepField* findStepField(std::string_view name) {
  for (const StepField& f : kStepFields)
    if (f.name == name) return &f;
  return nullptr;
}

// The row named `name`. In a constant expression a missing name is a compile
// error; otherwise it throws.
constexpr const StepField& stepField(std::string_view name) {
  const StepField* f = findStepField(name);
  if (!f) throw std::logic_error("no such metric in kStepFields");
  return *f;
}

// The rows a plot can draw against the step or the wall time: every row but
// the step itself, in the table's order.
std::vector<const StepField*> plottableStepFields();

// The field's value in `m` as a number (true is 1).
double metricValue(const StepField& field, const StepMetrics& m);

// How a plot shows the field: values divided by `divisor`, in `unit` (bytes
// as MiB; other units as the table gives them).
struct DisplayUnit {
  QString unit;
  double divisor = 1;
};
DisplayUnit displayUnit(const StepField& field);

QString metricLabel(const StepField& field);  // "loss scale" for loss_scale
// A value axis's label: its display unit when the field has one, else its label.
QString metricAxisLabel(const StepField& field);
// "memory_in_use (B) — bytes the engine holds": the row's name, unit and description.
QString metricToolTip(const StepField& field);
// A raw value as the read-out shows it, with its display unit: "4.0 MiB".
QString formatMetric(const StepField& field, double value);

}  // namespace mantissa::ui
