// mantissa explain RUN [--step N] [--json]: where a skipped step first went
// non-finite, in plain words (the provenance the trainer recorded).
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cli/commands.hpp"
#include "mantissa/error.hpp"
#include "mantissa/store.hpp"

namespace mantissa::cli {

void add_explain_command(CLI::App& app) {
  struct Flags {
    std::string db;
    std::int64_t run = 0;
    std::optional<std::int64_t> step;
    bool json = false;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = app.add_subcommand(
      "explain", "Where a skipped step first went non-finite, and whether the loss scale caused it");
  cmd->add_option("run", f->run, "Run id")->required()->check(run_id_number());
  cmd->add_option("--step", f->step, "The step (default: the run's first traced event)");
  add_database_option(cmd, f->db);
  cmd->add_flag("--json", f->json, "Print the stored record as JSON");
  cmd->callback([f] {
    RunStore store(existing_database(f->db),
                   StoreOptions::reading());
    store.require_run(f->run);
    const std::vector<Provenance> all = store.provenance(f->run);
    if (all.empty())
      throw InputError("run " + std::to_string(f->run) +
                       " has no traced events (no step skipped, or numerics were off)");
    const Provenance* p = &all.front();
    if (f->step) {
      p = nullptr;
      for (const Provenance& q : all)
        if (q.step == *f->step) p = &q;
      if (p == nullptr) {
        std::string steps;
        for (const Provenance& q : all) steps += (steps.empty() ? "" : ", ") + std::to_string(q.step);
        throw InputError("step " + std::to_string(*f->step) + " of run " + std::to_string(f->run) +
                         " has no traced event (traced steps: " + steps + ")");
      }
    }
    if (f->json) {
      std::cout << nlohmann::ordered_json::parse(provenance_json(*p)).dump(2) << "\n";
      return;
    }
    std::cout << p->sentence() << "\n";
    if (p->first) {
      const TensorStats& s = p->first->stats;
      std::cout << "  first non-finite: " << p->first->label() << " ("
                << role_name(p->first->role) << ", " << dtype_name(p->first->dtype) << "): "
                << s.pos_inf << " +inf, " << s.neg_inf << " -inf, " << s.nan << " NaN of "
                << s.count << " values\n";
      if (!p->input.empty())
        std::cout << "  its inputs: " << p->input << " (largest |x| " << p->input_amax << ")\n";
      if (!p->path.empty()) {
        std::cout << "  the bad values then reached:";
        for (const std::string& l : p->path) std::cout << " " << l;
        std::cout << "\n";
      }
      std::cout << "  classification: " << p->classification() << "\n";
    }
    if (all.size() > 1) {
      std::cout << "traced steps of run " << f->run << ":";
      for (const Provenance& q : all) std::cout << " " << q.step;
      std::cout << "\n";
    }
  });
}

}  // namespace mantissa::cli
