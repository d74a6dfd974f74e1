// Reading a project file: the envelope (format, version, name), the dataset and
// training sections, and the model nodes; then the graph is validated and
// shapes are inferred so that a project that loads is a project that can run.
#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <span>
#include <sstream>

#include "mantissa/data.hpp"
#include "mantissa/error.hpp"
#include "mantissa/names.hpp"
#include "mantissa/optim.hpp"
#include "model/model_internal.hpp"
#include "model/project_json.hpp"

namespace mantissa {

namespace detail {

namespace {

constexpr std::string_view kFormat = "mantissa-project";
constexpr std::array<std::string_view, 10> kDatasetKinds = {
    "mnist", "fashion-mnist", "idx", "csv", "images", "text", "fortunes", "spirals", "moons", "blobs"};
constexpr std::array<Policy, 5> kPolicies = {Policy::Float32, Policy::MixedFloat16,
                                             Policy::MixedBFloat16, Policy::Float16,
                                             Policy::BFloat16};
constexpr std::array<LossScaleMode, 3> kScaleModes = {LossScaleMode::None, LossScaleMode::Fixed,
                                                      LossScaleMode::Dynamic};
constexpr std::array<std::string_view, 3> kSchedules = {"constant", "step", "cosine"};

// The built-in image sets, with a fixed split.
bool is_builtin(std::string_view kind) { return kind == "mnist" || kind == "fashion-mnist"; }
bool is_text(std::string_view kind) { return kind == "text" || kind == "fortunes"; }
// Kinds whose samples are (or may be) C×H×W pictures, which crop and flip augment.
bool may_be_images(std::string_view kind) { return is_builtin(kind) || kind == "idx" || kind == "images"; }

bool is_synthetic(std::string_view kind) {
  return kind == "spirals" || kind == "moons" || kind == "blobs";
}

// Dataset paths in a project are relative to the project file, so a project
// folder can be moved or shared as a whole.
// A dataset file named by key `key`, relative to the project's folder. A NUL
// would cut the name short wherever the file is opened.
std::filesystem::path resolve_path(ObjectReader& r, std::string_view key, const std::string& p,
                                   const std::filesystem::path& file) {
  if (p.find('\0') != std::string::npos)
    r.fail(key, "a file name cannot hold a NUL character (\\u0000)");
  std::filesystem::path path(p);
  if (path.is_relative() && file.has_parent_path())
    path = (file.parent_path() / path).lexically_normal();
  return path;
}

// Names a choice that is not one of `valid`, the same way for every enum-like key.
[[noreturn]] void fail_choice(ObjectReader& r, std::string_view key, std::string_view what,
                              const std::string& given, std::span<const std::string_view> valid) {
  r.fail(key, "unknown " + std::string(what) + " '" + given + "' (" + suggest(given, valid) + ")");
}

void check_backend(ObjectReader& r, const std::string& b) {
  bool ok = b == "cpu" || b == "cuda";
  if (!ok && b.rfind("cuda:", 0) == 0 && b.size() > 5) {
    ok = true;
    for (std::size_t i = 5; i < b.size(); ++i) ok = ok && b[i] >= '0' && b[i] <= '9';
  }
  if (!ok) r.fail("backend", "unknown backend '" + b + "' (valid: cpu, cuda, cuda:<index>)");
}

LossScaleConfig parse_loss_scale(const Json& j, const std::filesystem::path& file) {
  ObjectReader r(j, "/training/loss_scale", file);
  LossScaleConfig c;
  if (const Json* mode = r.find("mode"); mode && !mode->is_null()) {
    if (!mode->is_string()) r.fail("mode", "expected a string, got " + describe_json_value(*mode));
    auto name = mode->get<std::string>();
    std::array<std::string_view, 3> names{};
    for (std::size_t i = 0; i < kScaleModes.size(); ++i) {
      names[i] = loss_scale_mode_name(kScaleModes[i]);
      if (names[i] == name) c.mode = kScaleModes[i];
    }
    if (!c.mode) fail_choice(r, "mode", "loss scale mode", name, names);
  }
  c.init_scale = r.number("init_scale", c.init_scale, Range::positive());
  c.growth_factor = r.number("growth_factor", c.growth_factor, Range::above(1.0));
  c.backoff_factor = r.number("backoff_factor", c.backoff_factor, Range::unit_open());
  c.growth_interval =
      long(r.integer("growth_interval", c.growth_interval, 1, std::numeric_limits<long>::max()));
  c.min_scale = r.optional_number("min_scale", Range::positive());
  c.max_scale = r.optional_number("max_scale", Range::positive());
  if (c.min_scale && c.max_scale && *c.max_scale < *c.min_scale)
    r.fail("max_scale", "max_scale must not be below min_scale");
  c.skip_nonfinite = r.boolean("skip_nonfinite", c.skip_nonfinite);
  r.finish("in loss_scale");
  return c;
}

OptimizerSpec parse_optimizer(const Json& j, const std::filesystem::path& file) {
  ObjectReader r(j, "/training/optimizer", file);
  OptimizerSpec o;
  std::string type = r.string("type", "sgd");
  const OptimizerInfo* info = find_optimizer(type);
  if (info == nullptr) {
    std::vector<std::string_view> names;
    for (const OptimizerInfo& k : optimizer_kinds()) names.push_back(k.name);
    fail_choice(r, "type", "optimizer", type, names);
  }
  o.kind = info->kind;
  o.lr = r.number("lr", o.lr, Range::positive());
  o.weight_decay = r.number("weight_decay", o.weight_decay, Range::non_negative());
  if (info->uses_momentum) {
    o.momentum = r.number("momentum", o.momentum, Range::unit_half_open());
    o.nesterov = r.boolean("nesterov", o.nesterov);
    if (o.nesterov && o.momentum == 0.0) r.fail("nesterov", "nesterov needs momentum > 0");
  }
  if (info->uses_betas) {
    o.beta1 = r.number("beta1", o.beta1, Range::unit_half_open());
    o.beta2 = r.number("beta2", o.beta2, Range::unit_half_open());
    o.eps = r.number("eps", o.eps, Range::positive());
  }
  r.finish("for optimizer '" + type + "'");
  return o;
}

ScheduleSpec parse_schedule(const Json& j, double lr, const std::filesystem::path& file) {
  ObjectReader r(j, "/training/schedule", file);
  ScheduleSpec s;
  std::string type = r.string("type", "constant");
  if (type == "constant")
    s.kind = ScheduleKind::Constant;
  else if (type == "step")
    s.kind = ScheduleKind::Step;
  else if (type == "cosine")
    s.kind = ScheduleKind::Cosine;
  else
    fail_choice(r, "type", "schedule", type, kSchedules);
  s.warmup_steps = r.integer("warmup_steps", s.warmup_steps, 0);
  if (s.kind == ScheduleKind::Step) {
    s.step_size = r.integer("step_size", s.step_size, 1);
    s.gamma = r.number("gamma", s.gamma, Range::positive());
  } else if (s.kind == ScheduleKind::Cosine) {
    s.min_lr = r.number("min_lr", s.min_lr, Range::non_negative());
    if (s.min_lr > lr) r.fail("min_lr", "min_lr must not exceed the optimizer's lr");
  }
  r.finish("for schedule '" + type + "'");
  return s;
}

}  // namespace

DatasetSpec parse_dataset(const Json& j, const std::filesystem::path& file) {
  ObjectReader r(j, "/dataset", file);
  DatasetSpec d;
  d.kind = r.required_string("kind");
  if (std::find(kDatasetKinds.begin(), kDatasetKinds.end(), d.kind) == kDatasetKinds.end())
    fail_choice(r, "kind", "dataset kind", d.kind, kDatasetKinds);
  if (is_builtin(d.kind) || d.kind == "idx" || d.kind == "csv" || d.kind == "images")
    d.normalize = r.boolean("normalize", d.normalize);
  if (d.kind == "idx") {
    d.images = resolve_path(r, "images", r.required_string("images"), file);
    d.labels = resolve_path(r, "labels", r.required_string("labels"), file);
  }
  if (d.kind == "images") {
    d.channels = r.integer("channels", d.channels, 1, 3);
    if (d.channels == 2) r.fail("channels", "must be 1 (grey) or 3 (RGB), got 2");
    d.height = r.integer("height", d.height, 1, 4096);
    d.width = r.integer("width", d.width, 1, 4096);
  }
  if (may_be_images(d.kind)) {
    if (const Json* a = r.find("augment")) {
      ObjectReader ar(*a, r.pointer_of("augment"), file);
      d.crop_padding = ar.integer("crop_padding", d.crop_padding, 0, 1024);
      d.flip = ar.boolean("flip", d.flip);
      ar.finish("in the augmentation (crop_padding, flip)");
    }
  }
  if (d.kind == "csv" || d.kind == "text" || d.kind == "images") {
    d.path = resolve_path(r, "path", r.required_string("path"), file);
    if (const Json* v = r.find("validation_path")) {
      if (!v->is_string()) r.fail("validation_path", "expected a file or folder name (string)");
      d.validation_path = resolve_path(r, "validation_path", v->get<std::string>(), file);
      if (r.find("validation_fraction"))
        r.fail("validation_fraction",
               "the validation file replaces the fraction: give validation_path or "
               "validation_fraction, not both");
    }
  }
  if (is_text(d.kind)) d.context = r.integer("context", d.context, 1, std::int64_t(1) << 20);
  if (d.kind == "csv") {
    if (const Json* col = r.find("label_column")) {
      if (col->is_string())
        d.label_column = col->get<std::string>();
      else
        d.label_column = std::to_string(json_to_integer(*col, r.pointer_of("label_column"), file,
                                                        {}, 0, std::numeric_limits<int>::max()));
    }
  }
  if (is_synthetic(d.kind)) {
    d.samples = r.integer("samples", d.samples, 2, kMaxSyntheticSamples);
    d.classes = int(r.integer("classes", d.classes, 2, kMaxSyntheticClasses));
    if (d.kind == "moons" && d.classes != 2) r.fail("classes", "moons has exactly 2 classes");
    if (d.samples < d.classes)
      r.fail("samples",
             "samples must be at least the number of classes (" + std::to_string(d.classes) + ")");
    d.noise = r.number("noise", d.noise, Range::non_negative());
    d.seed = r.unsigned_integer("seed", d.seed);
  }
  // MNIST and Fashion-MNIST come with their own train / test split.
  if (!is_builtin(d.kind) && d.validation_path.empty())
    d.validation_fraction =
        r.number("validation_fraction", d.validation_fraction, Range::unit_half_open());
  r.finish("for dataset kind '" + d.kind + "'");
  return d;
}

TrainingSpec parse_training(const Json& j, const std::filesystem::path& file) {
  ObjectReader r(j, "/training", file);
  TrainingSpec t;
  std::string policy = r.string("policy", std::string(policy_name(t.policy)));
  std::array<std::string_view, kPolicies.size()> policy_names{};
  bool found = false;
  for (std::size_t i = 0; i < kPolicies.size(); ++i) {
    policy_names[i] = policy_name(kPolicies[i]);
    if (policy_names[i] == policy) t.policy = kPolicies[i], found = true;
  }
  if (!found) fail_choice(r, "policy", "policy", policy, policy_names);

  static const Json kEmpty = Json::object();
  const Json* ls = r.find("loss_scale");
  t.loss_scale = parse_loss_scale(ls ? *ls : kEmpty, file);
  const Json* opt = r.find("optimizer");
  t.optimizer = parse_optimizer(opt ? *opt : kEmpty, file);
  const Json* sched = r.find("schedule");
  t.schedule = parse_schedule(sched ? *sched : kEmpty, t.optimizer.lr, file);

  t.batch_size = r.integer("batch_size", t.batch_size, 1, std::int64_t(1) << 31);
  t.epochs = int(r.integer("epochs", t.epochs, 1, std::numeric_limits<int>::max()));
  t.steps = r.optional_integer("steps", 1);
  t.seed = r.unsigned_integer("seed", t.seed);
  t.clip_grad_norm = r.optional_number("clip_grad_norm", Range::positive());
  t.checkpoint_every = r.integer("checkpoint_every", t.checkpoint_every, 0);
  t.virtual_ranks =
      int(r.integer("virtual_ranks", t.virtual_ranks, 1, TrainingSpec::kMaxVirtualRanks));
  t.sync_batch_norm = r.boolean("sync_batch_norm", t.sync_batch_norm);
  t.checkpoint_seconds = r.number("checkpoint_seconds", t.checkpoint_seconds, Range::non_negative());
  t.checkpoint_each_epoch = r.boolean("checkpoint_each_epoch", t.checkpoint_each_epoch);
  t.backend = r.string("backend", t.backend);
  check_backend(r, t.backend);
  t.allow_tf32 = r.boolean("allow_tf32", t.allow_tf32);
  t.capture_graphs = r.boolean("cuda_graphs", t.capture_graphs);
  if (const Json* n = r.find("numerics"); n && !n->is_null()) {
    if (!n->is_object()) r.fail("numerics", "expected an object, got " + describe_json_value(*n));
    ObjectReader nr(*n, "/training/numerics", file);
    t.numerics.enabled = nr.boolean("enabled", t.numerics.enabled);
    t.numerics.sample_every = nr.integer("sample_every", t.numerics.sample_every, 1, 1000000);
    t.numerics.around_event = nr.integer("around_event", t.numerics.around_event, 0, 100);
    nr.finish("in training.numerics");
  }
  r.finish("in training");
  return t;
}

}  // namespace detail

Project parse_project(const std::string& json_text, const std::filesystem::path& file) {
  using namespace detail;
  Json root = parse_json_text(json_text, file);
  ObjectReader r(root, "", file);
  Project p;
  p.file = file;

  const Json* format = r.find("format");
  if (!format)
    r.fail("format", "missing key 'format': not a Mantissa project (expected \"format\": \"" +
                         std::string(kFormat) + "\")");
  if (!format->is_string() || format->get<std::string>() != kFormat)
    r.fail("format", "format is " + describe_json_value(*format) + ", expected \"" +
                         std::string(kFormat) + "\": not a Mantissa project");
  const Json& version = r.require("version");
  p.version = int(json_to_integer(version, "/version", file, {}, 1, 1 << 30));
  if (p.version != kProjectFormatVersion)
    r.fail("version", "version " + std::to_string(p.version) +
                          " is not supported (this build reads version " +
                          std::to_string(kProjectFormatVersion) + ")");

  p.name = r.string("name", file.stem().string());
  if (const std::string why = name_problem(p.name); !why.empty()) r.fail("name", "the name " + why);
  p.dataset = parse_dataset(r.require("dataset"), file);

  ObjectReader model(r.require("model"), "/model", file);
  const Json& nodes = model.require("nodes");
  if (!nodes.is_array())
    model.fail("nodes", "expected an array of layer nodes, got " + describe_json_value(nodes));
  for (std::size_t i = 0; i < nodes.size(); ++i)
    p.model.layers.push_back(parse_layer(nodes[i], i, file));
  model.finish("in model");

  static const Json kEmpty = Json::object();
  const Json* training = r.find("training");
  p.training = parse_training(training ? *training : kEmpty, file);
  r.finish("at the top level");

  // Graph and shape errors surface at load time, not at the first step.
  analyze_model(p.model, file);
  return p;
}

Project load_project(const std::filesystem::path& file) {
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec))
    throw InputError(detail::file_label(file) + ": cannot open project file (it is a directory)");
  errno = 0;
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    int err = errno;
    std::string why = err ? std::strerror(err) : "cannot be read";
    throw InputError(detail::file_label(file) + ": cannot open project file (" + why + ")");
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw InputError(detail::file_label(file) + ": cannot read project file");
  return parse_project(text.str(), file);
}

std::vector<std::string> ModelSpec::batch_norm_ids() const {
  std::vector<std::string> ids;
  for (const LayerSpec& l : layers)
    if (l.kind == LayerKind::BatchNorm) ids.push_back(l.id);
  return ids;
}

void DatasetSpec::make_paths_absolute(const std::filesystem::path& dir) {
  for (std::filesystem::path* p : {&images, &labels, &path, &validation_path})
    if (!p->empty()) *p = std::filesystem::absolute(dir / *p).lexically_normal();
}

}  // namespace mantissa
