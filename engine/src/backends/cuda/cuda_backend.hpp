#pragma once
// The CUDA backend: everything on one stream, nothing waits for the GPU but
// download() and synchronize(). Elementwise ops, normalisation, pooling,
// attention's softmax and head transposes, embeddings, losses, the gradient
// pass, the optimizer and the loss scaler are the backend's own kernels (one
// op per .cu / .cuh pair); matmul (batched too) runs on cuBLASLt
// and convolution on cuDNN, both with plans cached per shape. The scalars a
// step needs (scale, found_inf, step counter) never leave the device: the
// kernels read them there, so a skipped step is decided on the GPU.
//
// Host code only: this header does not leak into kernel sources, and no
// engine header outside backends/cuda/ includes it.
#include <cuda_runtime_api.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backends/cuda/cuda_allocator.hpp"
#include "backends/cuda/multi_tensor.hpp"
#include "backends/cuda/pinned_staging.hpp"
#include "mantissa/backend.hpp"

namespace mantissa::cuda {

class MatmulPlans;
struct MatmulCall;
class ConvPlans;

struct CudaBackendOptions {
  // Let fp32 matmul and convolution use TF32 tensor cores (10-bit mantissa
  // products). Off by default, so fp32 means fp32 as on the CPU.
  bool allow_tf32 = false;
  // Describe each new cuBLASLt / cuDNN plan on stderr (which algorithm,
  // fused or not); set from MANTISSA_CUDA_LOG.
  bool log_plans = false;
};

// Which GPU a backend drives; the constructor checks that it can be used
// (throwing InputError with the reason) and makes it current.
struct GpuIdentity {
  explicit GpuIdentity(int ordinal);
  int ordinal;
  std::string name;         // "cuda:0"
  std::string description;  // "NVIDIA H100 80GB HBM3 (79.1 GiB, compute 9.0)"
  int cc_major = 0, cc_minor = 0;
};

// The stream, created first and destroyed last (after everything that may
// still enqueue work or wait for it).
class Stream {
 public:
  Stream();
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  cudaStream_t get() const { return stream_; }

 private:
  cudaStream_t stream_ = nullptr;
};

class CudaBackend final : public Backend {
 public:
  // Throws InputError when the GPU cannot be used.
  explicit CudaBackend(int ordinal, const CudaBackendOptions& options = {});
  ~CudaBackend() override;

  std::string name() const override { return gpu_.name; }
  std::string description() const override { return gpu_.description; }
  bool native_bf16() const override { return gpu_.cc_major >= 8; }
  bool native_f16() const override { return gpu_.cc_major >= 7; }

  // ---- memory (cuda_backend.cpp) --------------------------------------------
  void* allocate(std::size_t bytes) override;
  void deallocate(void* ptr, std::size_t bytes) noexcept override;
  MemoryStats memory_stats() const override;
  void reset_peak_memory() override;
  void upload(void* dst, const void* host_src, std::size_t bytes) override;
  void download(void* host_dst, const void* src, std::size_t bytes) override;
  void synchronize() override;

  // ---- elementwise and data movement (cuda_backend_elementwise.cpp) ---------
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

  // ---- dense (cuda_backend_dense.cpp) ---------------------------------------
  void matmul(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, Tensor& c,
              float beta) override;
  void bias_add(Tensor& y, const Tensor& bias) override;
  void bias_grad(const Tensor& dy, Tensor& dbias, float beta) override;
  void linear_forward(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& y,
                      bool relu) override;
  void linear_backward_weights(const Tensor& dy, const Tensor& x, Tensor& dw,
                               Tensor* dbias) override;
  void batched_matmul(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, Tensor& c,
                      float alpha, float beta) override;

  // ---- sequences and attention (cuda_backend_sequence.cpp) ------------------
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

  // ---- convolution and pooling (cuda_backend_conv.cpp) ----------------------
  void conv2d_forward(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& y,
                      const Conv2dParams& p) override;
  void conv2d_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx,
                            const Conv2dParams& p) override;
  void conv2d_backward_weights(const Tensor& x, const Tensor& dy, Tensor& dw, Tensor* dbias,
                               const Conv2dParams& p) override;
  void pool2d_forward(PoolKind kind, const Tensor& x, Tensor& y, Tensor& workspace,
                      const Pool2dParams& p) override;
  void pool2d_backward(PoolKind kind, const Tensor& x, const Tensor& y, const Tensor& dy,
                       const Tensor& workspace, Tensor& dx, const Pool2dParams& p) override;

  // ---- normalisation (cuda_backend_norm.cpp) --------------------------------
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

  // ---- losses and the gradient pass (cuda_backend_loss.cpp) -----------------
  void softmax_cross_entropy(const Tensor& logits, const Tensor& labels, Tensor& loss,
                             Tensor& dlogits, const Tensor& scale) override;
  void mse_loss(const Tensor& pred, const Tensor& target, Tensor& loss, Tensor& dpred,
                const Tensor& scale) override;
  void count_correct(const Tensor& logits, const Tensor& labels, Tensor& correct) override;
  void unscale_and_check(std::span<const Tensor> grads, const Tensor& scale,
                         Tensor& found_inf) override;
  void sum_squares(std::span<const Tensor> grads, Tensor& out) override;
  void unscale_check_and_norm(std::span<const Tensor> grads, const Tensor& scale, Tensor& found_inf,
                              Tensor& sum_squares) override;

  // ---- optimizer and loss scaler (cuda_backend_optim.cpp) -------------------
  void optimizer_step(std::span<const Tensor> masters, std::span<const Tensor> grads,
                      std::span<const Tensor> slots, std::span<const std::uint8_t> decay,
                      Tensor& state, const OptimizerRule& rule) override;
  void update_loss_scale(Tensor& state, const ScalerRule& rule) override;
  void weight_fingerprint(std::span<const Tensor> weights, std::span<const Tensor> previous,
                          Tensor& out) override;

  // ---- per-tensor numerics (cuda_backend_numerics.cpp) ----------------------
  void tensor_stats(const Tensor& x, Tensor& stats, Tensor* histogram,
                    const Tensor* enable) override;

  // ---- asynchronous reads and step capture (cuda_backend.cpp) --------------
  std::uint64_t begin_download(const void* src, std::size_t bytes) override;
  void finish_download(std::uint64_t ticket, void* host_dst) override;
  bool download_ready(std::uint64_t ticket) override;
  // CUDA graphs: the stream is captured in relaxed mode (the caching
  // allocator may cudaMalloc while recording), the graph instantiated once
  // and launched on the same stream by replay().
  bool can_capture() const override { return true; }
  std::vector<OpPath> op_paths() const override;
  void begin_capture() override;
  void end_capture() override;
  void replay() override;
  void discard_capture() override;
  bool capturing() const override { return capturing_; }

  // NCCL (dist/nccl_library.hpp) on this backend's stream, where every rank
  // has it (cuda_nccl.cpp).
  std::unique_ptr<DeviceCollective> join_device_collective(Collective& host,
                                                           std::string* why_not) override;

  // ---- for tests and diagnostics --------------------------------------------
  std::size_t cached_matmul_plans() const;
  std::size_t cached_conv_plans() const;
  std::size_t timed_conv_plans() const;
  std::size_t cached_tables() const { return tables_.size(); }
  // Waits for the stream and gives cached blocks back to the driver.
  void release_cached_memory();

 private:
  // Makes this backend's GPU current on the calling thread (ops may come from
  // a worker thread other than the one that built the backend).
  void enter() const;
  cudaStream_t stream() const { return stream_.get(); }
  DeviceBuffer scratch(std::size_t bytes) { return DeviceBuffer(allocator_, bytes); }
  MatmulPlans& matmul_plans();
  // One described matmul on the stream (an empty one does nothing; K = 0 gives
  // c = beta * c).
  void run_matmul(const MatmulCall& call, Tensor& c);
  ConvPlans& conv_plans();
  TableView grad_table(std::span<const Tensor> grads);
  // Throws Error naming `what` while a step is being captured (host traffic
  // would not be part of the recording).
  void no_host_work_while_capturing(const char* what) const;

  GpuIdentity gpu_;
  CudaBackendOptions options_;
  // Declaration order is destruction order in reverse: the caches give their
  // device memory back to the allocator, which waits for the stream.
  Stream stream_;
  CudaAllocator allocator_;
  PinnedStaging staging_;
  AsyncReads reads_;
  TableCache tables_;
  std::unique_ptr<MatmulPlans> matmul_;
  std::unique_ptr<ConvPlans> conv_;
  bool capturing_ = false;
  cudaGraphExec_t graph_exec_ = nullptr;
};

}  // namespace mantissa::cuda
