#include "mantissa/tensor.hpp"

#include <sstream>

#include "mantissa/backend.hpp"
#include "mantissa/error.hpp"

namespace mantissa {

std::int64_t Shape::numel() const {
  std::int64_t n = 1;
  for (auto d : dims_) n *= d;
  return n;
}

std::string Shape::str() const {
  if (dims_.empty()) return "scalar";
  std::string s;
  for (std::size_t i = 0; i < dims_.size(); ++i) {
    if (i) s += "×";
    s += std::to_string(dims_[i]);
  }
  return s;
}

Storage::Storage(Backend& backend, std::size_t bytes)
    : backend_(&backend), ptr_(backend.allocate(bytes)), bytes_(bytes) {}

Storage::~Storage() { backend_->deallocate(ptr_, bytes_); }

Tensor Tensor::empty(Backend& backend, Shape shape, DType dtype) {
  for (auto d : shape.dims()) MANTISSA_ASSERT(d >= 0, "negative dimension in " + shape.str());
  Tensor t;
  t.shape_ = std::move(shape);
  t.dtype_ = dtype;
  // Zero-sized tensors still get a distinct (tiny) allocation so data() is valid.
  t.storage_ = std::make_shared<Storage>(backend, std::max<std::size_t>(t.bytes(), 1));
  return t;
}

Tensor Tensor::zeros(Backend& backend, Shape shape, DType dtype) {
  Tensor t = empty(backend, std::move(shape), dtype);
  backend.fill(t, 0.0f);
  return t;
}

Tensor Tensor::from_host(Backend& backend, Shape shape, DType dtype, const float* values) {
  Tensor t = empty(backend, std::move(shape), dtype);
  t.copy_from_host(values);
  return t;
}

Tensor Tensor::reshaped(Shape shape) const {
  MANTISSA_ASSERT(shape.numel() == numel(),
                  "reshape " + shape_.str() + " to " + shape.str() + " changes the size");
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::slice(std::int64_t offset, Shape shape) const {
  MANTISSA_ASSERT(offset >= 0 && offset + shape.numel() <= numel(),
                  "slice [" + std::to_string(offset) + ", +" + std::to_string(shape.numel()) +
                      ") outside " + shape_.str());
  Tensor t = *this;
  t.offset_bytes_ += std::size_t(offset) * dtype_size(dtype_);
  t.shape_ = std::move(shape);
  return t;
}

std::vector<std::uint8_t> Tensor::to_host_bytes() const {
  std::vector<std::uint8_t> out(bytes());
  if (!out.empty()) backend().download(out.data(), data(), out.size());
  return out;
}

std::vector<float> Tensor::to_host() const {
  auto raw = to_host_bytes();
  std::vector<float> out(static_cast<std::size_t>(numel()));
  convert(raw.data(), dtype_, out.data(), DType::F32, out.size());
  return out;
}

void Tensor::copy_from_host(const float* values) {
  if (dtype_ == DType::F32) {
    backend().upload(data(), values, bytes());
    backend().synchronize();
    return;
  }
  std::vector<std::uint8_t> raw(bytes());
  convert(values, DType::F32, raw.data(), dtype_, std::size_t(numel()));
  backend().upload(data(), raw.data(), raw.size());
  backend().synchronize();  // raw is about to go away
}

std::string Tensor::describe() const {
  return shape_.str() + " " + std::string(dtype_name(dtype_));
}

}  // namespace mantissa
