#pragma once
// Keeps every other piece of code in this process away from the run
// database's files while a RunStore has them open.
//
// SQLite locks the database, -wal and -shm files with POSIX advisory locks,
// and those belong to the process, not to a descriptor: close() on ANY
// descriptor of one of those files, opened by anyone in the process, drops all
// of the process's locks on it ("How To Corrupt An SQLite Database File",
// §2.2). A file dialog that reads runs.db-shm to guess its MIME type and
// closes it again is enough: the next `mantissa` process then believes it is
// the only connection, checkpoints, and deletes the WAL and shared memory
// under the studio, whose later commits go to a deleted file.
//
// So while a RunStore is open, opening one of its files by any path that does
// not come from SQLite fails with EACCES. The refusal lives in
// `open_guard.cpp` (the mantissa_open_guard object library), which every
// executable links: it replaces open(), openat(), fopen() and their variants
// for the whole process. SQLite's own opens are routed around it through its
// VFS system-call table (route_sqlite_opens()).
#include <filesystem>

namespace mantissa::store {

// Refuses foreign opens of db and of db-wal, db-shm and db-journal for as
// long as the guard lives. Guards nest: the same file may be guarded by every
// connection the process holds on it.
class DatabaseFileGuard {
 public:
  explicit DatabaseFileGuard(const std::filesystem::path& db);
  ~DatabaseFileGuard();
  DatabaseFileGuard(const DatabaseFileGuard&) = delete;
  DatabaseFileGuard& operator=(const DatabaseFileGuard&) = delete;

 private:
  unsigned long long device_ = 0, inode_ = 0;
  bool active_ = false;
};

// True when path (relative to dirfd, as openat() takes it) names a guarded
// database or one of its -wal, -shm or -journal files. Called by the open
// replacements, so it allocates nothing and takes no lock while nothing is
// guarded.
bool open_is_refused(int dirfd, const char* path) noexcept;

// Opens with the kernel directly, bypassing the replacements.
int open_unguarded(int dirfd, const char* path, int flags, unsigned mode) noexcept;

// Points SQLite's "open" system call at open_unguarded(). Idempotent; the
// first Connection calls it before SQLite opens anything.
void route_sqlite_opens();

}  // namespace mantissa::store
