#pragma once
// The rendezvous of a data-parallel run: a small key-value store over TCP
// that Gloo's Store interface reads (ranks publish their addresses, then read
// each other's). Debian's Gloo has file, hash and Redis stores but none over
// TCP, which starting ranks on several machines needs.
//
// Frames, both ways, little-endian: u8 op, u32 key length, key, u32 value
// length, value. SET stores; HAS is answered at once (u32 1, then 0 or 1); GET is answered with the value (u32 length,
// bytes) once some client has set the key. The server runs on its own thread
// and holds everything in memory for the life of the run.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gloo/rendezvous/store.h>

namespace mantissa::dist {

class TcpStoreServer {
 public:
  // Listens on host:port (port 0: any free one; "0.0.0.0" for every
  // interface). Throws Error when it cannot.
  TcpStoreServer(const std::string& host, int port);
  ~TcpStoreServer();
  TcpStoreServer(const TcpStoreServer&) = delete;
  TcpStoreServer& operator=(const TcpStoreServer&) = delete;
  int port() const { return port_; }
  // A value set by a client, if it is there yet (the launcher reads the run id).
  std::optional<std::string> value(const std::string& key) const;

 private:
  void serve();
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  int port_ = 0;
  mutable std::mutex mutex_;
  std::map<std::string, std::vector<char>> values_;
  std::thread thread_;
};

class TcpStoreClient : public gloo::rendezvous::Store {
 public:
  // Connects, retrying until `timeout` (the server may start after us).
  TcpStoreClient(const std::string& host, int port, std::chrono::milliseconds timeout);
  ~TcpStoreClient() override;
  void set(const std::string& key, const std::vector<char>& data) override;
  std::vector<char> get(const std::string& key) override;
  void wait(const std::vector<std::string>& keys) override { wait(keys, timeout_); }
  void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) override;
  // Whether the key is set now (does not wait).
  bool has(const std::string& key);

 private:
  std::vector<char> get_within(const std::string& key, std::chrono::milliseconds timeout);
  std::vector<char> request(std::uint8_t op, const std::string& key, std::chrono::milliseconds timeout);
  std::string where() const;
  int fd_ = -1;
  std::string host_;
  int port_ = 0;
  std::chrono::milliseconds timeout_;
  std::mutex mutex_;
};

}  // namespace mantissa::dist
