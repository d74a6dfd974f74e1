#pragma once
// The CPU backend: oneDNN primitives for matmul, convolution and pooling, and
// OpenMP loops for everything elementwise, normalisation and losses. It is the
// reference every other backend is tested against.
//
// Memory ops are thread-safe. Ops that run oneDNN primitives serialise on the
// primitive context; the other ops keep no shared state. memory_stats() counts
// tensors; oneDNN scratchpads and the fp32 staging buffers are the backend's
// own, grow to the largest op once, and are not counted.
#include <cstdint>
#include <string>

#include "backends/cpu/cpu_allocator.hpp"
#include "backends/cpu/cpu_dnnl.hpp"
#include "mantissa/backend.hpp"

namespace mantissa::cpu {

// "AMD EPYC 9B14 (2 threads)": the CPU model and the threads ops will use.
std::string cpu_device_description();

struct CpuBackendOptions {
  // When false, bf16 matmul / convolution / pooling are computed in fp32 and
  // rounded, as on CPUs where oneDNN has no bf16 kernels (tests use this to
  // cover that path on any machine).
  bool allow_native_bf16 = true;
};

class CpuBackend final : public Backend {
 public:
  CpuBackend() : CpuBackend(CpuBackendOptions{}) {}
  explicit CpuBackend(const CpuBackendOptions& options);

  std::string name() const override { return "cpu"; }
  std::string description() const override { return description_; }
  bool native_bf16() const override { return native_bf16_; }
  bool native_f16() const override { return false; }
  bool host_memory() const override { return true; }

  // ---- memory (cpu_backend.cpp) -------------------------------------------
  void* allocate(std::size_t bytes) override { return allocator_.allocate(bytes); }
  void deallocate(void* ptr, std::size_t bytes) noexcept override {
    allocator_.deallocate(ptr, bytes);
  }
  MemoryStats memory_stats() const override { return allocator_.stats(); }
  void reset_peak_memory() override { allocator_.reset_peak(); }
  void upload(void* dst, const void* host_src, std::size_t bytes) override;
  void download(void* host_dst, const void* src, std::size_t bytes) override;
  void synchronize() override {}
  // Frees blocks cached for reuse (live tensors keep theirs).
  void release_cached_memory() { allocator_.release_cached(); }
  // Number of distinct oneDNN primitives built so far (cache entries).
  std::size_t cached_primitives();
  // The oneDNN implementation each built primitive runs, one line per
  // primitive: "matmul 2048x128x384 bf16: brg:avx512_core_bf16" (the
  // numerics manifest).
  std::vector<std::string> primitive_implementations();

  // ---- elementwise and data movement (cpu_elementwise.cpp) ----------------
  void fill(Tensor& t, float value) override;
  void cast(const Tensor& src, Tensor& dst) override;
  void add(const Tensor& a, const Tensor& b, Tensor& out) override;
  void accumulate(const Tensor& src, Tensor& dst) override;
  void scale(Tensor& t, float s) override;
  void activation_forward(Activation act, float alpha, const Tensor& x, Tensor& y) override;
  void activation_backward(Activation act, float alpha, const Tensor& x, const Tensor& y,
                           const Tensor& dy, Tensor& dx) override;
  void dropout_forward(const Tensor& x, Tensor& y, Tensor& mask, float p, std::uint64_t seed,
                       const Tensor* step) override;
  void mul(const Tensor& a, const Tensor& b, Tensor& out) override;
  void concat(std::span<const Tensor> xs, Tensor& y) override;
  void split(const Tensor& dy, std::span<Tensor> dxs) override;

  // ---- dense (cpu_dense.cpp) ----------------------------------------------
  void matmul(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, Tensor& c,
              float beta) override;
  // The bias rides in oneDNN's matmul (added before the one rounding), so no
  // fp32 temporary is needed for 16-bit outputs.
  void linear_forward(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& y,
                      bool relu) override;
  void bias_add(Tensor& y, const Tensor& bias) override;
  void bias_grad(const Tensor& dy, Tensor& dbias, float beta) override;
  void batched_matmul(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, Tensor& c,
                      float alpha, float beta) override;

  // ---- sequences and attention (cpu_sequence.cpp) -------------------------
  void swap_axes12(const Tensor& x, Tensor& y) override;
  void softmax_forward(const Tensor& x, Tensor& y, float scale, bool causal) override;
  void softmax_backward(const Tensor& y, const Tensor& dy, Tensor& dx, float scale) override;
  void embedding_forward(const Tensor& table, const Tensor& ids, Tensor& out) override;
  void embedding_backward(const Tensor& ids, const Tensor& dout, Tensor& dtable) override;
  void groupnorm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& y,
                         Tensor& save_mean, Tensor& save_invstd, std::int64_t groups,
                         float eps) override;
  void groupnorm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma,
                          const Tensor& save_mean, const Tensor& save_invstd, Tensor& dx,
                          Tensor& dgamma, Tensor& dbeta, std::int64_t groups) override;

  // ---- convolution (cpu_conv.cpp) -----------------------------------------
  void conv2d_forward(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& y,
                      const Conv2dParams& p) override;
  void conv2d_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx,
                            const Conv2dParams& p) override;
  void conv2d_backward_weights(const Tensor& x, const Tensor& dy, Tensor& dw, Tensor* dbias,
                               const Conv2dParams& p) override;

  // ---- pooling (cpu_pool.cpp) ---------------------------------------------
  void pool2d_forward(PoolKind kind, const Tensor& x, Tensor& y, Tensor& workspace,
                      const Pool2dParams& p) override;
  void pool2d_backward(PoolKind kind, const Tensor& x, const Tensor& y, const Tensor& dy,
                       const Tensor& workspace, Tensor& dx, const Pool2dParams& p) override;

  // ---- normalisation (cpu_norm.cpp) ---------------------------------------
  void batchnorm_forward_train(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& y,
                               Tensor& running_mean, Tensor& running_var, Tensor& save_mean,
                               Tensor& save_invstd, float momentum, float eps,
                               const RankSum* across) override;
  void batchnorm_forward_infer(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                               const Tensor& running_mean, const Tensor& running_var, Tensor& y,
                               float eps) override;
  void batchnorm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma,
                          const Tensor& save_mean, const Tensor& save_invstd, Tensor& dx,
                          Tensor& dgamma, Tensor& dbeta, const RankSum* across) override;
  void layernorm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& y,
                         Tensor& save_mean, Tensor& save_invstd, float eps) override;
  void layernorm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma,
                          const Tensor& save_mean, const Tensor& save_invstd, Tensor& dx,
                          Tensor& dgamma, Tensor& dbeta) override;

  // ---- losses and mixed-precision machinery (cpu_loss.cpp) ----------------
  void softmax_cross_entropy(const Tensor& logits, const Tensor& labels, Tensor& loss,
                             Tensor& dlogits, const Tensor& scale) override;
  void mse_loss(const Tensor& pred, const Tensor& target, Tensor& loss, Tensor& dpred,
                const Tensor& scale) override;
  void count_correct(const Tensor& logits, const Tensor& labels, Tensor& correct) override;
  void unscale_and_check(std::span<const Tensor> grads, const Tensor& scale,
                         Tensor& found_inf) override;
  void sum_squares(std::span<const Tensor> grads, Tensor& out) override;
  void unscale_check_and_norm(std::span<const Tensor> grads, const Tensor& scale,
                              Tensor& found_inf, Tensor& sum_squares) override;

  // ---- optimizer and loss scaler (cpu_optim.cpp) --------------------------
  void optimizer_step(std::span<const Tensor> masters, std::span<const Tensor> grads,
                      std::span<const Tensor> slots, std::span<const std::uint8_t> decay,
                      Tensor& state, const OptimizerRule& rule) override;
  void update_loss_scale(Tensor& state, const ScalerRule& rule) override;
  void weight_fingerprint(std::span<const Tensor> weights, std::span<const Tensor> previous,
                          Tensor& out) override;
  void tensor_stats(const Tensor& x, Tensor& stats, Tensor* histogram,
                    const Tensor* enable) override;
  void activation_forward_stats(Activation act, float alpha, const Tensor& x, Tensor& y,
                                StatsTarget* x_stats, StatsTarget* y_stats) override;
  void activation_backward_stats(Activation act, float alpha, const Tensor& x, const Tensor& y,
                                 const Tensor& dy, Tensor& dx, StatsTarget* dy_stats,
                                 StatsTarget* dx_stats) override;
  void cast_stats(const Tensor& src, Tensor& dst, StatsTarget* dst_stats) override;
  void unscale_check_and_norm_stats(std::span<const Tensor> grads, const Tensor& scale,
                                    Tensor& found_inf, Tensor& sum_squares,
                                    std::span<StatsTarget* const> grad_stats) override;

 private:
  // matmul() with an optional fp32 bias (N) added inside oneDNN's primitive.
  // 3-D operands multiply batch by batch; alpha scales the products.
  void matmul_with_bias(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, Tensor& c,
                        float beta, const Tensor* bias, float alpha = 1.0f);
  // Whether a oneDNN primitive runs natively in `t`, or in fp32 on staged copies.
  bool native(DType t) const { return t == DType::F32 || (t == DType::BF16 && native_bf16_); }
  // The exact GELU and its gradient on oneDNN's eltwise primitives.
  void gelu_forward(const Tensor& x, Tensor& y);
  void gelu_backward(const Tensor& x, const Tensor& dy, Tensor& dx);

  CachingAllocator allocator_;
  DnnlContext dnnl_;
  std::string description_;
  bool native_bf16_ = false;
};

}  // namespace mantissa::cpu
