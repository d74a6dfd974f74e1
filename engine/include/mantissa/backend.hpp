#pragma once
// The Backend interface: everything that touches device memory or does
// arithmetic on tensors. It is shaped for an asynchronous GPU: every op is
// enqueued and returns without reading results back. The scalars a training
// step needs (loss, non-finite flag, loss scale) live in backend tensors and
// reach the host only through download(), once per step, batched.
//
// Conventions for every op:
//  * Tensors are dense row-major; images are NCHW, convolution weights OIHW.
//  * Arithmetic is done in fp32 whatever the storage dtype; results are rounded
//    to the output tensor's dtype with PRECISION.md's round-to-nearest-even.
//  * Output tensors are allocated by the caller with the right shape; ops
//    overwrite them unless the parameter is called `beta`/`accumulate`.
//  * Gradients of parameters (dw, dbias, dgamma, dbeta) are always fp32.
//  * Shape or dtype misuse is a programmer error (MANTISSA_ASSERT).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "mantissa/optim.hpp"
#include "mantissa/tensor.hpp"

namespace mantissa {

struct MemoryStats {
  std::size_t in_use = 0;         // bytes held by live tensors
  std::size_t peak = 0;           // high-water mark of in_use since the last reset
  std::size_t reserved = 0;       // bytes the allocator keeps (in_use + cached)
  std::size_t driver_in_use = 0;  // device-wide use as the driver reports it (0 if unknown)
  std::size_t driver_total = 0;   // device capacity (0 if unknown)
};

// Which implementation ran an op, per shape: a backend that chooses between
// a library's fused or tuned path and a fallback reports its choices, so a
// run shows what actually ran (CudaBackend: cuBLASLt epilogues, cuDNN
// algorithms and math types).
struct OpPath {
  std::string op;          // "linear_forward", "conv2d_backward_data", ...
  std::string shape;       // "128x784 @ 784x512ᵀ f16 -> f16"
  std::string path;        // "cuBLASLt, bias+relu epilogue" / "unfused: ..."
  bool fallback = false;   // the path designed for this op could not be taken
  std::int64_t calls = 0;  // calls made (a recorded step's ops count once, replays not)
};

enum class Activation { Relu, LeakyRelu, Gelu, Tanh, Sigmoid };
// Whether an activation's derivative is computed from its output y (Tanh,
// Sigmoid) rather than from its input x (the rest): the one tensor a layer
// keeps for backward.
constexpr bool activation_reads_output(Activation act) {
  return act == Activation::Tanh || act == Activation::Sigmoid;
}
enum class PoolKind { Max, Avg };

struct Conv2dParams {
  int stride_h = 1, stride_w = 1;
  int pad_h = 0, pad_w = 0;
};

struct Pool2dParams {
  int kernel_h = 2, kernel_w = 2;
  int stride_h = 2, stride_w = 2;
  int pad_h = 0, pad_w = 0;  // average pooling excludes padding from the divisor
};

class Collective;
class DeviceCollective;

class Backend {
 public:
  virtual ~Backend() = default;
  Backend() = default;
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  virtual std::string name() const = 0;         // "cpu", "cuda:0"
  virtual std::string description() const = 0;  // "AMD EPYC 9B14 (2 threads)"
  virtual bool native_bf16() const = 0;         // bf16 GEMM/conv without emulation
  virtual bool native_f16() const = 0;          // fp16 GEMM/conv without emulation

  // ---- memory -------------------------------------------------------------
  // Throws OutOfMemoryError naming the request and what is already held.
  virtual void* allocate(std::size_t bytes) = 0;
  virtual void deallocate(void* ptr, std::size_t bytes) noexcept = 0;
  virtual MemoryStats memory_stats() const = 0;
  virtual void reset_peak_memory() = 0;
  // Whether tensor memory is host memory the caller may read and write
  // directly once the ops before have run (a collective reduces it in place
  // instead of through download() and upload()).
  virtual bool host_memory() const { return false; }
  // Host <-> device copies of raw bytes. upload may return before the copy is
  // done only if the host buffer stays valid until synchronize().
  virtual void upload(void* dst, const void* host_src, std::size_t bytes) = 0;
  virtual void download(void* host_dst, const void* src, std::size_t bytes) = 0;  // waits
  virtual void synchronize() = 0;

  // ---- elementwise and data movement --------------------------------------
  virtual void fill(Tensor& t, float value) = 0;
  // dst = src, converting dtype (same numel, shapes may differ).
  virtual void cast(const Tensor& src, Tensor& dst) = 0;
  // out = a + b (same numel; dtypes may differ, the sum is formed in fp32).
  virtual void add(const Tensor& a, const Tensor& b, Tensor& out) = 0;
  // dst += src (same numel; gradient accumulation, dst usually fp32).
  virtual void accumulate(const Tensor& src, Tensor& dst) = 0;
  // t *= s
  virtual void scale(Tensor& t, float s) = 0;
  // y = act(x); alpha is LeakyReLU's negative slope. GELU is the exact erf form.
  virtual void activation_forward(Activation act, float alpha, const Tensor& x, Tensor& y) = 0;
  // dx = dy * act'(x), read from x or from y = act(x) as
  // activation_reads_output() says; the other one may be an empty tensor.
  virtual void activation_backward(Activation act, float alpha, const Tensor& x, const Tensor& y,
                                   const Tensor& dy, Tensor& dx) = 0;
  // Inverted dropout: mask[i] = keep ? 1/(1-p) : 0 drawn from (seed, i) only,
  // so every backend draws the same mask; y = x * mask. mask has x's shape.
  // With `state` (the run's step-state tensor, see step_state_of()) the seed
  // is first mixed with its steps_taken, read where the op runs, so a
  // captured step sees each replay's value: seed' = SplitMix64 output number
  // steps_taken of `seed`.
  virtual void dropout_forward(const Tensor& x, Tensor& y, Tensor& mask, float p,
                               std::uint64_t seed, const Tensor* state) = 0;
  // dx = dy * mask
  virtual void mul(const Tensor& a, const Tensor& b, Tensor& out) = 0;
  // Concatenate along axis 1 (channels / features); inputs share all other dims.
  virtual void concat(std::span<const Tensor> xs, Tensor& y) = 0;
  // Split dy along axis 1 into the dxs (their axis-1 sizes add up to dy's).
  virtual void split(const Tensor& dy, std::span<Tensor> dxs) = 0;

  // ---- dense --------------------------------------------------------------
  // c = op(a) @ op(b) + beta * c for 2-D a, b (op = transpose when flagged).
  // a and b share a dtype; products accumulate in fp32; c is fp32 or a's dtype.
  virtual void matmul(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, Tensor& c,
                      float beta) = 0;
  // y[n, c, ...] += bias[c] (bias fp32, y any dtype; axis 1 is the channel axis).
  virtual void bias_add(Tensor& y, const Tensor& bias) = 0;
  // dbias[c] = sum of dy over every axis but 1, + beta * dbias (dbias fp32).
  virtual void bias_grad(const Tensor& dy, Tensor& dbias, float beta) = 0;
  // A Linear layer's matmul with its bias and, when `relu`, the ReLU that
  // follows it, which a backend may fuse (the CUDA backend runs them in one
  // cuBLASLt call, bias and ReLU in its epilogue): y (N, out) = x (N, in) @
  // wᵀ (w: (out, in)) + bias (fp32, out; or none), products and bias summed
  // in fp32 and rounded to y's dtype once; ReLU commutes with that rounding.
  virtual void linear_forward(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& y,
                              bool relu);
  // dw (out, in, fp32) = dyᵀ @ x and, when dbias is given, dbias (fp32, out) =
  // sums of dy's rows; both overwritten (cuBLASLt: the bias gradient epilogue).
  virtual void linear_backward_weights(const Tensor& dy, const Tensor& x, Tensor& dw,
                                       Tensor* dbias);

  // ---- sequences and attention ---------------------------------------------
  // c[i] = alpha * op(a[i]) @ op(b[i]) + beta * c[i] for each i of the leading
  // (batch) axis of 3-D a, b, c. a and b share a dtype; products accumulate in
  // fp32; c is fp32 or a's dtype (the scores of attention stay fp32).
  virtual void batched_matmul(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b,
                              Tensor& c, float alpha, float beta) = 0;
  // y[a, c, b, d] = x[a, b, c, d] for 4-D x (heads in and out of the batch).
  virtual void swap_axes12(const Tensor& x, Tensor& y) = 0;
  // Softmax over the last axis in fp32, of x * scale; x and y any dtype. With
  // `causal`, x is (B, T, T) and element j of row i is masked (-inf before the
  // softmax, exactly 0 after) when j > i.
  virtual void softmax_forward(const Tensor& x, Tensor& y, float scale, bool causal) = 0;
  // dx = scale * y * (dy - sum(dy * y)) per row of the last axis, in fp32.
  virtual void softmax_backward(const Tensor& y, const Tensor& dy, Tensor& dx, float scale) = 0;
  // out (M, C) = rows `ids` (M, fp32 holding integers in [0, V)) of table (V, C);
  // out has the table's dtype.
  virtual void embedding_forward(const Tensor& table, const Tensor& ids, Tensor& out) = 0;
  // dtable (V, C, fp32) = for each id, the sum of dout's rows that looked it
  // up, in the order of their positions (so every backend gives the same
  // bits); rows never looked up are 0. Overwritten.
  virtual void embedding_backward(const Tensor& ids, const Tensor& dout, Tensor& dtable) = 0;
  // Group norm over x (N, C, S...) in `groups` groups of C / groups channels,
  // every tensor fp32 (a forced-fp32 op); gamma, beta (C); save_mean and
  // save_invstd (N, groups).
  virtual void groupnorm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                 Tensor& y, Tensor& save_mean, Tensor& save_invstd,
                                 std::int64_t groups, float eps) = 0;
  virtual void groupnorm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma,
                                  const Tensor& save_mean, const Tensor& save_invstd, Tensor& dx,
                                  Tensor& dgamma, Tensor& dbeta, std::int64_t groups) = 0;

  // ---- convolution (x NCHW, w OIHW; x, w, y share a dtype; bias is fp32) --
  virtual void conv2d_forward(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& y,
                              const Conv2dParams& p) = 0;
  virtual void conv2d_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx,
                                    const Conv2dParams& p) = 0;
  // dw (fp32, OIHW) and optionally dbias (fp32) are overwritten.
  virtual void conv2d_backward_weights(const Tensor& x, const Tensor& dy, Tensor& dw, Tensor* dbias,
                                       const Conv2dParams& p) = 0;

  // ---- pooling (x, y, dy, dx share a dtype) -------------------------------
  // `workspace` is backend-private state the backward pass may need (e.g. the
  // argmax of max pooling); pass an empty Tensor, the backend fills it in.
  virtual void pool2d_forward(PoolKind kind, const Tensor& x, Tensor& y, Tensor& workspace,
                              const Pool2dParams& p) = 0;
  virtual void pool2d_backward(PoolKind kind, const Tensor& x, const Tensor& y, const Tensor& dy,
                               const Tensor& workspace, Tensor& dx, const Pool2dParams& p) = 0;

  // ---- normalisation ------------------------------------------------------
  // Sums per-channel partial sums over the ranks of a data-parallel step, in
  // place, as fp32 (synchronised BatchNorm, PRECISION.md); every rank gets
  // the same bits. The batch-norm ops below call it with the sums of their
  // own rows: the forward pass twice, with C + 1 values (sum of x, then the
  // row count) and then C (squared deviations from the global mean), the
  // backward pass once with 2C + 1 (sum of dy, of dy * xhat, the row count).
  // A rank without rows calls both ops with an empty batch (N = 0): it
  // joins the sums with zeros and keeps the same running statistics.
  using RankSum = std::function<void(std::span<float>)>;

  // Batch norm over (N, C) or (N, C, H, W): x/y/dy/dx in the activation dtype,
  // gamma, beta, running and saved statistics fp32. Training mode uses batch
  // statistics, updates running_* with `momentum` (PyTorch convention:
  // running = (1 - momentum) * running + momentum * batch; unbiased variance),
  // and saves mean and 1/sqrt(var + eps) for backward. With `across` the
  // batch is every rank's rows together (statistics, and the input gradient's
  // means); dgamma and dbeta stay this rank's share, to be summed with the
  // other gradients. Only host-memory backends take `across`.
  virtual void batchnorm_forward_train(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                       Tensor& y, Tensor& running_mean, Tensor& running_var,
                                       Tensor& save_mean, Tensor& save_invstd, float momentum,
                                       float eps, const RankSum* across) = 0;
  virtual void batchnorm_forward_infer(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                       const Tensor& running_mean, const Tensor& running_var,
                                       Tensor& y, float eps) = 0;
  virtual void batchnorm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma,
                                  const Tensor& save_mean, const Tensor& save_invstd, Tensor& dx,
                                  Tensor& dgamma, Tensor& dbeta, const RankSum* across) = 0;
  // Layer norm over the last axis; every tensor fp32 (a forced-fp32 op).
  // save_mean / save_invstd have one value per row.
  virtual void layernorm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                 Tensor& y, Tensor& save_mean, Tensor& save_invstd, float eps) = 0;
  virtual void layernorm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma,
                                  const Tensor& save_mean, const Tensor& save_invstd, Tensor& dx,
                                  Tensor& dgamma, Tensor& dbeta) = 0;

  // ---- losses (computed in fp32, fp32 scalar out) ---------------------------
  // logits (N, C, any dtype: 16-bit logits are widened exactly, value by
  // value, so they need no fp32 copy), labels (N) fp32 holding class indices.
  // loss (1) = mean cross-entropy (unscaled). dlogits (N, C, any dtype) =
  // (softmax - onehot) / N * scale[0], computed in fp32 and rounded to
  // dlogits' dtype; scale is a one-element fp32 tensor so the loss scale never
  // leaves the device.
  virtual void softmax_cross_entropy(const Tensor& logits, const Tensor& labels, Tensor& loss,
                                     Tensor& dlogits, const Tensor& scale) = 0;
  // pred, target (N, D) fp32. loss (1) = mean over all elements of (pred -
  // target)^2; dpred = 2 (pred - target) / (N*D) * scale[0].
  virtual void mse_loss(const Tensor& pred, const Tensor& target, Tensor& loss, Tensor& dpred,
                        const Tensor& scale) = 0;
  // correct[0] += number of rows whose argmax (first maximum) equals the label.
  virtual void count_correct(const Tensor& logits, const Tensor& labels, Tensor& correct) = 0;

  // ---- mixed-precision machinery ------------------------------------------
  // One pass over all gradients: g *= 1/scale[0] (inv formed as
  // float(1.0 / double(S))), in place, whether or not a value is non-finite.
  // found_inf (1, fp32) is set to 1 + the index of the first gradient tensor
  // that held a non-finite value, or left as it is (the caller zeroes it).
  virtual void unscale_and_check(std::span<const Tensor> grads, const Tensor& scale,
                                 Tensor& found_inf) = 0;
  // out[0] = sum over all grads of g^2 (fp32 accumulate).
  virtual void sum_squares(std::span<const Tensor> grads, Tensor& out) = 0;
  // unscale_and_check() and then sum_squares() of the unscaled gradients, in
  // one pass over memory (the training step's hot path).
  virtual void unscale_check_and_norm(std::span<const Tensor> grads, const Tensor& scale,
                                      Tensor& found_inf, Tensor& sum_squares) = 0;

  // ---- per-tensor numerics (numerics_bits.hpp) -----------------------------
  // Range statistics of x from its values' fp32 bit patterns: the
  // numerics_bits::kWords words are written over `stats` (a kWords-element
  // fp32 tensor whose storage is read as uint32 words). With `histogram`
  // (kBins words, likewise) and a non-zero first word of `enable`, read where
  // the op runs (so a captured step follows each replay's flag), the binade
  // histogram is written too; otherwise `histogram` is left as it is. Every
  // word is an exact integer: all backends give the same words.
  virtual void tensor_stats(const Tensor& x, Tensor& stats, Tensor* histogram,
                            const Tensor* enable) = 0;

  // The same statistics, asked of an op that reads or writes the tensor
  // anyway, so that a backend can count each value in the op's own pass over
  // memory instead of a second one. Each target may be null; every non-null
  // target is written, with the same words as tensor_stats would write. The
  // defaults run the plain op and tensor_stats apart.
  struct StatsTarget {
    Tensor stats;                    // kWords words, as tensor_stats' `stats`
    Tensor histogram;                // kBins words, or undefined
    const Tensor* enable = nullptr;  // as tensor_stats' `enable`
  };
  // tensor_stats on a target.
  void take_stats(const Tensor& x, StatsTarget& target);
  // activation_forward, with the statistics of x and of y.
  virtual void activation_forward_stats(Activation act, float alpha, const Tensor& x, Tensor& y,
                                        StatsTarget* x_stats, StatsTarget* y_stats);
  // activation_backward, with the statistics of dy and of dx.
  virtual void activation_backward_stats(Activation act, float alpha, const Tensor& x,
                                         const Tensor& y, const Tensor& dy, Tensor& dx,
                                         StatsTarget* dy_stats, StatsTarget* dx_stats);
  // cast, with the statistics of dst.
  virtual void cast_stats(const Tensor& src, Tensor& dst, StatsTarget* dst_stats);
  // unscale_check_and_norm, with the statistics of each gradient as it
  // arrives (before unscaling); grad_stats is empty or has one target (or
  // null) per gradient.
  virtual void unscale_check_and_norm_stats(std::span<const Tensor> grads, const Tensor& scale,
                                            Tensor& found_inf, Tensor& sum_squares,
                                            std::span<StatsTarget* const> grad_stats);

  // ---- optimizer and loss scaler: decided on device ------------------------
  // `state` is the run's step-state tensor (a StepState, step_state_of()).
  // When found_inf is set and rule.skip_on_nonfinite, nothing is written but
  // skipped_this_step = 1 and learning_rate = 0: masters, moments and the
  // step counter stay bit-identical. Otherwise: clip by the global norm from
  // grad_sum_squares, update every master (in its own dtype) and its
  // optimizer state with rule.optimizer's update (src/optim/step_rules.hpp),
  // with the LR of the schedule at optimizer_steps, which then advances.
  // `slots` holds optimizer_slots(rule.optimizer) state tensors per master,
  // slot by slot: slots[k * masters.size() + i] is master i's slot k (SGD:
  // the momentum buffer; Adam, AdamW: the first and second moments), in the
  // master's dtype. decay[i] says whether weight decay applies to master i.
  virtual void optimizer_step(std::span<const Tensor> masters, std::span<const Tensor> grads,
                              std::span<const Tensor> slots, std::span<const std::uint8_t> decay,
                              Tensor& state, const OptimizerRule& rule) = 0;
  // PRECISION.md steps 4-5 for the scale: records scale_used, then backs off
  // (skip counts, tracker reset) or grows after growth_interval clean steps.
  virtual void update_loss_scale(Tensor& state, const ScalerRule& rule) = 0;
  // The step's weight fingerprint (src/optim/fingerprint_rule.hpp, for
  // docs/divergence.md): over `weights` (the masters, any dtype), the
  // checksum of their bits, each one's sum of squares, and the sum of squares
  // of weights[k] - previous[k] (the update), after which previous[k] =
  // weights[k]. `out` is fingerprint_words(weights.size()) fp32 words,
  // overwritten. With `previous` empty the update word is 0.
  virtual void weight_fingerprint(std::span<const Tensor> weights,
                                  std::span<const Tensor> previous, Tensor& out) = 0;

  // ---- asynchronous read-back ---------------------------------------------
  // begin_download() enqueues a copy of `bytes` (at most kMaxAsyncReadBytes)
  // of device memory behind the work already enqueued and returns a ticket at
  // once; finish_download() waits for that copy alone and writes the bytes to
  // host_dst. At most kMaxAsyncReads tickets are open at a time (beginning
  // one more throws Error); each is finished exactly once, in any order. The
  // trainer reads step t's scalars while step t + 1 runs. This default copies
  // at begin_download() (with download()), which is right for a backend whose
  // ops have finished when they return.
  // The step's scalars (a StepState) and its per-tensor numerics, for two
  // steps in flight.
  static constexpr std::size_t kMaxAsyncReadBytes = std::size_t(1) << 20;
  static constexpr std::size_t kMaxAsyncReads = 8;
  virtual std::uint64_t begin_download(const void* src, std::size_t bytes);
  virtual void finish_download(std::uint64_t ticket, void* host_dst);
  // Whether finish_download(ticket) would return without waiting, i.e. the
  // work enqueued before the read has run. The trainer times a step by it.
  virtual bool download_ready(std::uint64_t ticket);

  // ---- step capture (CUDA graphs) -----------------------------------------
  // A backend that can record a fixed sequence of ops once and run it again
  // says so in can_capture(). Between begin_capture() and end_capture() ops
  // are recorded, not run, so nothing in that sequence may depend on the
  // host: upload(), download(), begin_download() and synchronize() throw
  // Error there. Every block allocated or freed while recording stays
  // reserved for the recording (it reads and writes those addresses on every
  // replay) until discard_capture(), whoever frees it and when. replay() runs
  // the recorded ops once, in order, on the memory's current contents. One
  // recording per backend; begin_capture() discards an earlier one. If
  // end_capture() throws, nothing was recorded and the ops were not run;
  // discard_capture() also abandons a recording still in progress.
  virtual bool can_capture() const { return false; }
  virtual void begin_capture();  // default: throws Error (cannot capture)
  virtual void end_capture();
  virtual void replay();
  virtual void discard_capture() {}
  virtual bool capturing() const { return false; }

  // ---- data parallel --------------------------------------------------------
  // A sum of this backend's device memory across the ranks of `host` on its
  // own stream (NCCL on CUDA), joined through `host` (which carries the
  // rendezvous and the timeout). nullptr, with the reason in `why_not`, where
  // there is none: then the step sums through host memory over `host`.
  virtual std::unique_ptr<DeviceCollective> join_device_collective(Collective& host,
                                                                   std::string* why_not);

  // Which implementation each library-backed op took, per shape (empty
  // where a backend has only one way to run each op).
  virtual std::vector<OpPath> op_paths() const { return {}; }

 private:
  // The default begin_download()'s copies, waiting for finish_download().
  std::vector<std::pair<std::uint64_t, std::vector<std::uint8_t>>> early_reads_;
  std::uint64_t next_read_ticket_ = 1;
};

// The registry: the one place that knows which backends were compiled in.
struct DeviceInfo {
  std::string name;         // "cpu", "cuda:0"
  std::string description;  // model, cores / memory
  bool available = false;   // compiled in and usable now
  std::string reason;       // why not, when unavailable
};

std::vector<DeviceInfo> list_devices();
// Choices a backend makes once, when it is created.
struct BackendOptions {
  // fp32 matmuls and convolutions on TF32 tensor cores (CUDA on Ampere and
  // later): faster, with 10-bit mantissa products. Off unless the user opts
  // in, so float32 means fp32 as on the CPU. The CPU backend ignores it.
  bool allow_tf32 = false;
};

// "cpu", "cuda", "cuda:N". Throws InputError naming the choice and the reason.
std::unique_ptr<Backend> create_backend(const std::string& name,
                                        const BackendOptions& options = {});

// The run's step state (step_state.hpp) as the tensor that holds it on a
// backend: sizeof(StepState) bytes of storage, typed fp32 so its fp32 fields
// can be viewed as one-element tensors (step_state_word). make_step_state()
// uploads `init`; step_state_of() is the struct in the backend's memory (the
// device's, for a GPU backend: pass it to a kernel, do not read it on the
// host) and checks the tensor's size; read/write copy it (waiting).
Tensor make_step_state(Backend& backend, const StepState& init);
StepState* step_state_of(const Tensor& state);
StepState read_step_state(const Tensor& state);
void write_step_state(Tensor& state, const StepState& value);

}  // namespace mantissa
