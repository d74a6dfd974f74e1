#pragma once
// The run database's schema, versioned with PRAGMA user_version. Each entry in
// the migration list lifts the schema by one version; a new version is a new
// entry appended to the list, never an edit of an old one.
#include <cstdint>

#include "store/sqlite.hpp"

namespace mantissa::store {

// PRAGMA application_id of a Mantissa run database ("MNTS"), so that another
// program's SQLite file is recognised as not ours.
inline constexpr std::int64_t kApplicationId = 0x4D4E5453;

int latest_schema_version();

// Applies every migration above the database's current user_version, each in
// its own transaction. Safe when two processes open a new database at once:
// the version is read again under the write lock.
void migrate(sql::Connection& db);

}  // namespace mantissa::store
