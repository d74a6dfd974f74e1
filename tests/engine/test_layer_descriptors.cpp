// The layer kinds' descriptors: one per LayerKind, names that round-trip,
// schemas whose defaults pass their own ranges, every kind through a project
// file and back, and one home per kind in the sources.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>

#include "engine/model_compare.hpp"
#include "mantissa/error.hpp"
#include "mantissa/layer_descriptor.hpp"
#include "model/kinds/layer_rules.hpp"

namespace mantissa {
namespace {

const std::filesystem::path kSource(MANTISSA_SOURCE_DIR);

TEST(LayerDescriptors, EveryKindHasExactlyOneDescriptor) {
  ASSERT_EQ(all_descriptors().size(), kLayerKindCount);
  for (std::size_t i = 0; i < kLayerKindCount; ++i) {
    const LayerDescriptor& d = descriptor(LayerKind(i));
    SCOPED_TRACE(std::string(d.name));
    EXPECT_EQ(d.kind, LayerKind(i));
    EXPECT_EQ(all_descriptors()[i], &d);
    EXPECT_EQ(d.starter.kind, d.kind);
    EXPECT_TRUE(d.starter.id.empty());
    ASSERT_NE(d.rules, nullptr);
    EXPECT_NE(d.rules->infer, nullptr);
    EXPECT_NE(d.rules->output_dtype, nullptr);
    EXPECT_NE(d.rules->build, nullptr);
    // The Input and the losses have no ONNX node of their own; the kinds
    // opset 17 cannot express yet are refused by the exporter
    // (SequenceModel.OnnxExportNamesTheLayerItCannotExpress).
    if (d.inputs == Arity::None || d.is_loss) {
      EXPECT_EQ(d.rules->onnx, nullptr);
    }
  }
}

TEST(LayerDescriptors, NamesAreUniqueAndRoundTrip) {
  std::set<std::string_view> names;
  for (const LayerDescriptor* d : all_descriptors()) {
    EXPECT_TRUE(names.insert(d->name).second) << d->name;
    EXPECT_EQ(find_descriptor(d->name), d);
    EXPECT_EQ(parse_layer_kind(d->name), d->kind);
    EXPECT_EQ(layer_kind_name(d->kind), d->name);
    EXPECT_EQ(is_loss(d->kind), d->is_loss);
    EXPECT_FALSE(d->help.empty()) << d->name;
  }
  EXPECT_EQ(find_descriptor("conv2d"), nullptr);  // names are case-sensitive
  EXPECT_EQ(find_descriptor("Dense"), nullptr);
}

TEST(LayerDescriptors, CategoriesAreThePalettesGroupsAndEachIsUsed) {
  const auto categories = layer_categories();
  std::set<std::string_view> used;
  for (const LayerDescriptor* d : all_descriptors()) {
    EXPECT_NE(std::find(categories.begin(), categories.end(), d->category), categories.end())
        << d->name << " is in '" << d->category << "'";
    used.insert(d->category);
  }
  EXPECT_EQ(used.size(), categories.size());
  EXPECT_EQ(std::count_if(all_descriptors().begin(), all_descriptors().end(),
                          [](const LayerDescriptor* d) { return d->inputs == Arity::None; }),
            1);
}

TEST(LayerDescriptors, EverySchemaDefaultPassesItsOwnRange) {
  for (const LayerDescriptor* d : all_descriptors()) {
    std::set<std::string_view> keys;
    for (const ParamSchema& p : d->params) {
      SCOPED_TRACE(std::string(d->name) + "." + std::string(p.key));
      EXPECT_TRUE(keys.insert(p.key).second) << "key listed twice";
      EXPECT_FALSE(p.help.empty());
      EXPECT_FALSE(p.required && !p.default_note.empty()) << "a required key has no default";
      switch (p.type()) {
        case ParamType::Bool:
          if (p.has_default()) {
            EXPECT_TRUE(p.default_value == 0 || p.default_value == 1);
          }
          break;
        case ParamType::Int:
        case ParamType::IntPair:
          if (p.has_default()) {
            EXPECT_EQ(p.default_value, std::floor(p.default_value));
            EXPECT_TRUE(p.range.contains(p.default_value)) << p.range.describe();
          }
          EXPECT_TRUE(std::isfinite(p.range.lo) && std::isfinite(p.range.hi));
          break;
        case ParamType::Float:
          if (p.has_default()) {
            EXPECT_TRUE(p.range.contains(p.default_value)) << p.range.describe();
            // Stored as float: the rounded default must pass too.
            EXPECT_TRUE(p.range.contains(double(float(p.default_value))));
          }
          break;
        case ParamType::Shape:
          EXPECT_TRUE(p.required);
          EXPECT_GE(p.range.lo, 1);
          break;
        case ParamType::Choice:
          EXPECT_FALSE(p.choices.empty());
          EXPECT_FALSE(p.default_note.empty()) << "what leaving it out means";
          break;
      }
      // What an absent key means, in words or as a number.
      EXPECT_FALSE(param_default_text(p).empty());
    }
  }
}

TEST(LayerDescriptors, ParamValuesAreSetOnlyWithinWhatTheReaderTakes) {
  LayerSpec conv = descriptor(LayerKind::Conv2d).starter;
  const ParamSchema& kernel = *descriptor(LayerKind::Conv2d).param("kernel");
  EXPECT_TRUE(set_param_value(conv, kernel, std::int64_t(5)));
  EXPECT_EQ(conv.kernel_h, 5);
  EXPECT_EQ(conv.kernel_w, 5);
  EXPECT_TRUE(set_param_value(conv, kernel, std::vector<std::int64_t>{3, 1}));
  EXPECT_EQ(std::get<std::vector<std::int64_t>>(param_value(conv, kernel)),
            (std::vector<std::int64_t>{3, 1}));
  EXPECT_FALSE(set_param_value(conv, kernel, std::int64_t(0)));
  EXPECT_FALSE(set_param_value(conv, kernel, 2.5));
  EXPECT_EQ(conv.kernel_h, 3);

  const ParamSchema& init = *descriptor(LayerKind::Conv2d).param("init");
  EXPECT_EQ(std::get<std::string>(param_value(conv, init)), "");
  EXPECT_TRUE(set_param_value(conv, init, std::string("xavier_normal")));
  EXPECT_EQ(conv.init, Init::XavierNormal);
  EXPECT_FALSE(set_param_value(conv, init, std::string("glorot")));
  EXPECT_TRUE(set_param_value(conv, init, std::string()));
  EXPECT_EQ(conv.init, Init::Default);

  LayerSpec drop = descriptor(LayerKind::Dropout).starter;
  const ParamSchema& p = *descriptor(LayerKind::Dropout).param("p");
  EXPECT_FALSE(set_param_value(drop, p, 1.0));
  EXPECT_TRUE(set_param_value(drop, p, 0.25));
  EXPECT_EQ(drop.p, 0.25f);

  // A rule across keys the reader checks: pool padding at most half the kernel.
  LayerSpec pool = descriptor(LayerKind::MaxPool2d).starter;
  const ParamSchema& padding = *descriptor(LayerKind::MaxPool2d).param("padding");
  EXPECT_TRUE(set_param_value(pool, padding, std::int64_t(1)));
  EXPECT_FALSE(set_param_value(pool, padding, std::int64_t(2)));

  LayerSpec input = descriptor(LayerKind::Input).starter;
  const ParamSchema& shape = *descriptor(LayerKind::Input).param("shape");
  EXPECT_FALSE(set_param_value(input, shape, std::vector<std::int64_t>{1, 28}));
  EXPECT_FALSE(set_param_value(input, shape, std::vector<std::int64_t>{0}));
  EXPECT_TRUE(set_param_value(input, shape, std::vector<std::int64_t>{1, 28, 28}));
}

// ---- every kind in a small model, through a file and back -------------------

LayerSpec node(LayerKind kind, std::string id, std::vector<std::string> inputs) {
  LayerSpec l = descriptor(kind).starter;
  l.id = std::move(id);
  l.inputs = std::move(inputs);
  return l;
}

// in -> [the layer] -> flatten -> fc -> loss, on an image or a vector input;
// for sequence kinds, token ids in -> (an Embedding ->) [the layer] -> ...
ModelSpec model_around(const LayerSpec& layer, std::vector<std::int64_t> input_shape,
                       bool tokens = false, bool embed = false) {
  ModelSpec m;
  m.layers.push_back(node(LayerKind::Input, "in", {}));
  m.layers.back().shape = std::move(input_shape);
  m.layers.back().tokens = tokens;
  std::string from = "in";
  if (embed) {
    m.layers.push_back(node(LayerKind::Embedding, "embed", {"in"}));
    m.layers.back().vocab = 16;
    m.layers.back().width = 16;
    from = "embed";
  }
  LayerSpec l = layer;
  l.id = "under_test";
  const Arity arity = descriptor(l.kind).inputs;
  l.inputs =
      arity == Arity::Many ? std::vector<std::string>{from, from} : std::vector<std::string>{from};
  m.layers.push_back(l);
  m.layers.push_back(node(LayerKind::Flatten, "flat", {"under_test"}));
  m.layers.push_back(node(LayerKind::Linear, "fc", {"flat"}));
  m.layers.back().out_features = 4;
  m.layers.push_back(node(LayerKind::SoftmaxCrossEntropy, "loss", {"fc"}));
  return m;
}

// A valid model holding `layer`, or nullopt when no input shape fits it.
std::optional<ModelSpec> valid_model(const LayerSpec& layer) {
  std::vector<ModelSpec> tries{model_around(layer, {3, 8, 8}), model_around(layer, {16}),
                               model_around(layer, {1, 28, 28}),
                               model_around(layer, {8}, true),
                               model_around(layer, {8}, true, true)};
  for (ModelSpec& m : tries) {
    try {
      analyze_model(m, "kinds.json");
      return m;
    } catch (const InputError&) {
    }
  }
  return std::nullopt;
}

// Every parameter with a default moved off it, where the reader takes that.
LayerSpec off_defaults(LayerSpec l) {
  for (const ParamSchema& p : descriptor(l.kind).params) {
    switch (p.type()) {
      case ParamType::Bool:
        set_param_value(l, p, !std::get<bool>(param_value(l, p)));
        break;
      case ParamType::Float:
        set_param_value(l, p, p.default_value / 2 + 0.125);
        break;
      case ParamType::Choice:
        set_param_value(l, p, std::string(p.choices.back()));
        break;
      default:
        break;
    }
  }
  l.pin_fp32 = true;
  return l;
}

using testing::expect_same_layers;

TEST(LayerDescriptors, EveryKindParsesWritesAndParsesBackIdentically) {
  std::set<LayerKind> covered = {LayerKind::Input, LayerKind::Flatten, LayerKind::Linear,
                                 LayerKind::SoftmaxCrossEntropy};
  std::vector<ModelSpec> models;
  for (const LayerDescriptor* d : all_descriptors()) {
    if (d->inputs == Arity::None || d->is_loss) continue;
    SCOPED_TRACE(std::string(d->name));
    for (const LayerSpec& layer : {d->starter, off_defaults(d->starter)}) {
      auto m = valid_model(layer);
      ASSERT_TRUE(m) << "no small valid model holds a " << d->name;
      models.push_back(std::move(*m));
    }
    covered.insert(d->kind);
  }
  // The other loss: in -> fc -> MSE.
  ModelSpec mse;
  mse.layers = {node(LayerKind::Input, "in", {}), node(LayerKind::Linear, "fc", {"in"}),
                node(LayerKind::MSE, "loss", {"fc"})};
  mse.layers[0].shape = {5};
  models.push_back(mse);
  covered.insert(LayerKind::MSE);
  EXPECT_EQ(covered.size(), kLayerKindCount);

  for (const ModelSpec& m : models) {
    Project p;
    p.name = "kinds";
    p.model = m;
    const std::string text = project_to_json(p);
    SCOPED_TRACE(text);
    const Project q = parse_project(text, "kinds.json");
    expect_same_layers(m, q.model);
    EXPECT_EQ(project_to_json(q), text);
    EXPECT_NO_THROW(analyze_model(q.model, "kinds.json"));
  }
}

// ---- one home per kind -------------------------------------------------------

std::string read_text(const std::filesystem::path& file) {
  std::ifstream in(file);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::filesystem::path> sources_under(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    const auto ext = e.path().extension();
    if (e.is_regular_file() && (ext == ".cpp" || ext == ".hpp" || ext == ".cu" || ext == ".cuh"))
      files.push_back(e.path());
  }
  return files;
}

// A kind is its one file under engine/src/model/kinds/ (and its LayerKind
// value): nothing else enumerates the kinds, so adding one touches nothing else.
TEST(LayerDescriptors, NoSwitchOverLayerKindsOutsideTheirFiles) {
  const auto kinds_dir = kSource / "engine/src/model/kinds";
  for (const char* dir : {"engine", "app", "ui"}) {
    for (const auto& file : sources_under(kSource / dir)) {
      if (file.parent_path() == kinds_dir) continue;
      EXPECT_EQ(read_text(file).find("case LayerKind::"), std::string::npos)
          << file << " enumerates layer kinds; ask their descriptors instead";
    }
  }
}

TEST(LayerDescriptors, EachKindIsDefinedInExactlyOneFile) {
  const auto files = sources_under(kSource / "engine/src/model/kinds");
  for (const LayerDescriptor* d : all_descriptors()) {
    const std::string definition =
        "template const LayerDescriptor& descriptor_of<LayerKind::" + std::string(d->name) + ">()";
    int homes = 0;
    for (const auto& file : files) homes += read_text(file).find(definition) != std::string::npos;
    EXPECT_EQ(homes, 1) << d->name;
  }
}

}  // namespace
}  // namespace mantissa
