// The --db option and the run database it names, one home for every command.
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

#include "cli/commands.hpp"
#include "mantissa/error.hpp"
#include "mantissa/store.hpp"

namespace mantissa::cli {

void add_database_option(CLI::App* cmd, std::string& db) {
  cmd->add_option("--db", db,
                  "Run database (default: $MANTISSA_DB or ~/.local/share/mantissa/runs.db)")
      // Given but empty ("--db ''", an unset shell variable) is a mistake, not
      // a request for the default database.
      ->check([](const std::string& v) {
        return v.empty() ? std::string("an empty path names no database") : std::string();
      });
}

std::filesystem::path database_path(const std::string& db) {
  return db.empty() ? default_database_path() : std::filesystem::path(db);
}

std::filesystem::path existing_database(const std::string& db) {
  const std::filesystem::path path = database_path(db);
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) return path;
  const char* env = std::getenv("MANTISSA_DB");
  const std::string named_by = !db.empty()           ? "check --db"
                               : env && *env != '\0' ? "check $MANTISSA_DB"
                                                      : "or pass --db";
  throw InputError(path.string() + ": no run database here (train a run first, " + named_by + ")");
}

}  // namespace mantissa::cli
