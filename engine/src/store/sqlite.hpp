#pragma once
// A small RAII layer over the SQLite C API: a connection, prepared statements
// with typed bind / column access, and a transaction guard. It throws SqlError
// carrying SQLite's result code; RunStore turns that into a one-line message
// naming the database file. Nothing here is shared between threads: a
// Connection and its statements belong to the thread that opened them.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace mantissa::sql {

class SqlError : public std::runtime_error {
 public:
  SqlError(int code, const std::string& message, int system_errno = 0)
      : std::runtime_error(message), code_(code), system_errno_(system_errno) {}
  int code() const { return code_; }                 // extended result code
  int primary_code() const { return code_ & 0xff; }  // SQLITE_BUSY, SQLITE_NOTADB, ...
  int system_errno() const { return system_errno_; }  // errno of a failed I/O call; 0 if none

 private:
  int code_;
  int system_errno_;
};

// Primary result codes the store reacts to, so callers need not include sqlite3.h.
bool is_busy(const SqlError& e);  // locked by another connection or process
bool is_not_a_database(const SqlError& e);
bool is_read_only(const SqlError& e);  // read-only file, directory or medium
bool is_constraint(const SqlError& e);
bool is_too_big(const SqlError& e);
// The disk (or the quota, or the process's file-size limit) has no room.
bool is_disk_full(const SqlError& e);

class Statement;

class Connection {
 public:
  enum class Mode {
    ReadWrite,  // creates the file when missing
    ReadOnly,   // SQLite's read-only open; the -shm file may be created
    Immutable,  // read-only on a medium or folder nobody can write
  };
  // Opens (and creates when missing) a database for reading and writing.
  explicit Connection(const std::string& path, Mode mode = Mode::ReadWrite);
  ~Connection();
  // Not movable: the commit hook holds this object's address.
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs SQL without parameters or results (schema, pragmas, BEGIN/COMMIT).
  void exec(const std::string& sql);
  Statement prepare(std::string_view sql, bool persistent = false);
  // First column of the first row of a parameterless query, e.g. a pragma.
  std::int64_t query_int(const std::string& sql);

  void set_busy_timeout(std::chrono::milliseconds timeout);
  bool read_only() const;
  bool in_transaction() const;
  std::int64_t last_insert_rowid() const;
  std::int64_t changes() const;          // rows touched by the last INSERT / UPDATE / DELETE
  std::int64_t max_value_bytes() const;  // largest string or blob SQLite accepts
  std::int64_t commit_count() const { return commits_; }  // commits seen on this connection
  // Called inside every commit, before it is durable (crash tests kill the
  // process there: see RunStore's MANTISSA_KILL_AT_* variables).
  void on_commit(std::function<void()> f) { on_commit_ = std::move(f); }
  sqlite3* handle() const { return db_; }

 private:
  [[noreturn]] void fail(int rc) const;

  sqlite3* db_ = nullptr;
  std::int64_t commits_ = 0;  // updated by a commit hook that points at this object
  std::function<void()> on_commit_;
};

class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;

  // Parameters are 1-based, as in SQL (?1, ?2, ...).
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
  Statement& bind(int index, double value);
  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, const char* text) { return bind(index, std::string_view(text)); }
  Statement& bind(int index, std::span<const std::uint8_t> blob);
  Statement& bind_null(int index);
  template <typename T>
  Statement& bind(int index, const std::optional<T>& value) {
    return value ? bind(index, *value) : bind_null(index);
  }

  // True while a row is ready. At the end (or on error) the statement resets
  // itself, so a cached statement can be bound and run again.
  bool step();
  // Runs a statement that returns no rows.
  void run();
  // Rewinds a statement left part-way through its rows and clears bindings.
  void reset() noexcept;

  bool column_is_null(int column) const;
  std::int64_t column_int(int column) const;
  double column_double(int column) const;  // NULL reads as NaN (SQLite stores NaN as NULL)
  std::string column_text(int column) const;
  std::optional<std::int64_t> column_optional_int(int column) const;
  std::optional<std::string> column_optional_text(int column) const;
  std::vector<std::uint8_t> column_blob(int column) const;
  std::int64_t column_bytes(int column) const;

 private:
  void check_bind(int rc) const;

  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

// BEGIN IMMEDIATE takes the write lock up front: a deferred transaction that
// reads first and writes later can fail with SQLITE_BUSY without waiting.
class Transaction {
 public:
  explicit Transaction(Connection& connection);
  ~Transaction();  // rolls back unless committed
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  void commit();

 private:
  Connection& connection_;
  bool open_ = true;
};

}  // namespace mantissa::sql
