// A safetensors file exported by Mantissa is also a portable project: its
// metadata holds the project as trained, so the one file carries the model,
// the settings and the weights to another machine.
#include <string>

#include "mantissa/error.hpp"
#include "mantissa/weights_io.hpp"

namespace mantissa {

bool is_weights_file(const std::filesystem::path& file) {
  return file.extension() == ".safetensors";
}

Project project_from_weights(const std::filesystem::path& file) {
  const WeightsFile weights = read_safetensors(file);
  const auto it = weights.metadata.find("project");
  if (it == weights.metadata.end())
    throw InputError(file.string() +
                     ": holds weights but no project (metadata \"project\" is missing); "
                     "open the project file and use --init-weights instead");
  // Relative dataset paths resolve next to the weights file. Its messages
  // name the file and say that lines and columns are the embedded project's.
  try {
    return parse_project(it->second, file);
  } catch (const InputError& e) {
    std::string what = e.what();
    const std::string head = file.string() + ": ";
    if (what.rfind(head, 0) == 0)
      what.insert(file.string().size(), " (its metadata \"project\")");
    throw InputError(what);
  }
}

Project open_project(const std::filesystem::path& file,
                     std::optional<std::filesystem::path>* weights) {
  if (!is_weights_file(file)) return load_project(file);
  Project p = project_from_weights(file);
  if (weights) *weights = file;
  return p;
}

}  // namespace mantissa
