// The CUDA backend's device, stream and memory, and the registry's two hooks.
#include "backends/cuda/cuda_backend.hpp"

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "backends/backend_plugin.hpp"
#include "backends/cuda/cublaslt_matmul.hpp"
#include "backends/cuda/cuda_check.hpp"
#include "backends/cuda/cudnn_conv.hpp"
#include "backends/cuda/fill.cuh"
#include "mantissa/error.hpp"

namespace mantissa {

namespace cuda {

namespace {

std::string gib(std::size_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f GiB", double(bytes) / (1024.0 * 1024.0 * 1024.0));
  return buf;
}

std::string error_text(cudaError_t e) {
  return std::string(cudaGetErrorString(e)) + " (" + cudaGetErrorName(e) + ")";
}

struct Probe {
  bool usable = false;
  std::string reason;       // when not usable
  std::string description;  // when the properties could be read
  int cc_major = 0, cc_minor = 0;
};

// Whether GPU `ordinal` can run this build's kernels. Leaves it current.
Probe probe(int ordinal) {
  Probe p;
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    cudaGetLastError();
    p.reason = "cudaGetDeviceCount failed: " + error_text(e);
    return p;
  }
  if (count == 0) {
    p.reason = "no CUDA device found";
    return p;
  }
  if (ordinal < 0 || ordinal >= count) {
    p.reason = std::to_string(count) + " CUDA device" + (count == 1 ? " is" : "s are") +
               " present (cuda:0" + (count > 1 ? " to cuda:" + std::to_string(count - 1) : "") +
               ")";
    return p;
  }
  cudaDeviceProp props{};
  cudaError_t pe = cudaGetDeviceProperties(&props, ordinal);
  if (pe == cudaSuccess) pe = cudaSetDevice(ordinal);
  if (pe != cudaSuccess) {
    cudaGetLastError();
    p.reason = "cannot use the GPU: " + error_text(pe);
    return p;
  }
  p.cc_major = props.major;
  p.cc_minor = props.minor;
  p.description = std::string(props.name) + " (" + gib(props.totalGlobalMem) + ", compute " +
                  std::to_string(props.major) + "." + std::to_string(props.minor) + ")";
  const cudaError_t ke = probe_kernel_image();
  if (ke != cudaSuccess) {
    cudaGetLastError();
    p.reason = "this build has no kernels for compute capability " + std::to_string(props.major) +
               "." + std::to_string(props.minor) + " (" + error_text(ke) +
               "); rebuild with CMAKE_CUDA_ARCHITECTURES including " +
               std::to_string(props.major * 10 + props.minor);
    return p;
  }
  p.usable = true;
  return p;
}

}  // namespace

GpuIdentity::GpuIdentity(int ordinal_in) : ordinal(ordinal_in) {
  name = "cuda:" + std::to_string(ordinal);
  const Probe p = probe(ordinal);
  if (!p.usable) {
    // "cuda" means cuda:0; name both spellings so either one is recognised.
    throw InputError("device \"" + name + "\"" + (ordinal == 0 ? " (the default \"cuda\")" : "") +
                     " is not available: " + p.reason);
  }
  description = p.description;
  cc_major = p.cc_major;
  cc_minor = p.cc_minor;
}

Stream::Stream() {
  MANTISSA_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
}

Stream::~Stream() {
  if (stream_ != nullptr) {
    cudaStreamSynchronize(stream_);
    cudaStreamDestroy(stream_);
  }
}

CudaBackend::CudaBackend(int ordinal, const CudaBackendOptions& options)
    : gpu_(ordinal),
      options_(options),
      allocator_(gpu_.name, stream_.get()),
      staging_(stream_.get()),
      reads_(stream_.get(), kMaxAsyncReads, kMaxAsyncReadBytes),
      tables_(allocator_, staging_) {}

CudaBackend::~CudaBackend() {
  // Never throws: at process exit the CUDA runtime may already be shutting down.
  cudaSetDevice(gpu_.ordinal);
  cudaStreamSynchronize(stream());
  cudaGetLastError();
  discard_capture();
  // Plans and tables hold device memory; they go before the allocator does.
  conv_.reset();
  matmul_.reset();
}

void CudaBackend::enter() const {
  MANTISSA_CUDA_CHECK(cudaSetDevice(gpu_.ordinal));
}

MatmulPlans& CudaBackend::matmul_plans() {
  if (!matmul_) matmul_ = std::make_unique<MatmulPlans>(allocator_, options_.allow_tf32, options_.log_plans);
  return *matmul_;
}

ConvPlans& CudaBackend::conv_plans() {
  if (!conv_)
    conv_ = std::make_unique<ConvPlans>(allocator_, stream(), options_.allow_tf32, capturing_,
                                        options_.log_plans);
  return *conv_;
}

std::vector<OpPath> CudaBackend::op_paths() const {
  std::vector<OpPath> out = matmul_ ? matmul_->paths() : std::vector<OpPath>{};
  if (conv_)
    for (OpPath& p : conv_->paths()) out.push_back(std::move(p));
  return out;
}

std::size_t CudaBackend::cached_matmul_plans() const {
  return matmul_ ? matmul_->size() : 0;
}
std::size_t CudaBackend::cached_conv_plans() const {
  return conv_ ? conv_->size() : 0;
}
std::size_t CudaBackend::timed_conv_plans() const {
  return conv_ ? conv_->timed_plans() : 0;
}

void* CudaBackend::allocate(std::size_t bytes) {
  enter();
  return allocator_.allocate(bytes, true);
}

void CudaBackend::deallocate(void* ptr, std::size_t) noexcept {
  allocator_.deallocate(ptr);
}

MemoryStats CudaBackend::memory_stats() const {
  enter();
  return allocator_.stats();
}

void CudaBackend::reset_peak_memory() {
  allocator_.reset_peak();
}

void CudaBackend::release_cached_memory() {
  enter();
  allocator_.release_cached();
}

void CudaBackend::no_host_work_while_capturing(const char* what) const {
  if (capturing_)
    throw Error(std::string(what) + " while a step is being captured on " + gpu_.name);
}

void CudaBackend::upload(void* dst, const void* host_src, std::size_t bytes) {
  no_host_work_while_capturing("upload()");
  if (bytes == 0) return;
  enter();
  staging_.upload(dst, host_src, bytes);
}

void CudaBackend::download(void* host_dst, const void* src, std::size_t bytes) {
  no_host_work_while_capturing("download()");
  enter();
  if (bytes > 0) {
    MANTISSA_CUDA_CHECK(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, stream()));
  }
  // Also where an error inside an earlier kernel surfaces.
  MANTISSA_CUDA_CHECK(cudaStreamSynchronize(stream()));
}

void CudaBackend::synchronize() {
  no_host_work_while_capturing("synchronize()");
  enter();
  MANTISSA_CUDA_CHECK(cudaStreamSynchronize(stream()));
}

std::uint64_t CudaBackend::begin_download(const void* src, std::size_t bytes) {
  no_host_work_while_capturing("begin_download()");
  enter();
  return reads_.begin(src, bytes);
}

void CudaBackend::finish_download(std::uint64_t ticket, void* host_dst) {
  enter();
  reads_.finish(ticket, host_dst);
}

bool CudaBackend::download_ready(std::uint64_t ticket) {
  enter();
  return reads_.ready(ticket);
}

// ---- step capture -------------------------------------------------------------

void CudaBackend::begin_capture() {
  enter();
  discard_capture();
  // Nothing from before may be in flight inside the recording's window.
  MANTISSA_CUDA_CHECK(cudaStreamSynchronize(stream()));
  allocator_.begin_reserve();
  tables_.set_recording(true);
  const cudaError_t e = cudaStreamBeginCapture(stream(), cudaStreamCaptureModeRelaxed);
  if (e != cudaSuccess) {
    tables_.set_recording(false);
    allocator_.end_reserve();
    allocator_.release_reservation();
    MANTISSA_CUDA_CHECK(e);
  }
  capturing_ = true;
}

void CudaBackend::end_capture() {
  MANTISSA_ASSERT(capturing_, "end_capture() without begin_capture()");
  enter();
  cudaGraph_t graph = nullptr;
  const cudaError_t e = cudaStreamEndCapture(stream(), &graph);
  capturing_ = false;
  tables_.set_recording(false);
  allocator_.end_reserve();
  if (e != cudaSuccess || graph == nullptr) {
    if (graph != nullptr) cudaGraphDestroy(graph);
    cudaGetLastError();
    allocator_.release_reservation();
    throw Error("capturing the step on " + gpu_.name + " failed: " +
                std::string(cudaGetErrorString(e)) + " (" + cudaGetErrorName(e) + ")");
  }
  const cudaError_t ie = cudaGraphInstantiate(&graph_exec_, graph, 0);
  cudaGraphDestroy(graph);  // the executable graph keeps what it needs
  if (ie != cudaSuccess) {
    graph_exec_ = nullptr;
    cudaGetLastError();
    allocator_.release_reservation();
    throw Error("instantiating the captured step on " + gpu_.name + " failed: " +
                std::string(cudaGetErrorString(ie)) + " (" + cudaGetErrorName(ie) + ")");
  }
  tables_.set_keep_all(true);
}

void CudaBackend::replay() {
  MANTISSA_ASSERT(graph_exec_ != nullptr, "replay() without a captured step");
  enter();
  MANTISSA_CUDA_CHECK(cudaGraphLaunch(graph_exec_, stream()));
}

void CudaBackend::discard_capture() {
  if (capturing_) {
    cudaGraph_t graph = nullptr;
    cudaStreamEndCapture(stream(), &graph);  // abandons the recording
    if (graph != nullptr) cudaGraphDestroy(graph);
    cudaGetLastError();
    capturing_ = false;
    tables_.set_recording(false);
    allocator_.end_reserve();
  }
  if (graph_exec_ != nullptr) {
    cudaStreamSynchronize(stream());  // a replay may still run
    cudaGraphExecDestroy(graph_exec_);
    graph_exec_ = nullptr;
    cudaGetLastError();
  }
  tables_.set_keep_all(false);
  allocator_.release_reservation();
}

}  // namespace cuda

// ---- the module's entry (backends/backend_plugin.hpp) ---------------------------

namespace {

std::vector<DeviceInfo> cuda_list_devices() {
  int previous = -1;
  const bool had_device = cudaGetDevice(&previous) == cudaSuccess;
  cudaGetLastError();
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || count == 0) {
    cudaGetLastError();
    // Listed as cuda:0, the device "cuda" would mean, with the driver's reason.
    const cuda::Probe p = cuda::probe(0);
    return {{"cuda:0", "NVIDIA GPU", false, p.reason}};
  }
  std::vector<DeviceInfo> devices;
  for (int i = 0; i < count; ++i) {
    const cuda::Probe p = cuda::probe(i);
    devices.push_back({"cuda:" + std::to_string(i),
                       p.description.empty() ? "NVIDIA GPU" : p.description, p.usable, p.reason});
  }
  if (had_device) cudaSetDevice(previous);
  return devices;
}

std::unique_ptr<Backend> cuda_create_backend(int ordinal, const BackendOptions& options) {
  cuda::CudaBackendOptions o;
  o.allow_tf32 = options.allow_tf32;
  const char* log = std::getenv("MANTISSA_CUDA_LOG");
  o.log_plans = log != nullptr && *log != '\0' && std::string_view(log) != "0";
  return std::make_unique<cuda::CudaBackend>(ordinal, o);
}

constexpr BackendPlugin kCudaPlugin{MANTISSA_VERSION, &cuda_list_devices, &cuda_create_backend};

}  // namespace

}  // namespace mantissa

extern "C" __attribute__((visibility("default"))) const mantissa::BackendPlugin*
mantissa_backend_plugin_v1() {
  return &mantissa::kCudaPlugin;
}
