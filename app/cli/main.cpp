// mantissa: the headless face of the engine. Exit codes: 0 success, 1 user
// error (one line on stderr), 2 unexpected internal error.
#include <csignal>
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>

#include "cli/commands.hpp"
#include "mantissa/error.hpp"
#include "mantissa/version.hpp"

namespace {

// Every error message goes out as exactly one line: a message that carries
// line breaks of its own has them folded into "; ".
std::string one_line(const std::string& message) {
  std::string out;
  bool pending_break = false;
  for (char c : message) {
    if (c == '\n' || c == '\r') {
      pending_break = !out.empty();
      continue;
    }
    if (pending_break) out += "; ";
    pending_break = false;
    out += c;
  }
  return out;
}

// The command the parser got to before it failed: "mantissa", "mantissa train",
// "mantissa runs list". Names the help that would have answered the question.
std::string command_path(const CLI::App& app) {
  std::string path = app.get_name();
  const CLI::App* current = &app;
  for (;;) {
    const auto selected = current->get_subcommands();
    if (selected.empty()) break;
    current = selected.front();
    path += " " + current->get_name();
  }
  return path;
}

// CLI11 reports a parse error as its message plus a second line with a hint;
// here both go on the one line the exit-code contract allows.
int report_parse_error(CLI::App& app, const CLI::ParseError& e) {
  if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success))
    return app.exit(e);  // --help, --version: printed on stdout, exit 0
  const std::string command = command_path(app);
  std::string message = e.what();
  // `mantissa trian`: CLI11 says a subcommand is required; say what was wrong.
  if (command == app.get_name() && !app.remaining().empty() &&
      dynamic_cast<const CLI::RequiredError*>(&e) != nullptr)
    message = "unknown command '" + app.remaining().front() + "'";
  std::cerr << "mantissa: " << one_line(message) << " (run '" << command
            << " --help' for more information)\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  // A file-size limit is a full disk to us: writes fail with EFBIG and say
  // so, rather than the process dying of SIGXFSZ in the middle of a commit.
  std::signal(SIGXFSZ, SIG_IGN);
  mantissa::cli::set_invocation(argc, argv);
  CLI::App app{"Mantissa: train neural networks in mixed precision (fp32, fp16, bf16)", "mantissa"};
  app.set_version_flag("--version", std::string("mantissa ") + mantissa::version_string());
  app.require_subcommand(1);
  mantissa::cli::add_devices_command(app);
  mantissa::cli::add_model_commands(app);
  mantissa::cli::add_train_commands(app);
  mantissa::cli::add_runs_commands(app);
  mantissa::cli::add_bench_command(app);
  mantissa::cli::add_export_commands(app);
  mantissa::cli::add_evaluate_command(app);
  mantissa::cli::add_sample_command(app);
  mantissa::cli::add_explain_command(app);
  mantissa::cli::add_whatif_command(app);
  mantissa::cli::add_advise_command(app);
  mantissa::cli::add_tradeoff_command(app);
  mantissa::cli::add_divergence_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return report_parse_error(app, e) == 0 ? 0 : 1;
  } catch (const mantissa::InternalError& e) {
    std::cerr << "mantissa: " << one_line(e.what()) << "\n";
    return 2;
  } catch (const mantissa::Error& e) {
    std::cerr << "mantissa: " << one_line(e.what()) << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "mantissa: unexpected error: " << one_line(e.what()) << "\n";
    return 2;
  }
  return 0;
}
