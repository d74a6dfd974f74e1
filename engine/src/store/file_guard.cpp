#include "store/file_guard.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstring>
#include <mutex>
#include <vector>

namespace mantissa::store {
namespace {

struct Guarded {
  unsigned long long device = 0, inode = 0;
  int count = 0;
};

struct Registry {
  std::mutex mutex;
  std::vector<Guarded> files;
  std::atomic<int> active{0};  // files.size(), read without the lock
};

// Never destroyed: open() may be called while static objects are torn down.
Registry& registry() {
  static Registry* r = new Registry;
  return *r;
}

bool is_guarded(Registry& r, int dirfd, const char* path) noexcept {
  struct stat st {};
  if (fstatat(dirfd, path, &st, 0) != 0) return false;
  std::lock_guard lock(r.mutex);
  for (const Guarded& g : r.files) {
    if (g.device == st.st_dev && g.inode == st.st_ino) return true;
  }
  return false;
}

int sqlite_open(const char* path, int flags, int mode) {
  return open_unguarded(AT_FDCWD, path, flags, static_cast<unsigned>(mode));
}

}  // namespace

DatabaseFileGuard::DatabaseFileGuard(const std::filesystem::path& db) {
  struct stat st {};
  if (stat(db.c_str(), &st) != 0) return;
  device_ = st.st_dev;
  inode_ = st.st_ino;
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  for (Guarded& g : r.files) {
    if (g.device == device_ && g.inode == inode_) {
      ++g.count;
      active_ = true;
      return;
    }
  }
  r.files.push_back({device_, inode_, 1});
  r.active.store(static_cast<int>(r.files.size()));
  active_ = true;
}

DatabaseFileGuard::~DatabaseFileGuard() {
  if (!active_) return;
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  for (auto it = r.files.begin(); it != r.files.end(); ++it) {
    if (it->device == device_ && it->inode == inode_) {
      if (--it->count == 0) r.files.erase(it);
      break;
    }
  }
  r.active.store(static_cast<int>(r.files.size()));
}

bool open_is_refused(int dirfd, const char* path) noexcept {
  Registry& r = registry();
  if (r.active.load(std::memory_order_acquire) == 0 || path == nullptr) return false;
  if (is_guarded(r, dirfd, path)) return true;
  // The -wal and -shm files are matched through the database beside them:
  // they may not exist yet when the guard starts.
  const std::size_t n = std::strlen(path);
  for (const char* suffix : {"-wal", "-shm", "-journal"}) {
    const std::size_t k = std::strlen(suffix);
    if (n <= k || n - k >= PATH_MAX || std::strcmp(path + n - k, suffix) != 0) continue;
    char db[PATH_MAX];
    std::memcpy(db, path, n - k);
    db[n - k] = '\0';
    if (is_guarded(r, dirfd, db)) return true;
  }
  return false;
}

int open_unguarded(int dirfd, const char* path, int flags, unsigned mode) noexcept {
  return static_cast<int>(syscall(SYS_openat, dirfd, path, flags, mode));
}

void route_sqlite_opens() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Every unix VFS variant shares one system-call table.
    if (sqlite3_vfs* vfs = sqlite3_vfs_find(nullptr); vfs && vfs->iVersion >= 3) {
      vfs->xSetSystemCall(vfs, "open", reinterpret_cast<sqlite3_syscall_ptr>(&sqlite_open));
    }
  });
}

}  // namespace mantissa::store
