#include "MetricFields.hpp"

#include <variant>

#include "Format.hpp"

namespace mantissa::ui {

namespace {

constexpr double kMiB = 1024.0 * 1024.0;

}  // namespace

std::vector<const StepField*> plottableStepFields() {
  std::vector<const StepField*> out;
  for (const StepField& f : kStepFields)
    if (f.name != stepField("step").name) out.push_back(&f);
  return out;
}

double metricValue(const StepField& field, const StepMetrics& m) {
  return visit_field(field, m, [](const auto& v) { return static_cast<double>(v); });
}

DisplayUnit displayUnit(const StepField& field) {
  if (field.unit == "B") return {QStringLiteral("MiB"), kMiB};
  return {fromView(field.unit), 1};
}

// The name in words: "loss_scale" → "loss scale"; the unit a name ends in is
// left to the unit ("step_time_s" → "step time", "samples_per_s" → "samples/s").
QString metricLabel(const StepField& field) {
  QString name = fromView(field.name);
  if (name.endsWith(QLatin1String("_per_s")))
    name.replace(name.size() - 6, 6, QStringLiteral("/s"));
  else if (field.unit == "s" && name.endsWith(QLatin1String("_s")))
    name.chop(2);
  return name.replace(QLatin1Char('_'), QLatin1Char(' '));
}

QString metricAxisLabel(const StepField& field) {
  const DisplayUnit u = displayUnit(field);
  return u.unit.isEmpty() ? metricLabel(field) : u.unit;
}

QString metricToolTip(const StepField& field) {
  const QString name = field.unit.empty() ? fromView(field.name)
                                          : QStringLiteral("%1 (%2)").arg(fromView(field.name),
                                                                          fromView(field.unit));
  return QStringLiteral("%1 — %2").arg(name, fromView(field.description));
}

QString formatMetric(const StepField& field, double value) {
  const DisplayUnit u = displayUnit(field);
  const double shown = value / u.divisor;
  const bool whole = !std::holds_alternative<double StepMetrics::*>(field.member);
  const QString number = u.divisor != 1 ? QString::number(shown, 'f', 1)
                         : whole        ? QString::number(qint64(shown))
                                        : QString::number(shown, 'g', 5);
  return u.unit.isEmpty() ? number : number + QLatin1Char(' ') + u.unit;
}

}  // namespace mantissa::ui
