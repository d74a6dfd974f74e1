// mantissa devices [--json]: which backends this build has and can use now.
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "mantissa/backend.hpp"

namespace mantissa::cli {

void add_devices_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("devices", "List the compute devices this build can train on");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "Print a JSON array instead of a table");
  cmd->callback([json] {
    auto devices = list_devices();
    if (*json) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& d : devices) {
        nlohmann::json j{{"name", d.name}, {"description", d.description}, {"available", d.available}};
        if (!d.available) j["reason"] = d.reason;
        out.push_back(j);
      }
      std::cout << out.dump(2) << "\n";
      return;
    }
    for (const auto& d : devices) {
      std::cout << (d.available ? "  " : "x ") << d.name << "  "
                << (d.available ? d.description : "unavailable: " + d.reason) << "\n";
    }
  });
}

}  // namespace mantissa::cli
