#include "RunRecordFields.hpp"

#include <QJsonDocument>
#include <QJsonObject>

#include "mantissa/optim.hpp"
#include "mantissa/version.hpp"

namespace mantissa::ui {

std::string lossScaleJson(const TrainingSpec& t) {
  const LossScaleConfig& c = t.loss_scale;
  const LossScaleMode mode = effective_mode(t.policy, c);
  const std::string_view name = loss_scale_mode_name(mode);
  QJsonObject o;
  o["mode"] = QString::fromUtf8(name.data(), qsizetype(name.size()));
  if (mode != LossScaleMode::None) {
    o["init_scale"] = initial_scale(t.policy, c);
    if (mode == LossScaleMode::Dynamic) {
      o["growth_factor"] = c.growth_factor;
      o["backoff_factor"] = c.backoff_factor;
      o["growth_interval"] = qint64(c.growth_interval);
      if (c.min_scale) o["min_scale"] = *c.min_scale;
      if (c.max_scale) o["max_scale"] = *c.max_scale;
    } else {
      o["skip_nonfinite"] = c.skip_nonfinite;
    }
  }
  return QJsonDocument(o).toJson(QJsonDocument::Compact).toStdString();
}

NewRun newRunFor(const Project& project) {
  Project snapshot = project;
  snapshot.file.clear();  // dataset paths are kept as written
  NewRun run;
  run.name = project.name + " " + std::string(policy_name(project.training.policy));
  run.project_name = project.name;
  run.project_json = project_to_json(snapshot);
  run.policy = std::string(policy_name(project.training.policy));
  run.loss_scale_json = lossScaleJson(project.training);
  run.library_versions = library_versions();
  run.seed = project.training.seed;
  return run;
}

}  // namespace mantissa::ui
