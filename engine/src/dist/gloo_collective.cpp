// The collectives of a data-parallel run on Gloo over TCP (collective.hpp).
// Gloo runs the ring all-reduce, the all-to-all and the all-gather; what is
// ours is the rendezvous (tcp_store.hpp), the rank-ordered sum, and turning
// Gloo's failures into one message that says what the other ranks did.
#include <gloo/allgather.h>
#include <gloo/allreduce.h>
#include <gloo/alltoall.h>
#include <gloo/broadcast.h>
#include <gloo/common/error.h>
#include <gloo/rendezvous/context.h>
#include <gloo/transport/tcp/device.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstring>
#include <thread>

#include "dist/tcp_store.hpp"
#include "mantissa/collective.hpp"
#include "mantissa/error.hpp"
#include "mantissa/units.hpp"

namespace mantissa {

const char* reduce_order_name(ReduceOrder o) { return o == ReduceOrder::Rank ? "rank" : "ring"; }

ReduceOrder parse_reduce_order(const std::string& text) {
  if (text == "ring") return ReduceOrder::Ring;
  if (text == "rank") return ReduceOrder::Rank;
  throw InputError("reduce order '" + text + "': write ring (fastest) or rank (reproducible)");
}

namespace {

using Clock = std::chrono::steady_clock;

// Gloo's tags keep one kind of collective from pairing with another.
enum : std::uint32_t { kTagSum = 1, kTagMax, kTagAllToAll, kTagGather, kTagBroadcast, kTagLengths };

// NaN wins (std::max would keep whichever argument came first).
void max_nan(void* c_, const void* a_, const void* b_, size_t n) {
  auto* c = static_cast<float*>(c_);
  const auto* a = static_cast<const float*>(a_);
  const auto* b = static_cast<const float*>(b_);
  for (size_t i = 0; i < n; ++i)
    c[i] = std::isnan(a[i]) || std::isnan(b[i]) ? NAN : std::max(a[i], b[i]);
}

void sum_f32(void* c_, const void* a_, const void* b_, size_t n) {
  auto* c = static_cast<float*>(c_);
  const auto* a = static_cast<const float*>(a_);
  const auto* b = static_cast<const float*>(b_);
  for (size_t i = 0; i < n; ++i) c[i] = a[i] + b[i];
}

bool loopback(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1" || host.empty();
}

class GlooCollective : public Collective {
 public:
  GlooCollective(const JoinSpec& spec, std::shared_ptr<dist::TcpStoreServer> server)
      : rank_(spec.rank), world_(spec.world), timeout_(spec.timeout), server_(std::move(server)) {
    // A peer that dies mid-send must fail this rank's collective with a
    // message, not kill the process with SIGPIPE (Gloo writes to sockets
    // whose other end may be gone).
    std::signal(SIGPIPE, SIG_IGN);
    if (spec.serve_store && !server_)
      server_ = std::make_shared<dist::TcpStoreServer>("", spec.store_port);
    const std::string where = spec.store_host + ":" + std::to_string(spec.store_port);
    auto store = std::make_shared<dist::TcpStoreClient>(spec.store_host, spec.store_port, spec.timeout);
    // Everyone announces itself first, so that a rank that never comes is
    // named rather than lost in Gloo's own wait.
    store->set("mantissa/joined/" + std::to_string(rank_), {});
    const auto deadline = Clock::now() + spec.timeout;
    for (;;) {
      std::vector<int> missing;
      for (int r = 0; r < world_; ++r)
        if (!store->has("mantissa/joined/" + std::to_string(r))) missing.push_back(r);
      if (missing.empty()) break;
      if (Clock::now() >= deadline) {
        std::string names;
        for (int r : missing) names += (names.empty() ? "" : ", ") + std::to_string(r);
        throw Error(std::string(missing.size() == 1 ? "rank " : "ranks ") + names + " of " +
                    std::to_string(world_) + " never joined the rendezvous at " + where +
                    " within " + seconds_text(spec.timeout));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    gloo::transport::tcp::attr attr;
    attr.hostname = spec.interface_host;
    try {
      auto device = gloo::transport::tcp::CreateDevice(attr);
      context_ = std::make_shared<gloo::rendezvous::Context>(rank_, world_);
      context_->setTimeout(spec.timeout);
      context_->connectFullMesh(*store, device);
    } catch (const std::exception& e) {
      throw Error("rank " + std::to_string(rank_) + " could not connect to the other ranks (" +
                  spec.interface_host + ", rendezvous " + where + "): " + e.what());
    }
  }

  int rank() const override { return rank_; }
  int world() const override { return world_; }
  std::string engine() const override { return "gloo"; }
  std::chrono::milliseconds timeout() const override { return timeout_; }

  void sum(std::span<float> data, ReduceOrder order) override {
    if (world_ == 1 || data.empty()) return;
    if (order == ReduceOrder::Ring) {
      guarded("the gradient sum", [&] {
        gloo::AllreduceOptions opts(context_);
        opts.setOutput(data.data(), data.size());
        opts.setReduceFunction(&sum_f32);
        opts.setAlgorithm(gloo::AllreduceOptions::Algorithm::RING);
        opts.setTag(kTagSum);
        gloo::allreduce(opts);
      });
      return;
    }
    // Rank order: rank j receives chunk j of every rank (all-to-all), sums
    // them in rank order, and every rank gathers the summed chunks.
    const std::size_t w = std::size_t(world_);
    const std::size_t chunk = (data.size() + w - 1) / w;
    send_.assign(chunk * w, 0.0f);
    std::copy(data.begin(), data.end(), send_.begin());
    received_.resize(chunk * w);
    guarded("the gradient sum", [&] {
      gloo::AlltoallOptions opts(context_);
      opts.setInput(send_.data(), send_.size());
      opts.setOutput(received_.data(), received_.size());
      opts.setTag(kTagAllToAll);
      gloo::alltoall(opts);
    });
    mine_.assign(received_.begin(), received_.begin() + std::ptrdiff_t(chunk));
    for (std::size_t j = 1; j < w; ++j)
      for (std::size_t i = 0; i < chunk; ++i) mine_[i] += received_[j * chunk + i];
    guarded("the gradient sum", [&] {
      gloo::AllgatherOptions opts(context_);
      opts.setInput(mine_.data(), mine_.size());
      opts.setOutput(send_.data(), send_.size());
      opts.setTag(kTagGather);
      gloo::allgather(opts);
    });
    std::copy_n(send_.begin(), data.size(), data.begin());
  }

  void max(std::span<float> data) override {
    if (world_ == 1 || data.empty()) return;
    guarded("the step's agreement", [&] {
      gloo::AllreduceOptions opts(context_);
      opts.setOutput(data.data(), data.size());
      opts.setReduceFunction(&max_nan);
      opts.setTag(kTagMax);
      gloo::allreduce(opts);
    });
  }

  void broadcast(std::vector<std::uint8_t>& data, int root) override {
    if (world_ == 1) return;
    std::uint64_t size = data.size();
    guarded("a broadcast from rank " + std::to_string(root), [&] {
      gloo::BroadcastOptions opts(context_);
      opts.setOutput(&size, 1);
      opts.setRoot(root);
      opts.setTag(kTagLengths);
      gloo::broadcast(opts);
    });
    data.resize(std::size_t(size));
    if (size == 0) return;
    guarded("a broadcast from rank " + std::to_string(root), [&] {
      gloo::BroadcastOptions opts(context_);
      opts.setOutput(data.data(), data.size());
      opts.setRoot(root);
      opts.setTag(kTagBroadcast);
      gloo::broadcast(opts);
    });
  }

  std::vector<std::string> all_gather(const std::string& mine) override {
    if (world_ == 1) return {mine};
    const std::size_t w = std::size_t(world_);
    std::vector<std::uint64_t> lengths(w);
    std::uint64_t own = mine.size();
    guarded("the start-up check", [&] {
      gloo::AllgatherOptions opts(context_);
      opts.setInput(&own, 1);
      opts.setOutput(lengths.data(), w);
      opts.setTag(kTagLengths);
      gloo::allgather(opts);
    });
    const std::size_t longest = std::max<std::size_t>(1, *std::max_element(lengths.begin(), lengths.end()));
    std::vector<char> in(longest, 0), out(longest * w);
    std::copy(mine.begin(), mine.end(), in.begin());
    guarded("the start-up check", [&] {
      gloo::AllgatherOptions opts(context_);
      opts.setInput(in.data(), in.size());
      opts.setOutput(out.data(), out.size());
      opts.setTag(kTagGather);
      gloo::allgather(opts);
    });
    std::vector<std::string> all;
    for (std::size_t r = 0; r < w; ++r)
      all.emplace_back(out.data() + r * longest, std::size_t(lengths[r]));
    return all;
  }

 private:
  // Gloo's exceptions become one Error saying which collective and why.
  template <class F>
  void guarded(const std::string& what, F&& f) {
    try {
      f();
    } catch (const gloo::IoException& e) {
      const std::string m = e.what();
      const bool timed_out = m.find("imed out") != std::string::npos;
      throw Error("rank " + std::to_string(rank_) + ": " + what + " failed: " +
                  (timed_out ? "no answer from the other ranks within " + seconds_text(timeout_) +
                                   " (a rank stalled)"
                             : "another rank is gone") +
                  " [" + m + "]");
    } catch (const gloo::Exception& e) {
      throw Error("rank " + std::to_string(rank_) + ": " + what + " failed: " + e.what());
    } catch (const gloo::EnforceNotMet& e) {
      throw Error("rank " + std::to_string(rank_) + ": " + what + " failed: " + e.what());
    }
  }

  int rank_, world_;
  std::chrono::milliseconds timeout_;
  std::shared_ptr<dist::TcpStoreServer> server_;
  std::shared_ptr<gloo::rendezvous::Context> context_;
  std::vector<float> send_, received_, mine_;
};

}  // namespace

std::unique_ptr<Collective> join_gloo(const JoinSpec& spec) {
  if (spec.world < 1 || spec.rank < 0 || spec.rank >= spec.world)
    throw InputError("rank " + std::to_string(spec.rank) + " is not in a world of " +
                     std::to_string(spec.world));
  JoinSpec s = spec;
  if (s.interface_host.empty())
    s.interface_host = loopback(s.store_host) ? "127.0.0.1" : [] {
      char name[256] = {};
      ::gethostname(name, sizeof name - 1);
      return std::string(name);
    }();
  return std::make_unique<GlooCollective>(s, nullptr);
}

std::vector<std::unique_ptr<Collective>> gloo_group_in_process(int world,
                                                              std::chrono::milliseconds timeout) {
  auto server = std::make_shared<dist::TcpStoreServer>("127.0.0.1", 0);
  std::vector<std::unique_ptr<Collective>> group(static_cast<std::size_t>(world));
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(world));
  std::vector<std::thread> threads;
  for (int r = 0; r < world; ++r)
    threads.emplace_back([&, r] {
      try {
        JoinSpec s;
        s.rank = r;
        s.world = world;
        s.store_port = server->port();
        s.timeout = timeout;
        group[std::size_t(r)] = std::make_unique<GlooCollective>(s, server);
      } catch (...) {
        errors[std::size_t(r)] = std::current_exception();
      }
    });
  for (std::thread& t : threads) t.join();
  for (const std::exception_ptr& e : errors)
    if (e) std::rethrow_exception(e);
  return group;
}

}  // namespace mantissa
