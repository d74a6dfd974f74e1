#pragma once
// The project file boundary, split by section: layer nodes (layer_json.cpp),
// envelope, dataset and training settings (project_parse.cpp), writing
// (project_write.cpp).
#include <cstddef>
#include <filesystem>

#include "mantissa/model.hpp"
#include "model/json_reader.hpp"

namespace mantissa::detail {

using OrderedJson = nlohmann::ordered_json;

// One entry of "model.nodes"; `index` is its position, for the JSON pointer.
LayerSpec parse_layer(const Json& node, std::size_t index, const std::filesystem::path& file);
OrderedJson layer_to_json(const LayerSpec& layer);

DatasetSpec parse_dataset(const Json& j, const std::filesystem::path& file);
TrainingSpec parse_training(const Json& j, const std::filesystem::path& file);

// Shortest decimal that reads back as the same float, as a JSON number, so
// 1e-5f is written "1e-05" rather than "9.999999747378752e-06".
OrderedJson float_to_json(float v);

}  // namespace mantissa::detail
