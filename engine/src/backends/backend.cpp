// The Backend interface's default behaviour for backends whose ops have
// finished when they return: reads complete at once, and there is nothing to
// capture.
#include "mantissa/backend.hpp"

#include <algorithm>
#include <cstring>

#include "mantissa/collective.hpp"
#include "mantissa/error.hpp"
#include "mantissa/tensor.hpp"

namespace mantissa {

std::uint64_t Backend::begin_download(const void* src, std::size_t bytes) {
  if (bytes > kMaxAsyncReadBytes)
    throw Error("asynchronous read of " + std::to_string(bytes) + " bytes (at most " +
                std::to_string(kMaxAsyncReadBytes) + ")");
  if (early_reads_.size() >= kMaxAsyncReads)
    throw Error("more than " + std::to_string(kMaxAsyncReads) + " asynchronous reads open");
  std::vector<std::uint8_t> bytes_read(bytes);
  download(bytes_read.data(), src, bytes);
  const std::uint64_t ticket = next_read_ticket_++;
  early_reads_.emplace_back(ticket, std::move(bytes_read));
  return ticket;
}

void Backend::finish_download(std::uint64_t ticket, void* host_dst) {
  auto it = std::find_if(early_reads_.begin(), early_reads_.end(),
                         [&](const auto& r) { return r.first == ticket; });
  if (it == early_reads_.end())
    throw Error("asynchronous read " + std::to_string(ticket) + " is not open");
  std::memcpy(host_dst, it->second.data(), it->second.size());
  early_reads_.erase(it);
}

bool Backend::download_ready(std::uint64_t /*ticket*/) {
  return true;  // the default copies at begin_download()
}

void Backend::linear_forward(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& y,
                             bool relu) {
  if (bias == nullptr) {
    matmul(x, false, w, true, y, 0.0f);
  } else if (y.dtype() == DType::F32) {
    matmul(x, false, w, true, y, 0.0f);
    bias_add(y, *bias);
  } else {
    // Sum in fp32, round once.
    Tensor wide = Tensor::empty(*this, y.shape(), DType::F32);
    matmul(x, false, w, true, wide, 0.0f);
    bias_add(wide, *bias);
    cast(wide, y);
  }
  if (relu) activation_forward(Activation::Relu, 0.0f, y, y);
}

void Backend::linear_backward_weights(const Tensor& dy, const Tensor& x, Tensor& dw,
                                      Tensor* dbias) {
  matmul(dy, true, x, false, dw, 0.0f);
  if (dbias != nullptr) bias_grad(dy, *dbias, 0.0f);
}

void Backend::take_stats(const Tensor& x, StatsTarget& target) {
  tensor_stats(x, target.stats, target.histogram.defined() ? &target.histogram : nullptr,
               target.enable);
}

void Backend::activation_forward_stats(Activation act, float alpha, const Tensor& x, Tensor& y,
                                       StatsTarget* x_stats, StatsTarget* y_stats) {
  activation_forward(act, alpha, x, y);
  if (x_stats != nullptr) take_stats(x, *x_stats);
  if (y_stats != nullptr) take_stats(y, *y_stats);
}

void Backend::activation_backward_stats(Activation act, float alpha, const Tensor& x,
                                        const Tensor& y, const Tensor& dy, Tensor& dx,
                                        StatsTarget* dy_stats, StatsTarget* dx_stats) {
  activation_backward(act, alpha, x, y, dy, dx);
  if (dy_stats != nullptr) take_stats(dy, *dy_stats);
  if (dx_stats != nullptr) take_stats(dx, *dx_stats);
}

void Backend::cast_stats(const Tensor& src, Tensor& dst, StatsTarget* dst_stats) {
  cast(src, dst);
  if (dst_stats != nullptr) take_stats(dst, *dst_stats);
}

void Backend::unscale_check_and_norm_stats(std::span<const Tensor> grads, const Tensor& scale,
                                           Tensor& found_inf, Tensor& sum_squares,
                                           std::span<StatsTarget* const> grad_stats) {
  MANTISSA_ASSERT(grad_stats.empty() || grad_stats.size() == grads.size(),
                  "one statistics target per gradient, or none");
  for (std::size_t k = 0; k < grad_stats.size(); ++k)
    if (grad_stats[k] != nullptr) take_stats(grads[k], *grad_stats[k]);
  unscale_check_and_norm(grads, scale, found_inf, sum_squares);
}

std::unique_ptr<DeviceCollective> Backend::join_device_collective(Collective&,
                                                                  std::string* why_not) {
  if (why_not != nullptr)
    *why_not = host_memory() ? name() + " tensors are host memory: Gloo sums them in place"
                             : name() + " has no device collective";
  return nullptr;
}

void Backend::begin_capture() {
  throw Error("backend " + name() + " cannot capture a step");
}
void Backend::end_capture() {
  throw Error("backend " + name() + " cannot capture a step");
}
void Backend::replay() {
  throw Error("backend " + name() + " has no captured step to replay");
}

Tensor make_step_state(Backend& backend, const StepState& init) {
  Tensor t = Tensor::empty(backend, Shape{step_state_word::kWords}, DType::F32);
  write_step_state(t, init);
  return t;
}

StepState* step_state_of(const Tensor& state) {
  MANTISSA_ASSERT(state.dtype() == DType::F32 && state.bytes() == sizeof(StepState),
                  "the step state must be " + std::to_string(step_state_word::kWords) +
                      " fp32 words (a StepState), got " + state.describe());
  return static_cast<StepState*>(state.data());
}

StepState read_step_state(const Tensor& state) {
  StepState s{};
  state.backend().download(&s, step_state_of(state), sizeof(StepState));
  return s;
}

void write_step_state(Tensor& state, const StepState& value) {
  state.backend().upload(step_state_of(state), &value, sizeof(StepState));
}

}  // namespace mantissa
