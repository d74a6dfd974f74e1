#include "store/sqlite.hpp"

#include "store/file_guard.hpp"

#include <sqlite3.h>

#include <cerrno>
#include <cstdio>
#include <limits>
#include <utility>

namespace mantissa::sql {

bool is_busy(const SqlError& e) {
  return e.primary_code() == SQLITE_BUSY || e.primary_code() == SQLITE_LOCKED;
}
bool is_not_a_database(const SqlError& e) {
  return e.primary_code() == SQLITE_NOTADB || e.primary_code() == SQLITE_CORRUPT;
}
bool is_read_only(const SqlError& e) {
  return e.primary_code() == SQLITE_READONLY || e.primary_code() == SQLITE_CANTOPEN ||
         e.primary_code() == SQLITE_PERM;
}
bool is_constraint(const SqlError& e) {
  return e.primary_code() == SQLITE_CONSTRAINT;
}
bool is_too_big(const SqlError& e) {
  return e.primary_code() == SQLITE_TOOBIG;
}
bool is_disk_full(const SqlError& e) {
  return e.primary_code() == SQLITE_FULL || e.system_errno() == ENOSPC ||
         e.system_errno() == EFBIG || e.system_errno() == EDQUOT;
}

// ---------------------------------------------------------------- Connection

namespace {

// "file:" URI for path, with the characters a URI gives meaning escaped.
std::string file_uri(const std::string& path) {
  std::string uri = "file:";
  for (const char c : path) {
    if (c == '%' || c == '?' || c == '#') {
      char escaped[4];
      std::snprintf(escaped, sizeof escaped, "%%%02X", static_cast<unsigned char>(c));
      uri += escaped;
    } else {
      uri += c;
    }
  }
  return uri;
}

}  // namespace

Connection::Connection(const std::string& path, Mode mode) {
  // NOMUTEX: a connection is confined to one thread, so SQLite's per-call
  // locking would only cost time.
  store::route_sqlite_opens();
  int flags = SQLITE_OPEN_NOMUTEX;
  std::string name = path;
  switch (mode) {
    case Mode::ReadWrite: flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE; break;
    case Mode::ReadOnly: flags |= SQLITE_OPEN_READONLY; break;
    case Mode::Immutable:
      flags |= SQLITE_OPEN_READONLY | SQLITE_OPEN_URI;
      name = file_uri(path) + "?immutable=1";
      break;
  }
  const int rc = sqlite3_open_v2(name.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    const std::string message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw SqlError(rc, message);
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_commit_hook(
      db_,
      [](void* self) {
        auto* connection = static_cast<Connection*>(self);
        ++connection->commits_;
        if (connection->on_commit_) connection->on_commit_();
        return 0;  // 0 lets the commit go ahead
      },
      this);
}

Connection::~Connection() {
  // close_v2 defers the close until statements still alive are finalized,
  // so destruction order of cached statements does not matter.
  if (db_) sqlite3_close_v2(db_);
}

void Connection::fail(int rc) const {
  throw SqlError(rc, sqlite3_errmsg(db_), sqlite3_system_errno(db_));
}

void Connection::exec(const std::string& sql) {
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) fail(sqlite3_extended_errcode(db_));
}

Statement Connection::prepare(std::string_view sql, bool persistent) {
  sqlite3_stmt* stmt = nullptr;
  const unsigned flags = persistent ? SQLITE_PREPARE_PERSISTENT : 0;
  const int rc =
      sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), flags, &stmt, nullptr);
  if (rc != SQLITE_OK) fail(rc);
  return Statement(db_, stmt);
}

std::int64_t Connection::query_int(const std::string& sql) {
  Statement stmt = prepare(sql);
  if (!stmt.step()) return 0;
  const std::int64_t value = stmt.column_int(0);
  stmt.reset();
  return value;
}

void Connection::set_busy_timeout(std::chrono::milliseconds timeout) {
  sqlite3_busy_timeout(db_, static_cast<int>(timeout.count()));
}

bool Connection::read_only() const {
  return sqlite3_db_readonly(db_, "main") == 1;
}
bool Connection::in_transaction() const {
  return sqlite3_get_autocommit(db_) == 0;
}
std::int64_t Connection::last_insert_rowid() const {
  return sqlite3_last_insert_rowid(db_);
}
std::int64_t Connection::changes() const {
  return sqlite3_changes64(db_);
}
std::int64_t Connection::max_value_bytes() const {
  return sqlite3_limit(db_, SQLITE_LIMIT_LENGTH, -1);
}

// ----------------------------------------------------------------- Statement

Statement::~Statement() {
  if (stmt_) sqlite3_finalize(stmt_);
}

Statement::Statement(Statement&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), stmt_(std::exchange(other.stmt_, nullptr)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    if (stmt_) sqlite3_finalize(stmt_);
    db_ = std::exchange(other.db_, nullptr);
    stmt_ = std::exchange(other.stmt_, nullptr);
  }
  return *this;
}

void Statement::check_bind(int rc) const {
  if (rc != SQLITE_OK) throw SqlError(rc, sqlite3_errmsg(db_));
}

Statement& Statement::bind(int index, std::int64_t value) {
  check_bind(sqlite3_bind_int64(stmt_, index, value));
  return *this;
}

Statement& Statement::bind(int index, double value) {
  check_bind(sqlite3_bind_double(stmt_, index, value));
  return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
  // A default string_view has no data pointer, and a null pointer binds NULL.
  const char* data = text.data() ? text.data() : "";
  check_bind(sqlite3_bind_text64(stmt_, index, data, text.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  return *this;
}

Statement& Statement::bind(int index, std::span<const std::uint8_t> blob) {
  // SQLITE_STATIC avoids copying a checkpoint: the caller's bytes outlive the
  // run() that follows the bind. An empty span has no data pointer, and a null
  // pointer would bind NULL, so bind an empty blob explicitly.
  if (blob.empty()) {
    check_bind(sqlite3_bind_zeroblob(stmt_, index, 0));
  } else {
    check_bind(sqlite3_bind_blob64(stmt_, index, blob.data(), blob.size(), SQLITE_STATIC));
  }
  return *this;
}

Statement& Statement::bind_null(int index) {
  check_bind(sqlite3_bind_null(stmt_, index));
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) {
    reset();
    return false;
  }
  const SqlError error(rc, sqlite3_errmsg(db_), sqlite3_system_errno(db_));
  reset();
  throw error;
}

void Statement::run() {
  while (step()) {
  }
}

void Statement::reset() noexcept {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

bool Statement::column_is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

std::int64_t Statement::column_int(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

double Statement::column_double(int column) const {
  if (column_is_null(column)) return std::numeric_limits<double>::quiet_NaN();
  return sqlite3_column_double(stmt_, column);
}

std::string Statement::column_text(int column) const {
  const auto* text = sqlite3_column_text(stmt_, column);
  if (!text) return {};
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
}

std::optional<std::int64_t> Statement::column_optional_int(int column) const {
  if (column_is_null(column)) return std::nullopt;
  return column_int(column);
}

std::optional<std::string> Statement::column_optional_text(int column) const {
  if (column_is_null(column)) return std::nullopt;
  return column_text(column);
}

std::vector<std::uint8_t> Statement::column_blob(int column) const {
  const auto* data = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_, column));
  const auto size = static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column));
  if (!data) return {};
  return std::vector<std::uint8_t>(data, data + size);
}

std::int64_t Statement::column_bytes(int column) const {
  return sqlite3_column_bytes(stmt_, column);
}

// --------------------------------------------------------------- Transaction

Transaction::Transaction(Connection& connection) : connection_(connection) {
  connection_.exec("BEGIN IMMEDIATE");
}

Transaction::~Transaction() {
  if (open_ && connection_.in_transaction()) {
    try {
      connection_.exec("ROLLBACK");
    } catch (const SqlError&) {
      // Nothing sensible to do in a destructor; SQLite rolls back on close anyway.
    }
  }
}

void Transaction::commit() {
  connection_.exec("COMMIT");
  open_ = false;
}

}  // namespace mantissa::sql
