#include "backends/cpu/cpu_dnnl.hpp"

#include <algorithm>
#include <cstdlib>
#include <string>

#include "mantissa/error.hpp"

namespace mantissa::cpu {

dnnl_dt dnnl_type(DType t) {
  switch (t) {
    case DType::F32:
      return dnnl_dt::f32;
    case DType::F16:
      return dnnl_dt::f16;
    case DType::BF16:
      return dnnl_dt::bf16;
  }
  MANTISSA_ASSERT(false, "unknown dtype");
  return dnnl_dt::undef;
}

dnnl::memory::desc plain_md(const dnnl_dims& dims, dnnl_dt dt) {
  dnnl_dims strides(dims.size(), 1);
  for (std::size_t i = dims.size(); i-- > 1;) strides[i - 1] = strides[i] * dims[i];
  return dnnl::memory::desc(dims, dt, strides);
}

dnnl::memory::desc strided_md(const dnnl_dims& dims, dnnl_dt dt, const dnnl_dims& strides) {
  return dnnl::memory::desc(dims, dt, strides);
}

PrimitiveKey::PrimitiveKey(PrimitiveOp op, std::initializer_list<std::int64_t> rest) {
  MANTISSA_ASSERT(rest.size() < kMaxFields, "primitive key has too many fields");
  fields[0] = static_cast<std::int64_t>(op);
  std::copy(rest.begin(), rest.end(), fields.begin() + 1);
  size = rest.size() + 1;
}

std::size_t PrimitiveKeyHash::operator()(const PrimitiveKey& k) const noexcept {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (std::size_t i = 0; i < k.size; ++i) {
    const std::int64_t f = k.fields[i];
    h ^= static_cast<std::uint64_t>(f) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  }
  return static_cast<std::size_t>(h);
}

void GrowBuffer::Free::operator()(void* p) const noexcept {
  std::free(p);
}

void* GrowBuffer::get(std::size_t bytes) {
  if (bytes > bytes_) {
    // Grow geometrically so a slowly rising demand settles after a few steps.
    std::size_t want = std::max(bytes, bytes_ + bytes_ / 2);
    want = (want + 63) / 64 * 64;
    data_.reset();
    bytes_ = 0;
    void* p = std::aligned_alloc(64, want);
    if (p == nullptr) {
      throw OutOfMemoryError("cpu: out of memory allocating " + std::to_string(want) +
                             " bytes of scratch space");
    }
    data_.reset(p);
    bytes_ = want;
  }
  return data_.get();
}

DnnlContext::DnnlContext() : engine_(dnnl::engine::kind::cpu, 0), stream_(engine_) {}

dnnl::primitive_attr DnnlContext::attr() {
  dnnl::primitive_attr a;
  a.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return a;
}

const CachedPrimitive* DnnlContext::insert(const PrimitiveKey& key,
                                           const dnnl::primitive_desc& pd) {
  std::unique_ptr<CachedPrimitive> entry;
  if (pd) {
    entry = std::make_unique<CachedPrimitive>();
    entry->pd = pd;
    entry->primitive = dnnl::primitive(pd);
    entry->scratchpad = pd.scratchpad_desc();
    entry->workspace = pd.workspace_desc();
  }
  const CachedPrimitive* result = entry.get();
  cache_.emplace(key, std::move(entry));
  return result;
}

std::vector<DnnlContext::BuiltPrimitive> DnnlContext::built_primitives() const {
  std::vector<BuiltPrimitive> out;
  for (const auto& [key, entry] : cache_) {
    if (!entry) continue;
    BuiltPrimitive b;
    b.op = PrimitiveOp(key.fields[0]);
    b.fields.assign(key.fields.begin() + 1, key.fields.begin() + std::ptrdiff_t(key.size));
    b.implementation = entry->pd.impl_info_str();
    out.push_back(std::move(b));
  }
  return out;
}

dnnl::memory DnnlContext::memory(const dnnl::memory::desc& md, const void* ptr) const {
  // oneDNN takes non-const handles; inputs are only read.
  return dnnl::memory(md, engine_, const_cast<void*>(ptr));
}

void DnnlContext::execute(const CachedPrimitive& p, std::initializer_list<Arg> list) {
  std::unordered_map<int, dnnl::memory> args;
  for (const Arg& a : list) {
    if (a.data == nullptr) continue;  // an optional argument not given (e.g. no bias)
    args.emplace(a.id, memory(p.pd.query_md(dnnl::query::exec_arg_md, a.id), a.data));
  }
  const std::size_t scratch = p.scratchpad.get_size();
  if (scratch > 0)
    args.emplace(DNNL_ARG_SCRATCHPAD, memory(p.scratchpad, scratchpad_.get(scratch)));
  p.primitive.execute(stream_, args);
  stream_.wait();
}

void DnnlContext::reorder(const dnnl::memory::desc& from, const void* src,
                          const dnnl::memory::desc& to, void* dst) {
  // oneDNN's own primitive cache makes building the same reorder again cheap.
  dnnl::memory a = memory(from, src), b = memory(to, dst);
  dnnl::reorder(a, b).execute(stream_, a, b);
  stream_.wait();
}

const void* DnnlContext::relayout_in(const CachedPrimitive& p, int arg, int slot, const void* data,
                                     const dnnl::memory::desc& plain) {
  const dnnl::memory::desc want = p.pd.query_md(dnnl::query::exec_arg_md, arg);
  if (want == plain) return data;
  MANTISSA_ASSERT(slot >= 0 && slot < kLayoutSlots, "layout slot out of range");
  void* buf = layout_[slot].get(std::max<std::size_t>(want.get_size(), 1));
  reorder(plain, data, want, buf);
  return buf;
}

void* DnnlContext::output_buffer(const CachedPrimitive& p, int arg, int slot, void* data,
                                 const dnnl::memory::desc& plain) {
  const dnnl::memory::desc want = p.pd.query_md(dnnl::query::exec_arg_md, arg);
  if (want == plain) return data;
  MANTISSA_ASSERT(slot >= 0 && slot < kLayoutSlots, "layout slot out of range");
  return layout_[slot].get(std::max<std::size_t>(want.get_size(), 1));
}

void DnnlContext::relayout_out(const CachedPrimitive& p, int arg, const void* staged, void* data,
                               const dnnl::memory::desc& plain) {
  if (staged == data) return;
  reorder(p.pd.query_md(dnnl::query::exec_arg_md, arg), staged, plain, data);
}

float* DnnlContext::staging(int slot, std::size_t count) {
  MANTISSA_ASSERT(slot >= 0 && slot < kStagingSlots, "staging slot out of range");
  return static_cast<float*>(staging_[slot].get(std::max<std::size_t>(count, 1) * sizeof(float)));
}

const float* staged_input(DnnlContext& ctx, int slot, const Tensor& t) {
  if (t.dtype() == DType::F32) return t.data_as<const float>();
  float* buf = ctx.staging(slot, std::size_t(t.numel()));
  convert(t.data(), t.dtype(), buf, DType::F32, std::size_t(t.numel()));
  return buf;
}

float* staged_output(DnnlContext& ctx, int slot, const Tensor& t) {
  if (t.dtype() == DType::F32) return t.data_as<float>();
  return ctx.staging(slot, std::size_t(t.numel()));
}

void finish_output(const float* staged, const Tensor& t) {
  if (t.dtype() == DType::F32) return;
  convert(staged, DType::F32, t.data(), t.dtype(), std::size_t(t.numel()));
}

}  // namespace mantissa::cpu
