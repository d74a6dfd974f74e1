#pragma once
// A backend that captures the way CUDA graphs do, over the CPU backend, so
// the step-capture contract (backend.hpp) and TrainingStep's use of it can be
// tested on any machine: between begin_capture() and end_capture() every op
// is recorded and not run; replay() runs the recording; host traffic while
// recording is an error; blocks allocated or freed while recording stay
// reserved until discard_capture(). Ops listed in `refuse` throw while
// recording (a capture that fails).
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "mantissa/backend.hpp"
#include "mantissa/error.hpp"

namespace mantissa::testing {

class RecordingBackend final : public Backend {
 public:
  explicit RecordingBackend(std::unique_ptr<Backend> inner) : inner_(std::move(inner)) {}
  ~RecordingBackend() override { discard_capture(); }

  int captures = 0;          // end_capture() calls that succeeded
  int replays = 0;           // replay() calls
  std::size_t host_ops = 0;  // upload / download / begin_download calls (outside recording)
  std::set<std::string> refuse;  // op names that cannot be recorded
  std::map<std::string, int> calls;  // op name -> calls made (recorded or run)
  std::size_t ops_recorded = 0;  // by the last successful capture
  std::size_t reserved_blocks() const { return reserved_.size(); }

  std::string name() const override { return "recording-" + inner_->name(); }
  std::string description() const override { return inner_->description(); }
  bool native_bf16() const override { return inner_->native_bf16(); }
  bool native_f16() const override { return inner_->native_f16(); }

  void* allocate(std::size_t bytes) override {
    void* p = inner_->allocate(bytes);
    if (recording_) recorded_blocks_.insert(p);
    return p;
  }
  void deallocate(void* ptr, std::size_t bytes) noexcept override {
    if (recording_ || recorded_blocks_.count(ptr) != 0) {
      reserved_.emplace_back(ptr, bytes);  // a recording may still use it
      return;
    }
    inner_->deallocate(ptr, bytes);
  }
  MemoryStats memory_stats() const override { return inner_->memory_stats(); }
  void reset_peak_memory() override { inner_->reset_peak_memory(); }
  void upload(void* dst, const void* src, std::size_t bytes) override {
    host("upload");
    inner_->upload(dst, src, bytes);
  }
  void download(void* dst, const void* src, std::size_t bytes) override {
    host("download");
    inner_->download(dst, src, bytes);
  }
  // Behave like a GPU that runs ahead: a read is never reported ready before
  // it is finished (the trainer then reads each step a step late).
  bool runs_ahead = false;
  bool download_ready(std::uint64_t ticket) override {
    return !runs_ahead && Backend::download_ready(ticket);
  }
  std::uint64_t begin_download(const void* src, std::size_t bytes) override {
    host("begin_download");
    return Backend::begin_download(src, bytes);
  }
  void synchronize() override {
    if (recording_) throw Error("synchronize() while recording");
    inner_->synchronize();
  }

  bool can_capture() const override { return true; }
  bool capturing() const override { return recording_; }
  void begin_capture() override {
    discard_capture();
    recording_ = true;
  }
  void end_capture() override {
    MANTISSA_ASSERT(recording_, "end_capture() without begin_capture()");
    recording_ = false;
    ++captures;
    ops_recorded = ops_.size();
  }
  void replay() override {
    MANTISSA_ASSERT(!recording_ && captures > 0, "nothing recorded to replay");
    for (auto& op : ops_) op();
    ++replays;
  }
  void discard_capture() override {
    recording_ = false;
    ops_.clear();  // drops the recorded tensors: their blocks land in reserved_
    for (auto& [p, bytes] : reserved_) inner_->deallocate(p, bytes);
    reserved_.clear();
    recorded_blocks_.clear();
  }

#define MANTISSA_RECORD(NAME, CALL)                      \
  do {                                                   \
    ++calls[NAME];                                       \
    if (recording_) {                                    \
      if (refuse.count(NAME) != 0)                       \
        throw Error(std::string(NAME) + " cannot be recorded"); \
      ops_.push_back([=, this]() mutable { CALL; });     \
      return;                                            \
    }                                                    \
    CALL;                                                \
  } while (0)

  void fill(Tensor& t, float v) override { MANTISSA_RECORD("fill", inner_->fill(t, v)); }
  void cast(const Tensor& s, Tensor& d) override { MANTISSA_RECORD("cast", inner_->cast(s, d)); }
  void add(const Tensor& a, const Tensor& b, Tensor& o) override {
    MANTISSA_RECORD("add", inner_->add(a, b, o));
  }
  void accumulate(const Tensor& s, Tensor& d) override {
    MANTISSA_RECORD("accumulate", inner_->accumulate(s, d));
  }
  void scale(Tensor& t, float s) override { MANTISSA_RECORD("scale", inner_->scale(t, s)); }
  void activation_forward(Activation act, float alpha, const Tensor& x, Tensor& y) override {
    MANTISSA_RECORD("activation_forward", inner_->activation_forward(act, alpha, x, y));
  }
  void activation_backward(Activation act, float alpha, const Tensor& x, const Tensor& y,
                           const Tensor& dy, Tensor& dx) override {
    MANTISSA_RECORD("activation_backward", inner_->activation_backward(act, alpha, x, y, dy, dx));
  }
  void dropout_forward(const Tensor& x, Tensor& y, Tensor& mask, float p, std::uint64_t seed,
                       const Tensor* state) override {
    Tensor s = state != nullptr ? *state : Tensor();
    if (state != nullptr) ++calls["dropout_forward+step"];
    MANTISSA_RECORD("dropout_forward",
                    inner_->dropout_forward(x, y, mask, p, seed, s.defined() ? &s : nullptr));
  }
  void mul(const Tensor& a, const Tensor& b, Tensor& o) override {
    MANTISSA_RECORD("mul", inner_->mul(a, b, o));
  }
  void concat(std::span<const Tensor> xs, Tensor& y) override {
    std::vector<Tensor> v(xs.begin(), xs.end());
    MANTISSA_RECORD("concat", inner_->concat(v, y));
  }
  void split(const Tensor& dy, std::span<Tensor> dxs) override {
    std::vector<Tensor> v(dxs.begin(), dxs.end());
    MANTISSA_RECORD("split", inner_->split(dy, v));
  }
  void matmul(const Tensor& a, bool ta, const Tensor& b, bool tb, Tensor& c,
              float beta) override {
    MANTISSA_RECORD("matmul", inner_->matmul(a, ta, b, tb, c, beta));
  }
  void bias_add(Tensor& y, const Tensor& bias) override {
    MANTISSA_RECORD("bias_add", inner_->bias_add(y, bias));
  }
  void bias_grad(const Tensor& dy, Tensor& db, float beta) override {
    MANTISSA_RECORD("bias_grad", inner_->bias_grad(dy, db, beta));
  }
  void linear_forward(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& y,
                      bool relu) override {
    Tensor b = bias != nullptr ? *bias : Tensor();
    if (relu) ++calls["linear_forward+relu"];
    MANTISSA_RECORD("linear_forward",
                    inner_->linear_forward(x, w, b.defined() ? &b : nullptr, y, relu));
  }
  void linear_backward_weights(const Tensor& dy, const Tensor& x, Tensor& dw,
                               Tensor* dbias) override {
    Tensor db = dbias != nullptr ? *dbias : Tensor();
    MANTISSA_RECORD("linear_backward_weights",
                    inner_->linear_backward_weights(dy, x, dw, db.defined() ? &db : nullptr));
  }
  void conv2d_forward(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& y,
                      const Conv2dParams& p) override {
    Tensor b = bias != nullptr ? *bias : Tensor();
    MANTISSA_RECORD("conv2d_forward",
                    inner_->conv2d_forward(x, w, b.defined() ? &b : nullptr, y, p));
  }
  void conv2d_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx,
                            const Conv2dParams& p) override {
    MANTISSA_RECORD("conv2d_backward_data", inner_->conv2d_backward_data(dy, w, dx, p));
  }
  void conv2d_backward_weights(const Tensor& x, const Tensor& dy, Tensor& dw, Tensor* dbias,
                               const Conv2dParams& p) override {
    Tensor db = dbias != nullptr ? *dbias : Tensor();
    MANTISSA_RECORD("conv2d_backward_weights",
                    inner_->conv2d_backward_weights(x, dy, dw, db.defined() ? &db : nullptr, p));
  }
  // The CPU backend allocates the workspace inside the call, which a
  // recording cannot hand back to the caller: pooling is refused while
  // recording (the CUDA backend allocates it at record time instead).
  void pool2d_forward(PoolKind kind, const Tensor& x, Tensor& y, Tensor& ws,
                      const Pool2dParams& p) override {
    if (recording_) throw Error("pool2d_forward cannot be recorded by the test backend");
    inner_->pool2d_forward(kind, x, y, ws, p);
  }
  void pool2d_backward(PoolKind kind, const Tensor& x, const Tensor& y, const Tensor& dy,
                       const Tensor& ws, Tensor& dx, const Pool2dParams& p) override {
    MANTISSA_RECORD("pool2d_backward", inner_->pool2d_backward(kind, x, y, dy, ws, dx, p));
  }
  void batchnorm_forward_train(const Tensor& x, const Tensor& g, const Tensor& b, Tensor& y,
                               Tensor& rm, Tensor& rv, Tensor& sm, Tensor& si, float momentum,
                               float eps, const RankSum* across) override {
    MANTISSA_RECORD("batchnorm_forward_train",
                    inner_->batchnorm_forward_train(x, g, b, y, rm, rv, sm, si, momentum, eps,
                                                    across));
  }
  void batchnorm_forward_infer(const Tensor& x, const Tensor& g, const Tensor& b,
                               const Tensor& rm, const Tensor& rv, Tensor& y, float eps) override {
    MANTISSA_RECORD("batchnorm_forward_infer",
                    inner_->batchnorm_forward_infer(x, g, b, rm, rv, y, eps));
  }
  void batchnorm_backward(const Tensor& x, const Tensor& dy, const Tensor& g, const Tensor& sm,
                          const Tensor& si, Tensor& dx, Tensor& dg, Tensor& db,
                          const RankSum* across) override {
    MANTISSA_RECORD("batchnorm_backward",
                    inner_->batchnorm_backward(x, dy, g, sm, si, dx, dg, db, across));
  }
  void layernorm_forward(const Tensor& x, const Tensor& g, const Tensor& b, Tensor& y, Tensor& sm,
                         Tensor& si, float eps) override {
    MANTISSA_RECORD("layernorm_forward", inner_->layernorm_forward(x, g, b, y, sm, si, eps));
  }
  void layernorm_backward(const Tensor& x, const Tensor& dy, const Tensor& g, const Tensor& sm,
                          const Tensor& si, Tensor& dx, Tensor& dg, Tensor& db) override {
    MANTISSA_RECORD("layernorm_backward", inner_->layernorm_backward(x, dy, g, sm, si, dx, dg, db));
  }
  void batched_matmul(const Tensor& a, bool ta, const Tensor& b, bool tb, Tensor& c, float alpha,
                      float beta) override {
    MANTISSA_RECORD("batched_matmul", inner_->batched_matmul(a, ta, b, tb, c, alpha, beta));
  }
  void swap_axes12(const Tensor& x, Tensor& y) override {
    MANTISSA_RECORD("swap_axes12", inner_->swap_axes12(x, y));
  }
  void softmax_forward(const Tensor& x, Tensor& y, float scale, bool causal) override {
    MANTISSA_RECORD("softmax_forward", inner_->softmax_forward(x, y, scale, causal));
  }
  void softmax_backward(const Tensor& y, const Tensor& dy, Tensor& dx, float scale) override {
    MANTISSA_RECORD("softmax_backward", inner_->softmax_backward(y, dy, dx, scale));
  }
  void embedding_forward(const Tensor& table, const Tensor& ids, Tensor& out) override {
    MANTISSA_RECORD("embedding_forward", inner_->embedding_forward(table, ids, out));
  }
  void embedding_backward(const Tensor& ids, const Tensor& dout, Tensor& dtable) override {
    MANTISSA_RECORD("embedding_backward", inner_->embedding_backward(ids, dout, dtable));
  }
  void groupnorm_forward(const Tensor& x, const Tensor& g, const Tensor& b, Tensor& y, Tensor& sm,
                         Tensor& si, std::int64_t groups, float eps) override {
    MANTISSA_RECORD("groupnorm_forward", inner_->groupnorm_forward(x, g, b, y, sm, si, groups, eps));
  }
  void groupnorm_backward(const Tensor& x, const Tensor& dy, const Tensor& g, const Tensor& sm,
                          const Tensor& si, Tensor& dx, Tensor& dg, Tensor& db,
                          std::int64_t groups) override {
    MANTISSA_RECORD("groupnorm_backward",
                    inner_->groupnorm_backward(x, dy, g, sm, si, dx, dg, db, groups));
  }
  void softmax_cross_entropy(const Tensor& logits, const Tensor& labels, Tensor& loss,
                             Tensor& dlogits, const Tensor& s) override {
    MANTISSA_RECORD("softmax_cross_entropy",
                    inner_->softmax_cross_entropy(logits, labels, loss, dlogits, s));
  }
  void mse_loss(const Tensor& pred, const Tensor& target, Tensor& loss, Tensor& dpred,
                const Tensor& s) override {
    MANTISSA_RECORD("mse_loss", inner_->mse_loss(pred, target, loss, dpred, s));
  }
  void count_correct(const Tensor& logits, const Tensor& labels, Tensor& correct) override {
    MANTISSA_RECORD("count_correct", inner_->count_correct(logits, labels, correct));
  }
  void unscale_and_check(std::span<const Tensor> grads, const Tensor& s,
                         Tensor& found_inf) override {
    std::vector<Tensor> g(grads.begin(), grads.end());
    MANTISSA_RECORD("unscale_and_check", inner_->unscale_and_check(g, s, found_inf));
  }
  void sum_squares(std::span<const Tensor> grads, Tensor& out) override {
    std::vector<Tensor> g(grads.begin(), grads.end());
    MANTISSA_RECORD("sum_squares", inner_->sum_squares(g, out));
  }
  void unscale_check_and_norm(std::span<const Tensor> grads, const Tensor& s, Tensor& found_inf,
                              Tensor& sq) override {
    std::vector<Tensor> g(grads.begin(), grads.end());
    MANTISSA_RECORD("unscale_check_and_norm", inner_->unscale_check_and_norm(g, s, found_inf, sq));
  }
  void optimizer_step(std::span<const Tensor> masters, std::span<const Tensor> grads,
                      std::span<const Tensor> slots, std::span<const std::uint8_t> decay,
                      Tensor& state, const OptimizerRule& rule) override {
    std::vector<Tensor> a(masters.begin(), masters.end()), g(grads.begin(), grads.end()),
        b(slots.begin(), slots.end());
    std::vector<std::uint8_t> d(decay.begin(), decay.end());
    MANTISSA_RECORD("optimizer_step", inner_->optimizer_step(a, g, b, d, state, rule));
  }
  void update_loss_scale(Tensor& state, const ScalerRule& rule) override {
    MANTISSA_RECORD("update_loss_scale", inner_->update_loss_scale(state, rule));
  }
  void weight_fingerprint(std::span<const Tensor> weights, std::span<const Tensor> previous,
                          Tensor& out) override {
    std::vector<Tensor> w(weights.begin(), weights.end()), p(previous.begin(), previous.end());
    MANTISSA_RECORD("weight_fingerprint", inner_->weight_fingerprint(w, p, out));
  }
  void tensor_stats(const Tensor& x, Tensor& stats, Tensor* histogram,
                    const Tensor* enable) override {
    // By value: a recording outlives the caller's pointers.
    Tensor h = histogram != nullptr ? *histogram : Tensor();
    Tensor e = enable != nullptr ? *enable : Tensor();
    MANTISSA_RECORD("tensor_stats", inner_->tensor_stats(x, stats, h.defined() ? &h : nullptr,
                                                         e.defined() ? &e : nullptr));
  }
#undef MANTISSA_RECORD

 private:
  void host(const char* what) {
    if (recording_) throw Error(std::string(what) + "() while recording");
    ++host_ops;
  }

  std::unique_ptr<Backend> inner_;
  bool recording_ = false;
  std::vector<std::function<void()>> ops_;
  std::set<void*> recorded_blocks_;
  std::vector<std::pair<void*, std::size_t>> reserved_;
};

}  // namespace mantissa::testing
