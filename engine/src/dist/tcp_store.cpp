// The rendezvous store over TCP (tcp_store.hpp).
#include "dist/tcp_store.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "mantissa/error.hpp"

namespace mantissa::dist {

namespace {

enum : std::uint8_t { kSet = 1, kGet = 2, kHas = 3 };

using Clock = std::chrono::steady_clock;

void put_u32(std::vector<char>& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(char((v >> (8 * i)) & 0xff));
}

std::uint32_t get_u32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= std::uint32_t(std::uint8_t(p[i])) << (8 * i);
  return v;
}

std::vector<char> frame(std::uint8_t op, const std::string& key, const std::vector<char>& value) {
  std::vector<char> out{char(op)};
  put_u32(out, std::uint32_t(key.size()));
  out.insert(out.end(), key.begin(), key.end());
  put_u32(out, std::uint32_t(value.size()));
  out.insert(out.end(), value.begin(), value.end());
  return out;
}

// Writes everything (blocking socket); false when the peer is gone.
bool write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t k = ::send(fd, p, n, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    p += k;
    n -= std::size_t(k);
  }
  return true;
}

std::string errno_text() { return std::strerror(errno); }

// The addresses of host:port, numeric or by name.
addrinfo* resolve(const std::string& host, int port, bool passive) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  if (passive) hints.ai_flags = AI_PASSIVE;
  addrinfo* res = nullptr;
  const std::string service = std::to_string(port);
  if (const int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &res);
      rc != 0)
    throw Error("rendezvous: cannot resolve '" + host + "': " + gai_strerror(rc));
  return res;
}

}  // namespace

// ---- server -------------------------------------------------------------------

TcpStoreServer::TcpStoreServer(const std::string& host, int port) {
  addrinfo* res = resolve(host, port, true);
  std::string last;
  for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 256) == 0) {
      listen_fd_ = fd;
      break;
    }
    last = errno_text();
    ::close(fd);
  }
  ::freeaddrinfo(res);
  if (listen_fd_ < 0)
    throw Error("rendezvous: cannot listen on " + host + ":" + std::to_string(port) + ": " + last);
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &len);
  port_ = bound.ss_family == AF_INET6
              ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
              : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  if (::pipe2(wake_, O_CLOEXEC) != 0) {
    ::close(listen_fd_);
    throw Error("rendezvous: pipe: " + errno_text());
  }
  thread_ = std::thread([this] { serve(); });
}

TcpStoreServer::~TcpStoreServer() {
  const char stop = 1;
  if (::write(wake_[1], &stop, 1) < 0) {
  }
  if (thread_.joinable()) thread_.join();
  ::close(wake_[0]);
  ::close(wake_[1]);
  ::close(listen_fd_);
}

std::optional<std::string> TcpStoreServer::value(const std::string& key) const {
  std::lock_guard lock(mutex_);
  const auto it = values_.find(key);
  if (it == values_.end()) return std::nullopt;
  return std::string(it->second.begin(), it->second.end());
}

void TcpStoreServer::serve() {
  struct Client {
    int fd;
    std::vector<char> in;
    std::vector<std::string> waiting;  // GETs not answered yet, in order
  };
  std::vector<Client> clients;
  const auto answer = [&](Client& c) {
    // Answers the client's GETs in order, as far as their keys are set.
    std::lock_guard lock(mutex_);
    while (!c.waiting.empty()) {
      const auto it = values_.find(c.waiting.front());
      if (it == values_.end()) return true;
      std::vector<char> out;
      put_u32(out, std::uint32_t(it->second.size()));
      out.insert(out.end(), it->second.begin(), it->second.end());
      if (!write_all(c.fd, out.data(), out.size())) return false;
      c.waiting.erase(c.waiting.begin());
    }
    return true;
  };
  for (;;) {
    std::vector<pollfd> fds{{wake_[0], POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    for (const Client& c : clients) fds.push_back({c.fd, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents != 0) break;
    if (fds[1].revents & POLLIN) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) {
        const int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        clients.push_back({fd, {}, {}});
      }
    }
    bool set_any = false;
    std::vector<bool> gone(clients.size(), false);
    for (std::size_t i = 0; i < clients.size(); ++i) {
      const pollfd& p = fds[i + 2];
      if (p.revents == 0) continue;
      Client& c = clients[i];
      char buf[65536];
      const ssize_t k = ::recv(c.fd, buf, sizeof buf, 0);
      if (k <= 0) {
        gone[i] = true;
        continue;
      }
      c.in.insert(c.in.end(), buf, buf + k);
      // Every complete frame.
      for (;;) {
        if (c.in.size() < 5) break;
        const std::uint32_t klen = get_u32(c.in.data() + 1);
        if (c.in.size() < 9 + std::size_t(klen)) break;
        const std::uint32_t vlen = get_u32(c.in.data() + 5 + klen);
        const std::size_t total = 9 + std::size_t(klen) + vlen;
        if (c.in.size() < total) break;
        const std::uint8_t op = std::uint8_t(c.in[0]);
        std::string key(c.in.data() + 5, klen);
        if (op == kSet) {
          std::lock_guard lock(mutex_);
          values_[key].assign(c.in.begin() + 9 + klen, c.in.begin() + std::ptrdiff_t(total));
          set_any = true;
        } else if (op == kGet) {
          c.waiting.push_back(std::move(key));
        } else if (op == kHas && c.waiting.empty()) {  // (clients ask one thing at a time)
          bool present = false;
          {
            std::lock_guard lock(mutex_);
            present = values_.count(key) > 0;
          }
          const char reply[5] = {1, 0, 0, 0, char(present ? 1 : 0)};
          if (!write_all(c.fd, reply, sizeof reply)) gone[i] = true;
        } else {
          gone[i] = true;  // not one of ours
          break;
        }
        c.in.erase(c.in.begin(), c.in.begin() + std::ptrdiff_t(total));
      }
    }
    for (std::size_t i = 0; i < clients.size(); ++i)
      if (!gone[i] && (set_any || !clients[i].waiting.empty()) && !answer(clients[i])) gone[i] = true;
    for (std::size_t i = clients.size(); i-- > 0;)
      if (gone[i]) {
        ::close(clients[i].fd);
        clients.erase(clients.begin() + std::ptrdiff_t(i));
      }
  }
  for (const Client& c : clients) ::close(c.fd);
}

// ---- client -------------------------------------------------------------------

TcpStoreClient::TcpStoreClient(const std::string& host, int port, std::chrono::milliseconds timeout)
    : host_(host), port_(port), timeout_(timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string last = "no address";
  while (fd_ < 0) {
    addrinfo* res = resolve(host, port, false);
    for (addrinfo* a = res; a != nullptr && fd_ < 0; a = a->ai_next) {
      const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
      if (fd < 0) continue;
      if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
        fd_ = fd;
        const int one = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      } else {
        last = errno_text();
        ::close(fd);
      }
    }
    ::freeaddrinfo(res);
    if (fd_ >= 0) break;
    if (Clock::now() >= deadline)
      throw Error("rendezvous: nothing answers at " + where() + " (" + last + ") after " +
                  std::to_string(timeout.count() / 1000.0).substr(0, 4) + " s");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

TcpStoreClient::~TcpStoreClient() {
  if (fd_ >= 0) ::close(fd_);
}

std::string TcpStoreClient::where() const { return host_ + ":" + std::to_string(port_); }

void TcpStoreClient::set(const std::string& key, const std::vector<char>& data) {
  std::lock_guard lock(mutex_);
  const std::vector<char> f = frame(kSet, key, data);
  if (fd_ < 0 || !write_all(fd_, f.data(), f.size()))
    throw Error("rendezvous: the store at " + where() + " went away");
}

std::vector<char> TcpStoreClient::get(const std::string& key) { return get_within(key, timeout_); }

bool TcpStoreClient::has(const std::string& key) {
  const std::vector<char> v = request(kHas, key, timeout_);
  return v.size() == 1 && v[0] == 1;
}

std::vector<char> TcpStoreClient::get_within(const std::string& key,
                                             std::chrono::milliseconds timeout) {
  return request(kGet, key, timeout);
}

std::vector<char> TcpStoreClient::request(std::uint8_t op, const std::string& key,
                                          std::chrono::milliseconds timeout) {
  std::lock_guard lock(mutex_);
  const std::vector<char> f = frame(op, key, {});
  if (fd_ < 0 || !write_all(fd_, f.data(), f.size()))
    throw Error("rendezvous: the store at " + where() + " went away");
  const auto deadline = Clock::now() + timeout;
  std::vector<char> in;
  std::size_t want = 4;
  while (in.size() < want) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    pollfd p{fd_, POLLIN, 0};
    const int rc = left > 0 ? ::poll(&p, 1, int(left)) : 0;
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) {
      // The answer may still come; this connection can no longer be trusted.
      ::close(fd_);
      fd_ = -1;
      throw Error("rendezvous: '" + key + "' was not set at " + where() + " within " +
                  std::to_string(timeout.count() / 1000.0).substr(0, 4) + " s");
    }
    char buf[65536];
    const ssize_t k = ::recv(fd_, buf, std::min(sizeof buf, want - in.size()), 0);
    if (k <= 0) throw Error("rendezvous: the store at " + where() + " went away");
    in.insert(in.end(), buf, buf + k);
    if (want == 4 && in.size() == 4) {
      want = 4 + get_u32(in.data());
    }
  }
  return {in.begin() + 4, in.end()};
}

void TcpStoreClient::wait(const std::vector<std::string>& keys,
                          const std::chrono::milliseconds& timeout) {
  for (const std::string& k : keys) get_within(k, timeout);
}

}  // namespace mantissa::dist
