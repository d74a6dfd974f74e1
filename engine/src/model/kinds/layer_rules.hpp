#pragma once
// The functions of a layer kind, beside its plain-data descriptor
// (mantissa/layer_descriptor.hpp). Included by the kind files and by the few
// places that run them: the project reader and writer, shape inference, the
// dtype rule, the graph and ONNX export.
#include <memory>
#include <string>
#include <vector>

#include "mantissa/graph.hpp"
#include "mantissa/layer_descriptor.hpp"
#include "model/kinds/shape_rules.hpp"

namespace mantissa::io {
class OnnxEmitter;
}

namespace mantissa::detail {

class ObjectReader;

enum class Keeps { Nothing, Inputs, Output, InputsAndOutput, View };

struct LayerRules {
  // Checks that span parameters, and defaults derived from other parameters,
  // run after the schema's keys are read (pools: stride defaults to the kernel).
  void (*after_read)(ObjectReader& params, LayerSpec& layer) = nullptr;
  // Output shape, parameter count and forward FLOPs per sample (LayerInfo's
  // output_shape, params, forward_flops), from the input shapes; throws the
  // project error of a shape that does not fit.
  void (*infer)(const ShapeContext& c, const std::vector<Shape>& in, LayerInfo& info) = nullptr;
  // The dtype the layer computes in and emits (PRECISION.md); pinned layers
  // never get here.
  DType (*output_dtype)(const LayerSpec& layer, Policy policy,
                        const std::vector<DType>& inputs) = nullptr;
  std::unique_ptr<Layer> (*build)(const LayerSpec& spec) = nullptr;
  // Its ONNX nodes, the last of which writes `out`. None: the kind emits no
  // node (the Input is the graph's input; losses are dropped).
  void (*onnx)(io::OnnxEmitter& e, const LayerSpec& spec, const std::string& out) = nullptr;
  std::string (*summary)(const LayerSpec& spec) = nullptr;  // layer_summary(); none: ""
  // Its input is token ids (fp32 holding integers): the graph hands them over
  // as they are, never cast to the layer's dtype, and only an Input with
  // "tokens" may feed it. Its `vocab` bounds the ids (the dataset checks and
  // sampling read it there).
  bool token_input = false;
  // What the layer keeps for its backward pass, which training holds from
  // its forward until its backward (LayerInfo::kept_bytes): its inputs as it
  // received them, its output, both, or nothing; a view (Flatten, Reshape)
  // keeps nothing and its output is its input's memory.
  Keeps keeps = Keeps::Nothing;
  // Bytes per sample it keeps besides those tensors (attention's Q, K, V and
  // probabilities, a norm's statistics, a dropout mask), computing in `d`.
  std::int64_t (*kept_extra)(const LayerSpec& layer, const LayerInfo& info, DType d) = nullptr;
  // Its backward pass hands the output's gradient to its inputs as it is
  // (Add, a view, an added bias), making no tensor of its own.
  bool passes_gradient = false;
};

const LayerRules& rules(LayerKind kind);

// A ReLU whose only input is a Linear that nothing else reads (and that is
// not the model's output), in the same dtype, runs inside the Linear's
// matmul (Graph): its output is the Linear's, one tensor instead of two.
inline bool relu_runs_in_linear(LayerKind relu, std::size_t relu_inputs, LayerKind producer,
                                int producer_readers, bool producer_is_output, bool same_dtype) {
  return relu == LayerKind::ReLU && relu_inputs == 1 && producer == LayerKind::Linear &&
         producer_readers == 1 && !producer_is_output && same_dtype;
}

// Each kind's file defines its descriptor through this template, explicitly
// instantiated there (kind_file.hpp); the registry calls it for every LayerKind.
template <LayerKind K>
const LayerDescriptor& descriptor_of();

}  // namespace mantissa::detail
