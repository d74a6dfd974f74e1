#pragma once
// A layer node's "params" object, read and written by its kind's schema.
#include <filesystem>

#include "mantissa/layer_descriptor.hpp"
#include "model/json_reader.hpp"
#include "model/project_json.hpp"

namespace mantissa::detail {

// Reads every key of the kind's schema into `layer` (whose kind is set), runs
// the kind's after_read, and rejects any other key.
void read_layer_params(ObjectReader& params, LayerSpec& layer, const std::filesystem::path& file);
// The kind's parameters in schema order; Choice keys at their default are left out.
OrderedJson layer_params_to_json(const LayerSpec& layer);

}  // namespace mantissa::detail
