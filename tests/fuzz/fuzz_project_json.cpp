// Project files (.mantissa.json): parse_project() on any bytes, then the
// project it accepted written back with project_to_json() must parse again
// to the same text ("round-trips through parse_project", model.hpp).
#include <cstdint>
#include <string>

#include "fuzz_util.hpp"
#include "mantissa/model.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mantissa;
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::filesystem::path file = "fuzz.mantissa.json";
  Project project;
  if (!fuzz::accepts([&] { project = parse_project(text, file); }, file.string())) return 0;

  const std::string written = project_to_json(project);
  Project again;
  if (!fuzz::accepts([&] { again = parse_project(written, file); }))
    fuzz::die("project_to_json wrote a project that parse_project rejects:\n" + written);
  if (project_to_json(again) != written)
    fuzz::die("project_to_json is not stable across a parse:\n" + written);
  return 0;
}
