#pragma once
// Helpers shared by the project parser, writer and shape inference. Not part of
// the public API.
#include <cstddef>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mantissa/error.hpp"
#include "mantissa/model.hpp"

namespace mantissa::detail {

// Throws InputError "<file>: <pointer>: layer '<id>': <what>" (the layer part
// only when layer_id is not empty). Every project problem goes through here so
// that all messages have the same shape.
[[noreturn]] void throw_project_error(const std::filesystem::path& file, std::string_view pointer,
                                      std::string_view layer_id, std::string_view what);

std::string file_label(const std::filesystem::path& file);  // what messages call the file
std::string node_pointer(std::size_t index);                // "/model/nodes/<index>"
std::string pointer_append(std::string_view pointer, std::string_view key);  // RFC 6901 escaping

// "did you mean 'Conv2d'?" when one valid name is close to `given`, otherwise
// "valid: a, b, c".
std::string suggest(std::string_view given, std::span<const std::string_view> valid);

// Every kind's project-file name, in LayerKind order (kinds/registry.cpp).
std::span<const std::string_view> layer_kind_names();

// What throw_project_error throws: the message as above, and its parts, so
// the studio can say the words on the layer without the file and path.
class ProjectError : public InputError {
 public:
  ProjectError(const std::string& message, std::string at, std::string layer, std::string what)
      : InputError(message),
        pointer(std::move(at)),
        layer_id(std::move(layer)),
        what_words(std::move(what)) {}
  std::string pointer, layer_id, what_words;
};

// Structural checks, before any shape is looked at: unique ids, inputs that
// exist, arity, one Input, one loss that is the only sink, no cycle. Every
// problem, grouped by check and in file order within each; an unused output
// is its own kind (the studio warns, training refuses).
struct GraphProblem {
  enum class Kind { Error, Unused };
  std::string pointer;   // JSON path in the project file
  std::string layer_id;  // empty: the model as a whole
  std::string what;
  Kind kind = Kind::Error;
  std::size_t node = kNoNode;  // index in model.layers, for a layer's problem
  static constexpr std::size_t kNoNode = std::size_t(-1);
};
std::vector<GraphProblem> graph_problems(const ModelSpec& model);
// Throws the first of graph_problems() as a project error.
void validate_graph(const ModelSpec& model, const std::filesystem::path& file);

}  // namespace mantissa::detail
