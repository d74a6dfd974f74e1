#pragma once
// The oneDNN side of the CPU backend: one engine and stream, a cache of built
// primitives keyed by op, shapes, dtypes and flags (building a primitive costs
// far more than running a small one, and training runs the same shapes
// thousands of times), and backend-owned scratch memory so that executing a
// cached primitive allocates nothing.
#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <unordered_map>
#include <vector>

#include "mantissa/dtype.hpp"
#include "mantissa/tensor.hpp"

namespace mantissa::cpu {

using dnnl_dims = dnnl::memory::dims;
using dnnl_dt = dnnl::memory::data_type;

dnnl_dt dnnl_type(DType t);
// Dense row-major descriptor.
dnnl::memory::desc plain_md(const dnnl_dims& dims, dnnl_dt dt);
// Descriptor with explicit strides (transposed matmul operands).
dnnl::memory::desc strided_md(const dnnl_dims& dims, dnnl_dt dt, const dnnl_dims& strides);

enum class PrimitiveOp : std::int64_t {
  Matmul = 1,
  ConvForward,
  ConvBackwardData,
  ConvBackwardWeights,
  PoolForward,
  PoolBackward,
  EltwiseForward,
  EltwiseBackward,
  SoftmaxForward,
  LogSoftmaxForward,
};

// Op, shapes, dtypes and flags of a primitive; fixed-size so that looking a
// primitive up allocates nothing.
struct PrimitiveKey {
  static constexpr std::size_t kMaxFields = 16;
  std::array<std::int64_t, kMaxFields> fields{};
  std::size_t size = 0;
  PrimitiveKey(PrimitiveOp op, std::initializer_list<std::int64_t> rest);
  bool operator==(const PrimitiveKey&) const = default;
};

struct PrimitiveKeyHash {
  std::size_t operator()(const PrimitiveKey& k) const noexcept;
};

struct CachedPrimitive {
  dnnl::primitive_desc pd;
  dnnl::primitive primitive;
  dnnl::memory::desc scratchpad;  // zero-sized when the primitive needs none
  dnnl::memory::desc workspace;   // max pooling's argmax; zero-sized otherwise
};

// Reusable host buffers that only grow. Not thread-safe: owned by DnnlContext,
// whose users hold its lock.
class GrowBuffer {
 public:
  void* get(std::size_t bytes);

 private:
  struct Free {
    void operator()(void* p) const noexcept;
  };
  std::unique_ptr<void, Free> data_;
  std::size_t bytes_ = 0;
};

class DnnlContext {
 public:
  DnnlContext();

  // Ops that run primitives hold this for their whole duration: the cache and
  // the scratch buffers are shared, and the backend may be driven from a
  // data-loading thread too.
  std::unique_lock<std::mutex> lock() { return std::unique_lock(mutex_); }

  const dnnl::engine& engine() const { return engine_; }

  // Returns the cached primitive for `key`, building it from the primitive
  // descriptor that `make` returns (made with attr(), plus any post-ops) on a
  // miss. `make` may return an empty descriptor when the combination is not
  // implemented; then nullptr is returned, and the miss is remembered so the
  // question is not asked again.
  template <class Make>
  const CachedPrimitive* find_or_make(const PrimitiveKey& key, Make&& make) {
    if (auto it = cache_.find(key); it != cache_.end()) return it->second.get();
    return insert(key, make());
  }

  // Attributes every primitive is built with: user-managed scratchpad.
  static dnnl::primitive_attr attr();

  dnnl::memory memory(const dnnl::memory::desc& md, const void* ptr) const;
  // Runs `p` on the given (argument id, data) pairs, each described by the
  // descriptor the primitive expects for it, plus the scratchpad. Blocks
  // until done.
  struct Arg {
    int id;
    const void* data;
  };
  void execute(const CachedPrimitive& p, std::initializer_list<Arg> args);

  // fp32 staging buffers for dtypes without a native primitive (fp16 always,
  // bf16 on CPUs without AVX-512). Slots are independent buffers.
  static constexpr int kStagingSlots = 4;
  float* staging(int slot, std::size_t count);

  // Layout staging for primitives that chose their own (blocked) layouts:
  // `data`, laid out as `plain`, in the layout the primitive `p` wants for
  // argument `arg` — the data itself when that is `plain`, else a copy in
  // layout slot `slot` (independent buffers, kept between calls).
  static constexpr int kLayoutSlots = 4;
  const void* relayout_in(const CachedPrimitive& p, int arg, int slot, const void* data,
                          const dnnl::memory::desc& plain);
  // Where `p` writes argument `arg`: `data` itself when the layouts agree,
  // else layout slot `slot`; relayout_out() then copies that into `data`.
  void* output_buffer(const CachedPrimitive& p, int arg, int slot, void* data,
                      const dnnl::memory::desc& plain);
  void relayout_out(const CachedPrimitive& p, int arg, const void* staged, void* data,
                    const dnnl::memory::desc& plain);

  std::size_t cached_primitives() const { return cache_.size(); }
  // Every built primitive: its op, shape fields and oneDNN's implementation
  // name ("brg:avx512_core_bf16"), in no particular order.
  struct BuiltPrimitive {
    PrimitiveOp op;
    std::vector<std::int64_t> fields;
    std::string implementation;
  };
  std::vector<BuiltPrimitive> built_primitives() const;

 private:
  const CachedPrimitive* insert(const PrimitiveKey& key, const dnnl::primitive_desc& pd);

  std::mutex mutex_;
  dnnl::engine engine_;
  dnnl::stream stream_;
  std::unordered_map<PrimitiveKey, std::unique_ptr<CachedPrimitive>, PrimitiveKeyHash> cache_;
  GrowBuffer scratchpad_;
  GrowBuffer staging_[kStagingSlots];
  GrowBuffer layout_[kLayoutSlots];
  void reorder(const dnnl::memory::desc& from, const void* src, const dnnl::memory::desc& to,
               void* dst);
};

// An fp32 view of a tensor for emulated (staged) primitives: the tensor's own
// memory when it is fp32, otherwise a staging slot holding its converted copy.
const float* staged_input(DnnlContext& ctx, int slot, const Tensor& t);
// Where an emulated primitive writes an output: the tensor itself when fp32,
// else a staging slot; finish_output() then rounds it into the tensor.
float* staged_output(DnnlContext& ctx, int slot, const Tensor& t);
void finish_output(const float* staged, const Tensor& t);

}  // namespace mantissa::cpu
