#pragma once
// Tensor: a shape, a dtype and storage owned by one backend. Tensors are cheap
// handles (copying one shares the storage, like a shared_ptr); the storage goes
// back to its backend's allocator when the last handle is dropped. Layout is
// always dense row-major (NCHW for images).
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "mantissa/dtype.hpp"

namespace mantissa {

class Backend;

class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<std::int64_t> dims) : dims_(dims) {}
  explicit Shape(std::vector<std::int64_t> dims) : dims_(std::move(dims)) {}

  std::size_t rank() const { return dims_.size(); }
  std::int64_t operator[](std::size_t i) const { return dims_[i]; }
  std::int64_t& operator[](std::size_t i) { return dims_[i]; }
  std::int64_t numel() const;
  const std::vector<std::int64_t>& dims() const { return dims_; }
  std::string str() const;  // "128×512"; "scalar" for rank 0
  bool operator==(const Shape&) const = default;

 private:
  std::vector<std::int64_t> dims_;
};

// Device memory owned by a backend. Not copyable: exactly one owner frees it.
class Storage {
 public:
  Storage(Backend& backend, std::size_t bytes);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return ptr_; }
  std::size_t bytes() const { return bytes_; }
  Backend& backend() const { return *backend_; }

 private:
  Backend* backend_;
  void* ptr_;
  std::size_t bytes_;
};

class Tensor {
 public:
  Tensor() = default;  // empty: defined() is false

  static Tensor empty(Backend& backend, Shape shape, DType dtype);
  static Tensor zeros(Backend& backend, Shape shape, DType dtype);
  // Uploads n = shape.numel() fp32 values, converted to dtype with PRECISION.md rounding.
  static Tensor from_host(Backend& backend, Shape shape, DType dtype, const float* values);

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  DType dtype() const { return dtype_; }
  std::int64_t numel() const { return shape_.numel(); }
  std::size_t bytes() const { return std::size_t(numel()) * dtype_size(dtype_); }
  std::int64_t dim(std::size_t i) const { return shape_[i]; }
  std::size_t rank() const { return shape_.rank(); }
  Backend& backend() const { return storage_->backend(); }

  void* data() const { return static_cast<char*>(storage_->data()) + offset_bytes_; }
  template <class T>
  T* data_as() const {
    return static_cast<T*>(data());
  }

  // Same storage, new shape with the same number of elements.
  Tensor reshaped(Shape shape) const;
  // A view of shape.numel() consecutive elements starting at element `offset`
  // (e.g. one scalar of a packed state vector), sharing the storage.
  Tensor slice(std::int64_t offset, Shape shape) const;
  // Synchronous read-back as fp32 (exact for every dtype). For tests, export
  // and the per-step metrics read; never inside the step's hot path.
  std::vector<float> to_host() const;
  // Raw bytes in the tensor's own dtype (for bit-exact comparisons and export).
  std::vector<std::uint8_t> to_host_bytes() const;
  void copy_from_host(const float* values);  // n = numel fp32 values, rounded to dtype

  std::string describe() const;  // "128×512 bf16"

 private:
  std::shared_ptr<Storage> storage_;
  std::size_t offset_bytes_ = 0;
  Shape shape_;
  DType dtype_ = DType::F32;
};

}  // namespace mantissa
