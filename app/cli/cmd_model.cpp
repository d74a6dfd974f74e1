// mantissa model show PROJECT [--json] [--batch N]: the model as the engine
// sees it, layer by layer: shapes, dtypes under each mixed policy, parameters,
// forward FLOPs and activation memory per policy.
// mantissa model kinds [--json]: every layer kind and its parameters, from the
// kinds' descriptors (what the studio's palette and inspector show).
#include <algorithm>
#include <cmath>
#include <array>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/progress.hpp"
#include "mantissa/error.hpp"
#include "mantissa/layer_descriptor.hpp"
#include "mantissa/model.hpp"
#include "mantissa/units.hpp"
#include "mantissa/weights_io.hpp"

namespace mantissa::cli {

namespace {

using Json = nlohmann::ordered_json;  // keeps keys in the order written

// Indices into kSummaryPolicies.
constexpr std::size_t kF32 = 0, kF16 = 1, kBF16 = 2;

// 1,337,344 -> "1.34 M"; counts below 1000 stay exact.
std::string si(std::int64_t n) {
  static constexpr std::array<const char*, 5> kUnits = {"K", "M", "G", "T", "P"};
  if (n < 1000) return std::to_string(n);
  double v = double(n);
  std::size_t u = 0;
  for (v /= 1000.0; v >= 999.5 && u + 1 < kUnits.size(); v /= 1000.0) ++u;
  return fixed(v, v < 10 ? 2 : v < 100 ? 1 : 0) + " " + kUnits[u];
}

double saving_percent(std::int64_t narrow, std::int64_t wide) {
  return wide == 0 ? 0.0 : 100.0 * (1.0 - double(narrow) / double(wide));
}

// "(34.4% less)", or "(5.0% more)" where the casts a mixed policy adds
// outweigh what its 16-bit activations save (an fp32 input feeding a Linear).
std::string saving_text(std::int64_t narrow, std::int64_t wide) {
  const double p = saving_percent(narrow, wide);
  return "(" + fixed(std::abs(p), 1) + (p < 0 ? "% more)" : "% less)");
}

// Shapes print with '×', which is one column wide but three bytes long.
std::size_t display_width(const std::string& s) {
  std::size_t w = 0;
  for (unsigned char c : s) w += (c & 0xC0) != 0x80;
  return w;
}

class Table {
 public:
  explicit Table(std::vector<std::string> header, std::vector<bool> right_aligned)
      : right_(std::move(right_aligned)) {
    rows_.push_back(std::move(header));
  }
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void rule() { rows_.emplace_back(); }  // an empty row prints as a dashed line

  void print(std::ostream& out) const {
    std::vector<std::size_t> width(rows_.front().size(), 0);
    for (const auto& row : rows_)
      for (std::size_t c = 0; c < row.size(); ++c)
        width[c] = std::max(width[c], display_width(row[c]));
    for (const auto& row : rows_) {
      std::string line;
      for (std::size_t c = 0; c < width.size(); ++c) {
        std::string cell = row.empty() ? std::string(width[c], '-') : row[c];
        std::string pad(width[c] - display_width(cell), ' ');
        line += c ? "  " : "";
        line += right_[c] ? pad + cell : cell + pad;
      }
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out << line << "\n";
    }
  }

 private:
  std::vector<std::vector<std::string>> rows_;
  std::vector<bool> right_;
};

// Specs by id, for what the summary does not repeat (inputs, pin).
std::map<std::string, const LayerSpec*> specs_by_id(const ModelSpec& model) {
  std::map<std::string, const LayerSpec*> specs;
  for (const auto& l : model.layers) specs.emplace(l.id, &l);
  return specs;
}

Json per_policy(const std::array<std::int64_t, 3>& v, std::int64_t factor) {
  Json j = Json::object();
  for (std::size_t p = 0; p < kSummaryPolicies.size(); ++p)
    j[std::string(policy_name(kSummaryPolicies[p]))] = v[p] * factor;
  return j;
}

Json summary_json(const Project& project, const ModelSummary& s, std::int64_t batch) {
  Json layers = Json::array();
  const auto specs = specs_by_id(project.model);
  for (const LayerInfo& l : s.layers) {
    const LayerSpec& spec = *specs.at(l.id);
    Json dtypes = Json::object();
    for (std::size_t p = 0; p < kSummaryPolicies.size(); ++p)
      dtypes[std::string(policy_name(kSummaryPolicies[p]))] = dtype_name(l.output_dtype[p]);
    layers.push_back({{"id", l.id},
                      {"type", layer_kind_name(l.kind)},
                      {"inputs", spec.inputs},
                      {"output_shape", l.output_shape.dims()},
                      {"output_dtype", dtypes},
                      {"params", l.params},
                      {"forward_flops", l.forward_flops},
                      {"activation_bytes", per_policy(l.activation_bytes, batch)},
                      {"kept_bytes", per_policy(l.kept_bytes, batch)},
                      {"pin_fp32", spec.pin_fp32}});
  }
  const auto& act = s.total_activation_bytes;
  Json totals = {
      {"params", s.total_params},
      {"forward_flops_per_sample", s.total_forward_flops},
      {"forward_flops_per_batch", s.total_forward_flops * batch},
      {"activation_bytes", per_policy(act, batch)},
      {"training_activation_bytes", per_policy(s.training_activation_bytes, batch)},
      {"activation_saving_percent",
       {{std::string(policy_name(Policy::MixedFloat16)), saving_percent(act[kF16], act[kF32])},
        {std::string(policy_name(Policy::MixedBFloat16)), saving_percent(act[kBF16], act[kF32])}}}};
  return {{"name", project.name},
          {"file", project.file.string()},
          {"policy", policy_name(project.training.policy)},
          {"batch_size", batch},
          {"output_id", s.output_id},
          {"loss_id", s.loss_id},
          {"layers", std::move(layers)},
          {"totals", std::move(totals)}};
}

void print_summary(const Project& project, const ModelSummary& s, std::int64_t batch) {
  std::cout << project.name << "  (" << project.file.string() << ")\n"
            << "policy " << policy_name(project.training.policy)
            << ", activation memory per batch of " << batch << "\n\n";
  Table t({"layer", "type", "output", "dtype f16/bf16", "params", "FLOPs/sample", "act fp32",
           "act fp16", "act bf16", "note"},
          {false, false, false, false, true, true, true, true, true, false});
  t.rule();
  const auto specs = specs_by_id(project.model);
  for (const LayerInfo& l : s.layers) {
    t.add({l.id, std::string(layer_kind_name(l.kind)), l.output_shape.str(),
           std::string(dtype_name(l.output_dtype[kF16])) + "/" +
               std::string(dtype_name(l.output_dtype[kBF16])),
           with_thousands(l.params), si(l.forward_flops),
           bytes_text(l.activation_bytes[kF32] * batch),
           bytes_text(l.activation_bytes[kF16] * batch),
           bytes_text(l.activation_bytes[kBF16] * batch),
           specs.at(l.id)->pin_fp32 ? "pinned fp32" : ""});
  }
  t.rule();
  const auto& act = s.total_activation_bytes;
  const auto& peak = s.training_activation_bytes;
  t.add({"total", "", "", "", with_thousands(s.total_params), si(s.total_forward_flops),
         bytes_text(act[kF32] * batch), bytes_text(act[kF16] * batch),
         bytes_text(act[kBF16] * batch), ""});
  t.print(std::cout);

  std::cout << "\nparameters     " << with_thousands(s.total_params) << "\n"
            << "forward FLOPs  " << si(s.total_forward_flops) << " per sample, "
            << si(s.total_forward_flops * batch) << " per batch of " << batch << "\n"
            << "activations    float32 " << bytes_text(act[kF32] * batch) << ", mixed_float16 "
            << bytes_text(act[kF16] * batch) << " " << saving_text(act[kF16], act[kF32])
            << ", mixed_bfloat16 " << bytes_text(act[kBF16] * batch) << " "
            << saving_text(act[kBF16], act[kF32]) << ", every layer's output\n"
            << "training step  float32 " << bytes_text(peak[kF32] * batch) << ", mixed_float16 "
            << bytes_text(peak[kF16] * batch) << " " << saving_text(peak[kF16], peak[kF32])
            << ", mixed_bfloat16 " << bytes_text(peak[kBF16] * batch) << " "
            << saving_text(peak[kBF16], peak[kF32])
            << ", activation memory at a step's peak (estimated)\n"
            << "output         '" << s.output_id << "' feeds the loss '" << s.loss_id << "'\n";
}

std::string_view type_text(const ParamSchema& p) {
  switch (p.type()) {
    case ParamType::Int:
      return "integer";
    case ParamType::Bool:
      return "true/false";
    case ParamType::Float:
      return "number";
    case ParamType::IntPair:
      return "integer or [h, w]";
    case ParamType::Shape:
      return "[F] or [C, H, W]";
    case ParamType::Choice:
      return "name";
  }
  return "";
}

std::string_view inputs_text(Arity a) {
  return a == Arity::None ? "none" : a == Arity::One ? "one" : "two or more";
}

Json kinds_json() {
  Json kinds = Json::array();
  for (const LayerDescriptor* d : all_descriptors()) {
    Json params = Json::array();
    for (const ParamSchema& p : d->params) {
      Json j = {{"key", p.key},
                {"type", type_text(p)},
                {"default", param_default_text(p)},
                {"allowed", param_allowed_text(p)},
                {"help", p.help}};
      if (p.has_default())
        j["default_value"] =
            p.type() == ParamType::Bool ? Json(p.default_value != 0) : Json(p.default_value);
      params.push_back(std::move(j));
    }
    kinds.push_back({{"type", d->name},
                     {"category", d->category},
                     {"inputs", inputs_text(d->inputs)},
                     {"loss", d->is_loss},
                     {"help", d->help},
                     {"params", std::move(params)}});
  }
  return {{"kinds", std::move(kinds)}};
}

void print_kinds() {
  for (const LayerDescriptor* d : all_descriptors()) {
    if (d != all_descriptors().front()) std::cout << "\n";
    std::cout << d->name << "  (" << d->category << "; inputs: " << inputs_text(d->inputs) << ")  "
              << d->help << "\n";
    if (d->params.empty()) continue;
    Table t({"  param", "type", "default", "allowed", "help"}, {false, false, false, false, false});
    for (const ParamSchema& p : d->params)
      t.add({"  " + std::string(p.key), std::string(type_text(p)), param_default_text(p),
             param_allowed_text(p), std::string(p.help)});
    t.print(std::cout);
  }
}

}  // namespace

void add_model_commands(CLI::App& app) {
  auto* model = app.add_subcommand("model", "Inspect model projects");
  model->require_subcommand(1);

  struct ShowOptions {
    std::string project;
    bool json = false;
    std::int64_t batch = 0;
  };
  auto opts = std::make_shared<ShowOptions>();
  auto* show = model->add_subcommand(
      "show", "Layers, output shapes, dtypes, parameters, FLOPs and activation memory per policy");
  show->add_option("project", opts->project,
                   "Project file (.json), or weights exported with their project (.safetensors)")
      ->required();
  show->add_flag("--json", opts->json, "Print JSON (layers and totals) instead of a table");
  auto* batch_opt =
      show->add_option("--batch", opts->batch,
                       "Batch size for the per-batch figures (default: the project's batch_size)");
  show->callback([opts, batch_opt] {
    bool batch_given = batch_opt->count() > 0;
    if (batch_given && opts->batch < 1)
      throw InputError("--batch must be at least 1, got " + std::to_string(opts->batch));
    Project project = open_project(opts->project);
    ModelSummary summary = analyze_model(project.model, project.file);
    std::int64_t batch = batch_given ? opts->batch : project.training.batch_size;
    if (opts->json)
      std::cout << summary_json(project, summary, batch).dump(2) << "\n";
    else
      print_summary(project, summary, batch);
  });

  auto kinds_as_json = std::make_shared<bool>(false);
  auto* kinds = model->add_subcommand(
      "kinds", "Every layer kind: its category, inputs and parameters (defaults, ranges, help)");
  kinds->add_flag("--json", *kinds_as_json, "Print JSON instead of a table");
  kinds->callback([kinds_as_json] {
    if (*kinds_as_json)
      std::cout << kinds_json().dump(2) << "\n";
    else
      print_kinds();
  });
}

}  // namespace mantissa::cli
