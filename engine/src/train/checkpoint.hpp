#pragma once
// The checkpoint container: named raw tensors plus a few integers, in a small
// self-describing binary layout (little-endian):
//   "MNTCKPT2" | u32 count | per entry: u32 name_len, name, u8 dtype,
//   u32 rank, i64 dims[rank], u64 byte_len, bytes | u32 CRC-32 of all before
// Integers (step, epoch position, ...) are stored as rank-0 int64 entries.
// The step state is stored field by field ("state/<field>"), so its layout
// in memory can change; checkpoints from before it had integer counters hold
// one fp32 "state" vector, which read_step_state() still takes.
// The reader also takes version 1 ("MNTCKPT1", no checksum); a version 2
// blob whose checksum does not match is reported as corrupt.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "mantissa/step_state.hpp"
#include "mantissa/tensor.hpp"

namespace mantissa {

struct CheckpointEntry {
  std::uint8_t dtype = 0;  // DType, or 255 for an int64 scalar
  std::vector<std::int64_t> dims;
  std::vector<std::uint8_t> bytes;
};

class CheckpointWriter {
 public:
  void add_tensor(const std::string& name, const Tensor& t);
  void add_int(const std::string& name, std::int64_t v);
  void add_double(const std::string& name, double v);
  // What carries over from one step to the next: the scale and the counters.
  void add_step_state(const StepState& s);
  std::vector<std::uint8_t> finish() const;

 private:
  std::map<std::string, CheckpointEntry> entries_;
};

class CheckpointReader {
 public:
  explicit CheckpointReader(const std::vector<std::uint8_t>& blob);  // throws InputError
  // Copies the named entry into t; its dtype and shape must match.
  void read_tensor(const std::string& name, Tensor& t) const;
  std::int64_t read_int(const std::string& name) const;
  double read_double(const std::string& name) const;
  // The state add_step_state() stored; the per-step outputs (loss, found_inf,
  // ...) are zero, as the next step writes them.
  StepState read_step_state() const;
  bool has(const std::string& name) const { return entries_.count(name) != 0; }

 private:
  const CheckpointEntry& entry(const std::string& name) const;
  std::map<std::string, CheckpointEntry> entries_;
};

}  // namespace mantissa
