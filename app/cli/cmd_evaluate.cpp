// mantissa evaluate RUN: a stored run's checkpoint on its validation split:
// loss, accuracy, per-class accuracy, the confusion matrix and the first
// misclassified examples (the evaluate job, mantissa/evaluate.hpp).
#include <algorithm>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cli/commands.hpp"
#include "cli/progress.hpp"
#include "mantissa/evaluate.hpp"
#include "mantissa/store.hpp"

namespace mantissa::cli {

namespace {

using Json = nlohmann::ordered_json;

Json evaluation_json(const Evaluation& e) {
  Json out = {{"run", e.run_id},         {"step", e.step},
              {"backend", e.backend},    {"samples", e.samples},
              {"predictions", e.predictions},
              {"loss", e.loss},          {"classification", e.classification}};
  if (!e.classification) return out;
  out["accuracy"] = e.accuracy();
  out["correct"] = e.correct;
  out["classes"] = e.class_names;
  Json per_class = Json::array();
  for (double a : e.per_class_accuracy()) per_class.push_back(a < 0 ? Json(nullptr) : Json(a));
  out["per_class_accuracy"] = per_class;
  Json matrix = Json::array();
  for (int t = 0; t < e.num_classes; ++t) {
    Json row = Json::array();
    for (int p = 0; p < e.num_classes; ++p)
      row.push_back(e.confusion[std::size_t(t * e.num_classes + p)]);
    matrix.push_back(row);
  }
  out["confusion"] = matrix;  // rows: true class, columns: predicted
  Json wrong = Json::array();
  for (const MisclassifiedSample& m : e.misclassified)
    wrong.push_back({{"row", m.row}, {"truth", m.truth}, {"predicted", m.predicted}});
  out["misclassified"] = wrong;
  return out;
}

void print_evaluation(const Evaluation& e) {
  std::cout << "run " << e.run_id << " at step " << e.step << " on " << e.backend << ": "
            << with_thousands(e.samples) << " validation samples, loss " << fixed(e.loss, 4);
  if (!e.classification) {
    std::cout << "\n";
    return;
  }
  if (e.predictions != e.samples) {  // a sequence model: one prediction per token
    std::cout << ", token accuracy " << fixed(100.0 * e.accuracy(), 2) << "% ("
              << with_thousands(e.correct) << " of " << with_thousands(e.predictions)
              << " tokens right)\n";
    return;
  }
  std::cout << ", accuracy " << fixed(100.0 * e.accuracy(), 2) << "% (" << with_thousands(e.correct)
            << " right)\n\n";
  const int n = e.num_classes;
  std::vector<std::string> header{"true \\ predicted"};
  std::vector<bool> right{false};
  for (int p = 0; p < n; ++p) {
    header.push_back(e.class_names[std::size_t(p)]);
    right.push_back(true);
  }
  header.push_back("accuracy");
  right.push_back(true);
  Table t(header, right);
  t.rule();
  const std::vector<double> per_class = e.per_class_accuracy();
  for (int r = 0; r < n; ++r) {
    std::vector<std::string> row{e.class_names[std::size_t(r)]};
    for (int p = 0; p < n; ++p) row.push_back(with_thousands(e.confusion[std::size_t(r * n + p)]));
    const double a = per_class[std::size_t(r)];
    row.push_back(a < 0 ? "-" : fixed(100.0 * a, 1) + "%");
    t.add(row);
  }
  t.print(std::cout);
  if (!e.misclassified.empty()) {
    // The first ten; --json has all that were kept.
    std::cout << "\nfirst misclassified (validation row: true -> predicted):";
    const std::size_t shown = std::min<std::size_t>(e.misclassified.size(), 10);
    for (std::size_t i = 0; i < shown; ++i) {
      const MisclassifiedSample& m = e.misclassified[i];
      std::cout << (i ? ", " : " ") << m.row << ": " << e.class_names[std::size_t(m.truth)]
                << " -> " << e.class_names[std::size_t(m.predicted)];
    }
    std::cout << (e.misclassified.size() > shown ? ", ...\n" : "\n");
  }
}

}  // namespace

void add_evaluate_command(CLI::App& app) {
  struct Flags {
    std::int64_t run = 0;
    std::int64_t step = -1;
    std::string db;
    std::string backend = "cpu";
    bool json = false;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = app.add_subcommand(
      "evaluate", "A run's checkpoint on its validation split: loss, accuracy, confusion matrix");
  cmd->add_option("run", f->run, "Run id")->required()->check(run_id_number());
  cmd->add_option("--checkpoint", f->step, "Step of the checkpoint (default: the newest)")
      ->check(whole_number_at_least_zero());
  add_database_option(cmd, f->db);
  cmd->add_option("--backend", f->backend, "Device: cpu, cuda, cuda:N")->capture_default_str();
  cmd->add_flag("--json", f->json, "Print JSON");
  cmd->callback([f] {
    RunStore store(existing_database(f->db),
                   StoreOptions::reading());
    EvaluateOptions options;
    if (f->step >= 0) options.checkpoint_step = f->step;
    options.backend = f->backend;
    const Evaluation e = evaluate_run(store, f->run, options);
    if (f->json)
      std::cout << evaluation_json(e).dump(2) << "\n";
    else
      print_evaluation(e);
  });
}

}  // namespace mantissa::cli
