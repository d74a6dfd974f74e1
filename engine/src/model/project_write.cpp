// Writing a project file. Every setting is written explicitly (with its
// default where the user gave none) so that a saved project documents itself
// and reads back to the same structs through parse_project().
#include <cstdint>
#include <optional>

#include "mantissa/optim.hpp"
#include "model/model_internal.hpp"
#include "model/project_json.hpp"

namespace mantissa {

namespace {

using detail::OrderedJson;

// Paths inside the project's folder are written relative to it, the way they
// are read (see resolve_path in project_parse.cpp).
std::string path_for_file(const std::filesystem::path& path, const std::filesystem::path& file) {
  if (path.is_absolute() && file.has_parent_path()) {
    auto base = std::filesystem::absolute(file).parent_path().lexically_normal();
    auto rel = path.lexically_normal().lexically_relative(base);
    if (!rel.empty() && *rel.begin() != "..") return rel.generic_string();
  } else if (path.is_relative() && file.has_parent_path()) {
    // Read from a project whose own path is relative: undo the join exactly,
    // "../" included, because reading joins it again.
    auto rel = path.lexically_normal().lexically_relative(file.parent_path().lexically_normal());
    if (!rel.empty()) return rel.generic_string();
  }
  return path.generic_string();
}

bool all_digits(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

OrderedJson optional_json(const std::optional<double>& v) {
  return v ? OrderedJson(*v) : OrderedJson(nullptr);
}

OrderedJson dataset_json(const DatasetSpec& d, const std::filesystem::path& file) {
  OrderedJson j = OrderedJson::object();
  j["kind"] = d.kind;
  if (d.kind == "idx") {
    j["images"] = path_for_file(d.images, file);
    j["labels"] = path_for_file(d.labels, file);
  }
  if (d.kind == "csv" || d.kind == "text" || d.kind == "images") {
    j["path"] = path_for_file(d.path, file);
    if (!d.validation_path.empty()) j["validation_path"] = path_for_file(d.validation_path, file);
  }
  if (d.kind == "text" || d.kind == "fortunes") j["context"] = d.context;
  if (d.kind == "csv") {
    if (all_digits(d.label_column))
      j["label_column"] = std::stoll(d.label_column);
    else if (!d.label_column.empty())
      j["label_column"] = d.label_column;
  }
  if (d.kind == "images") {
    j["channels"] = d.channels;
    j["height"] = d.height;
    j["width"] = d.width;
  }
  const bool builtin = d.kind == "mnist" || d.kind == "fashion-mnist";
  if (builtin || d.kind == "idx" || d.kind == "csv" || d.kind == "images")
    j["normalize"] = d.normalize;
  if ((builtin || d.kind == "idx" || d.kind == "images") && (d.crop_padding > 0 || d.flip))
    j["augment"] = OrderedJson{{"crop_padding", d.crop_padding}, {"flip", d.flip}};
  if (d.kind == "spirals" || d.kind == "moons" || d.kind == "blobs") {
    j["samples"] = d.samples;
    j["classes"] = d.classes;
    j["noise"] = d.noise;
    j["seed"] = d.seed;
  }
  if (!builtin && d.validation_path.empty()) j["validation_fraction"] = d.validation_fraction;
  return j;
}

OrderedJson training_json(const TrainingSpec& t) {
  OrderedJson j = OrderedJson::object();
  j["policy"] = policy_name(t.policy);

  const LossScaleConfig& c = t.loss_scale;
  OrderedJson ls = OrderedJson::object();
  ls["mode"] = c.mode ? OrderedJson(loss_scale_mode_name(*c.mode)) : OrderedJson(nullptr);
  ls["init_scale"] = c.init_scale;
  ls["growth_factor"] = c.growth_factor;
  ls["backoff_factor"] = c.backoff_factor;
  ls["growth_interval"] = c.growth_interval;
  ls["min_scale"] = optional_json(c.min_scale);
  ls["max_scale"] = optional_json(c.max_scale);
  ls["skip_nonfinite"] = c.skip_nonfinite;
  j["loss_scale"] = std::move(ls);

  const OptimizerSpec& o = t.optimizer;
  OrderedJson opt = OrderedJson::object();
  const OptimizerInfo& info = optimizer_info(o.kind);
  opt["type"] = info.name;
  opt["lr"] = o.lr;
  if (info.uses_momentum) {
    opt["momentum"] = o.momentum;
    opt["nesterov"] = o.nesterov;
  }
  if (info.uses_betas) {
    opt["beta1"] = o.beta1;
    opt["beta2"] = o.beta2;
    opt["eps"] = o.eps;
  }
  opt["weight_decay"] = o.weight_decay;
  j["optimizer"] = std::move(opt);

  const ScheduleSpec& s = t.schedule;
  OrderedJson sched = OrderedJson::object();
  sched["type"] = s.kind == ScheduleKind::Constant ? "constant"
                  : s.kind == ScheduleKind::Step   ? "step"
                                                   : "cosine";
  sched["warmup_steps"] = s.warmup_steps;
  if (s.kind == ScheduleKind::Step) {
    sched["step_size"] = s.step_size;
    sched["gamma"] = s.gamma;
  }
  if (s.kind == ScheduleKind::Cosine) sched["min_lr"] = s.min_lr;
  j["schedule"] = std::move(sched);

  j["batch_size"] = t.batch_size;
  j["epochs"] = t.epochs;
  j["steps"] = t.steps ? OrderedJson(*t.steps) : OrderedJson(nullptr);
  j["seed"] = t.seed;
  j["clip_grad_norm"] = optional_json(t.clip_grad_norm);
  j["checkpoint_every"] = t.checkpoint_every;
  if (t.virtual_ranks != 1) j["virtual_ranks"] = t.virtual_ranks;
  if (t.sync_batch_norm) j["sync_batch_norm"] = true;
  const TrainingSpec defaults;
  if (t.checkpoint_seconds != defaults.checkpoint_seconds) j["checkpoint_seconds"] = t.checkpoint_seconds;
  if (t.checkpoint_each_epoch != defaults.checkpoint_each_epoch)
    j["checkpoint_each_epoch"] = t.checkpoint_each_epoch;
  j["backend"] = t.backend;
  if (t.allow_tf32) j["allow_tf32"] = true;
  if (!t.capture_graphs) j["cuda_graphs"] = false;
  const NumericsOptions numerics_defaults;
  if (t.numerics.enabled != numerics_defaults.enabled ||
      t.numerics.sample_every != numerics_defaults.sample_every ||
      t.numerics.around_event != numerics_defaults.around_event) {
    OrderedJson n;
    n["enabled"] = t.numerics.enabled;
    n["sample_every"] = t.numerics.sample_every;
    n["around_event"] = t.numerics.around_event;
    j["numerics"] = std::move(n);
  }
  return j;
}

}  // namespace

std::string project_to_json(const Project& p) {
  OrderedJson j = OrderedJson::object();
  j["format"] = "mantissa-project";
  j["version"] = kProjectFormatVersion;
  j["name"] = p.name;
  j["dataset"] = dataset_json(p.dataset, p.file);
  OrderedJson nodes = OrderedJson::array();
  for (const auto& l : p.model.layers) nodes.push_back(detail::layer_to_json(l));
  j["model"] = OrderedJson{{"nodes", std::move(nodes)}};
  j["training"] = training_json(p.training);
  return j.dump(2) + "\n";
}

}  // namespace mantissa
