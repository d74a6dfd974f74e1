#pragma once
// Helpers shared by the project parser, writer and shape inference. Not part of
// the public API.
#include <cstddef>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>

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

// Structural checks of analyze_model, before any shape is looked at: unique
// ids, inputs that exist, arity, one Input, one loss that is the only sink, no
// cycle. Throws the first problem found, in file order.
void validate_graph(const ModelSpec& model, const std::filesystem::path& file);

}  // namespace mantissa::detail
