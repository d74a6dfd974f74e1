#pragma once
// Each command group registers its subcommands on the root CLI11 app. A
// command's callback returns normally on success and throws mantissa::Error for
// user errors; main() turns that into one line on stderr and exit code 1.
#include <CLI/CLI.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace mantissa::cli {

// --db, the run database, on a command that records or reads runs.
void add_database_option(CLI::App* cmd, std::string& db);
// --db's value, else $MANTISSA_DB, else ~/.local/share/mantissa/runs.db.
std::filesystem::path database_path(const std::string& db);
// For a command about runs already recorded (show, export, sample, resume...):
// database_path(db), or one InputError naming it where there is no database
// (a mistyped path never leaves a new empty database behind).
std::filesystem::path existing_database(const std::string& db);

// A whole number >= 0 for an unsigned option (a seed): "-1" is refused
// rather than wrapped around to 18446744073709551615.
CLI::Validator whole_number_at_least_zero();
// Numbers for options, with messages in plain figures (CLI11's own range
// message writes DBL_MAX out in 309 digits).
CLI::Validator number_in(double lo, double hi);
CLI::Validator number_above_zero();  // finite, > 0
// A run id: a whole number from 1 that fits (not "abc", not 2^64 clamped to
// another id).
CLI::Validator run_id_number();

// The command line this process was started with (main() records it; the
// data-parallel launcher starts its ranks with it).
void set_invocation(int argc, char** argv);
const std::vector<std::string>& invocation();

void add_devices_command(CLI::App& app);
void add_model_commands(CLI::App& app);
void add_train_commands(CLI::App& app);  // train, resume, compare
void add_runs_commands(CLI::App& app);
void add_runs_numerics_command(CLI::App* runs);  // runs numerics
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
