// mantissa: the headless face of the engine. Exit codes: 0 success, 1 user
// error (one line on stderr), 2 unexpected internal error.
#include <cstdio>
#include <exception>
#include <iostream>

#include "cli/commands.hpp"
#include "mantissa/error.hpp"
#include "mantissa/version.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Mantissa: train neural networks in mixed precision (fp32, fp16, bf16)", "mantissa"};
  app.set_version_flag("--version", std::string("mantissa ") + mantissa::version_string());
  app.require_subcommand(1);
  mantissa::cli::add_devices_command(app);
  mantissa::cli::add_model_commands(app);
  mantissa::cli::add_train_commands(app);
  mantissa::cli::add_runs_commands(app);
  mantissa::cli::add_bench_command(app);
  mantissa::cli::add_export_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;
  } catch (const mantissa::InternalError& e) {
    std::cerr << "mantissa: " << e.what() << "\n";
    return 2;
  } catch (const mantissa::Error& e) {
    std::cerr << "mantissa: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "mantissa: unexpected error: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
