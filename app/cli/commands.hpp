#pragma once
// Each command group registers its subcommands on the root CLI11 app. A
// command's callback returns normally on success and throws mantissa::Error for
// user errors; main() turns that into one line on stderr and exit code 1.
#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace mantissa::cli {

// The command line this process was started with (main() records it; the
// data-parallel launcher starts its ranks with it).
void set_invocation(int argc, char** argv);
const std::vector<std::string>& invocation();

void add_devices_command(CLI::App& app);
void add_model_commands(CLI::App& app);
void add_train_commands(CLI::App& app);  // train, resume, compare
void add_runs_commands(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_export_commands(CLI::App& app);  // export
void add_evaluate_command(CLI::App& app);
void add_sample_command(CLI::App& app);
void add_explain_command(CLI::App& app);
void add_whatif_command(CLI::App& app);
void add_advise_command(CLI::App& app);
void add_tradeoff_command(CLI::App& app);
void add_divergence_command(CLI::App& app);

}  // namespace mantissa::cli
