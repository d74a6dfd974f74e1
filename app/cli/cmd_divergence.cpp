// mantissa divergence RUN --reference RUN --twin RUN [--k K] [--consecutive M]
// [--probe [--probe-step S]] [--json]: where a run's fingerprint leaves a
// float32 reference's by more than the noise band (divergence.hpp), and which
// ops create error at that step (probe.hpp).
#include <algorithm>
#include <cmath>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.hpp"
#include "cli/progress.hpp"
#include "mantissa/divergence.hpp"
#include "mantissa/error.hpp"
#include "mantissa/model.hpp"
#include "mantissa/probe.hpp"
#include "mantissa/store.hpp"

namespace mantissa::cli {

void add_divergence_command(CLI::App& app) {
  struct Flags {
    std::string db;
    std::int64_t run = 0, reference = 0, twin = 0;
    double k = 10;
    int consecutive = 5;
    bool json = false;
    bool probe = false;
    std::int64_t probe_step = 0;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = app.add_subcommand(
      "divergence",
      "Where a run's loss leaves a float32 reference's beyond the noise band of a noise twin "
      "(train the twin with `mantissa train --noise-twin`)");
  cmd->add_option("run", f->run, "The run to judge")->required()->check(run_id_number());
  cmd->add_option("--reference", f->reference, "A float32 run of the same project and seed")
      ->required()
      ->check(run_id_number());
  cmd->add_option("--twin", f->twin, "Its noise twin (float32, --noise-twin)")
      ->required()
      ->check(run_id_number());
  cmd->add_option("--k", f->k, "The band: k times the twin's distance so far")
      ->check(number_above_zero())
      ->capture_default_str();
  cmd->add_option("--consecutive", f->consecutive, "Steps in a row outside the band to count")
      ->check(number_above_zero())
      ->capture_default_str();
  add_database_option(cmd, f->db);
  cmd->add_flag("--probe", f->probe,
                "Run the first divergent step again in the run's policy and in float32 from the "
                "run's exact state, and name the ops that create error there");
  cmd->add_option("--probe-step", f->probe_step, "Probe this step instead (implies --probe)")
      ->check(CLI::Validator(
          [](std::string& v) {
            return std::all_of(v.begin(), v.end(), ::isdigit) && !v.empty() && std::stoll(v) >= 1
                       ? std::string()
                       : "a step is a whole number from 1 up, not '" + v + "'";
          },
          "STEP"));
  cmd->add_flag("--json", f->json, "Print JSON, with every step's distances");
  cmd->callback([f] {
    RunStore store(existing_database(f->db),
                   StoreOptions::reading());
    const RunRecord run = store.require_run(f->run);
    const RunRecord ref = store.require_run(f->reference);
    const RunRecord twin = store.require_run(f->twin);
    if (ref.id == twin.id)
      throw InputError("--reference and --twin are both run " + std::to_string(ref.id) +
                       ": the twin is another float32 run, trained with --noise-twin");
    for (const RunRecord* r : {&ref, &twin})
      if (r->policy != "float32")
        throw InputError("--" + std::string(r == &ref ? "reference" : "twin") + ": run " +
                         std::to_string(r->id) + " is " + r->policy + ", not float32");
    if (run.project_name != ref.project_name || run.seed != ref.seed || twin.seed != ref.seed)
      throw InputError("runs " + std::to_string(run.id) + ", " + std::to_string(ref.id) + " and " +
                       std::to_string(twin.id) +
                       " are not of one project and seed (the same weights and batches)");
    const Divergence d = divergence(fingerprints(store, run.id), fingerprints(store, ref.id),
                                    fingerprints(store, twin.id), f->k, f->consecutive);
    if (d.steps.empty())
      throw InputError("runs " + std::to_string(run.id) + ", " + std::to_string(ref.id) + " and " +
                       std::to_string(twin.id) + " share no applied step");
    const auto optional_step = [](const std::optional<std::int64_t>& s) {
      return s ? nlohmann::ordered_json(*s) : nlohmann::ordered_json(nullptr);
    };
    std::optional<RunProbe> probe;
    if (f->probe || f->probe_step > 0) {
      const std::int64_t at = f->probe_step > 0 ? f->probe_step : d.first_divergent.value_or(0);
      if (at == 0)
        throw InputError("run " + std::to_string(run.id) +
                         " stays within the noise band: name a step with --probe-step");
      probe = probe_run(store, run.id, at);
    }
    if (f->json) {
      nlohmann::ordered_json j;
      j["run"] = run.id;
      j["reference"] = ref.id;
      j["twin"] = twin.id;
      j["k"] = d.k;
      j["consecutive"] = d.consecutive;
      j["first_divergent"] = optional_step(d.first_divergent);
      j["within_until"] = d.within_until;
      j["identical_until"] = d.identical_until;
      j["steps"] = d.steps;
      auto& measures = j["measures"] = nlohmann::ordered_json::array();
      for (const DivergenceMeasure& m : d.measures) {
        nlohmann::ordered_json o;
        o["name"] = m.name;
        o["precision_floor"] = m.floor;
        o["first_divergent"] = optional_step(m.first_divergent);
        o["distance"] = m.candidate;
        o["twin"] = m.twin;
        o["band"] = m.band;
        measures.push_back(std::move(o));
      }
      if (probe) {
        const StepProbe& p = probe->probe;
        nlohmann::ordered_json o;
        o["step"] = p.step;
        o["from_checkpoint"] = probe->from_step;
        o["reproduced"] = probe->reproduced;
        o["loss"] = p.loss;
        o["loss_fp32"] = p.loss_fp32;
        o["scale"] = p.scale;
        o["culprits"] = p.culprits;
        o["sentence"] = p.sentence();
        auto& ops = o["ops"] = nlohmann::ordered_json::array();
        for (const ProbeOp& op : p.ops)
          ops.push_back({{"layer", op.layer}, {"what", op.what}, {"role", role_key(op.role)},
                         {"dtype", dtype_name(op.dtype)}, {"error", std::isfinite(op.error) ? nlohmann::ordered_json(op.error) : nlohmann::ordered_json(nullptr)},
                         {"input_error", op.input_error}, {"culprit", op.culprit}});
        j["probe"] = std::move(o);
      }
      std::cout << j.dump(2) << "\n";
      return;
    }
    std::cout << "Run " << run.id << " (" << run.policy << ") against float32 run " << ref.id
              << ", noise twin " << twin.id << ", over " << d.steps.size() << " steps:\n";
    for (const DivergenceMeasure& m : d.measures)
      std::cout << "  " << m.name << ": distance at the end " << scale_text(m.candidate.back())
                << " (the twin's " << scale_text(m.twin.back()) << ", precision floor "
                << scale_text(m.floor) << (m.name == "weights" ? " per step" : "") << "), "
                << (m.first_divergent ? "leaves the band at step " + std::to_string(*m.first_divergent)
                                      : std::string("within the band"))
                << "\n";
    if (d.identical_until > 0)
      std::cout << "  weights bit-identical to the reference's up to step " << d.identical_until
                << "\n";
    if (d.first_divergent)
      std::cout << "  its loss leaves the noise band at step " << *d.first_divergent << " ("
                << d.consecutive << " steps in a row beyond max(" << d.k
                << " x the twin's distance, 3 x the floor))\n";
    else
      std::cout << "  its loss stays within the noise band for all " << d.steps.size() << " steps\n";
    if (probe) {
      const StepProbe& p = probe->probe;
      std::cout << "\nProbe of step " << p.step << " (trained again from "
                << (probe->from_step > 0 ? "the checkpoint at step " + std::to_string(probe->from_step)
                                         : std::string("the start"))
                << (probe->reproduced ? "; the step's loss reproduced bit for bit"
                                      : "; NOT reproduced: the loss differs from the recorded one")
                << "):\n  " << p.sentence() << "\n";
      std::cout << "  op" << std::string(40, ' ') << "error     inputs'\n";
      for (const ProbeOp& op : p.ops) {
        std::string name = op.layer + " " + op.what;
        if (name.size() < 42) name += std::string(42 - name.size(), ' ');
        std::cout << "  " << name << " " << scale_text(op.error) << "  "
                  << scale_text(op.input_error) << (op.culprit ? "  <- culprit" : "") << "\n";
      }
    }
  });
}

}  // namespace mantissa::cli
