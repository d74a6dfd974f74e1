#include "train/checkpoint.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "mantissa/backend.hpp"
#include "mantissa/error.hpp"

namespace mantissa {

namespace {
// Version 1 had no checksum; it is still read.
constexpr char kMagicV1[8] = {'M', 'N', 'T', 'C', 'K', 'P', 'T', '1'};
constexpr char kMagic[8] = {'M', 'N', 'T', 'C', 'K', 'P', 'T', '2'};

std::uint32_t crc32_of(const std::uint8_t* data, std::size_t n) {
  uLong crc = crc32(0L, Z_NULL, 0);
  while (n > 0) {
    const auto chunk = static_cast<uInt>(std::min<std::size_t>(n, 1u << 30));
    crc = crc32(crc, data, chunk);
    data += chunk;
    n -= chunk;
  }
  return static_cast<std::uint32_t>(crc);
}
constexpr std::uint8_t kInt64 = 255;
constexpr std::uint8_t kFloat64 = 254;

template <class T>
void put(std::vector<std::uint8_t>& out, T v) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
  out.insert(out.end(), p, p + sizeof(T));
}

class Cursor {
 public:
  Cursor(const std::vector<std::uint8_t>& b, std::size_t end) : b_(b), end_(end) {}
  template <class T>
  T get() {
    need(sizeof(T));
    T v;
    std::memcpy(&v, b_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::vector<std::uint8_t> bytes(std::uint64_t n) {
    need(n);
    std::vector<std::uint8_t> v(b_.begin() + std::ptrdiff_t(pos_),
                                b_.begin() + std::ptrdiff_t(pos_ + n));
    pos_ += n;
    return v;
  }
  bool done() const { return pos_ == end_; }

 private:
  void need(std::uint64_t n) {
    if (n > end_ - pos_) throw InputError("checkpoint is truncated or corrupt");
  }
  const std::vector<std::uint8_t>& b_;
  std::size_t end_;
  std::size_t pos_ = 0;
};
}  // namespace

void CheckpointWriter::add_tensor(const std::string& name, const Tensor& t) {
  entries_[name] = {std::uint8_t(t.dtype()), t.shape().dims(), t.to_host_bytes()};
}

void CheckpointWriter::add_int(const std::string& name, std::int64_t v) {
  CheckpointEntry e{kInt64, {}, std::vector<std::uint8_t>(8)};
  std::memcpy(e.bytes.data(), &v, 8);
  entries_[name] = std::move(e);
}

void CheckpointWriter::add_double(const std::string& name, double v) {
  CheckpointEntry e{kFloat64, {}, std::vector<std::uint8_t>(8)};
  std::memcpy(e.bytes.data(), &v, 8);
  entries_[name] = std::move(e);
}

std::vector<std::uint8_t> CheckpointWriter::finish() const {
  std::vector<std::uint8_t> out(kMagic, kMagic + 8);
  put(out, std::uint32_t(entries_.size()));
  for (const auto& [name, e] : entries_) {
    put(out, std::uint32_t(name.size()));
    out.insert(out.end(), name.begin(), name.end());
    put(out, e.dtype);
    put(out, std::uint32_t(e.dims.size()));
    for (auto d : e.dims) put(out, d);
    put(out, std::uint64_t(e.bytes.size()));
    out.insert(out.end(), e.bytes.begin(), e.bytes.end());
  }
  put(out, crc32_of(out.data(), out.size()));
  return out;
}

CheckpointReader::CheckpointReader(const std::vector<std::uint8_t>& blob) {
  const bool v1 = blob.size() >= 12 && std::memcmp(blob.data(), kMagicV1, 8) == 0;
  const bool v2 = blob.size() >= 16 && std::memcmp(blob.data(), kMagic, 8) == 0;
  if (!v1 && !v2) {
    if (blob.size() >= 8 && std::memcmp(blob.data(), kMagic, 7) == 0)
      throw InputError("checkpoint is truncated or corrupt");
    throw InputError("not a Mantissa checkpoint");
  }
  std::size_t end = blob.size();
  if (v2) {
    end -= 4;
    std::uint32_t stored = 0;
    std::memcpy(&stored, blob.data() + end, 4);
    if (stored != crc32_of(blob.data(), end))
      throw InputError("checkpoint is truncated or corrupt (checksum mismatch)");
  }
  Cursor c(blob, end);
  c.bytes(8);
  const auto count = c.get<std::uint32_t>();
  for (std::uint32_t i = 0; i < count; ++i) {
    auto name_bytes = c.bytes(c.get<std::uint32_t>());
    CheckpointEntry e;
    e.dtype = c.get<std::uint8_t>();
    const auto rank = c.get<std::uint32_t>();
    if (rank > 8) throw InputError("checkpoint is corrupt (tensor rank " + std::to_string(rank) + ")");
    for (std::uint32_t k = 0; k < rank; ++k) e.dims.push_back(c.get<std::int64_t>());
    if (e.dtype != kInt64 && e.dtype != kFloat64 && e.dtype > std::uint8_t(DType::BF16))
      throw InputError("checkpoint is corrupt (unknown dtype " + std::to_string(e.dtype) + ")");
    e.bytes = c.bytes(c.get<std::uint64_t>());
    entries_[std::string(name_bytes.begin(), name_bytes.end())] = std::move(e);
  }
  if (!c.done()) throw InputError("checkpoint has trailing bytes");
}

const CheckpointEntry& CheckpointReader::entry(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) throw InputError("checkpoint has no entry '" + name + "'");
  return it->second;
}

void CheckpointReader::read_tensor(const std::string& name, Tensor& t) const {
  const CheckpointEntry& e = entry(name);
  if (e.dtype != std::uint8_t(t.dtype()) || e.dims != t.shape().dims() || e.bytes.size() != t.bytes())
    throw InputError("checkpoint entry '" + name + "' does not match the model (" +
                     Shape(e.dims).str() + " vs " + t.describe() + ")");
  t.backend().upload(t.data(), e.bytes.data(), e.bytes.size());
  t.backend().synchronize();
}

std::int64_t CheckpointReader::read_int(const std::string& name) const {
  const CheckpointEntry& e = entry(name);
  if (e.dtype != kInt64 || !e.dims.empty() || e.bytes.size() != 8)
    throw InputError("checkpoint entry '" + name + "' is not an integer");
  std::int64_t v;
  std::memcpy(&v, e.bytes.data(), 8);
  return v;
}

double CheckpointReader::read_double(const std::string& name) const {
  const CheckpointEntry& e = entry(name);
  if (e.dtype != kFloat64 || !e.dims.empty() || e.bytes.size() != 8)
    throw InputError("checkpoint entry '" + name + "' is not a number");
  double v;
  std::memcpy(&v, e.bytes.data(), 8);
  return v;
}

void CheckpointWriter::add_step_state(const StepState& s) {
  add_double("state/scale", s.scale);
  add_int("state/optimizer_steps", s.optimizer_steps);
  add_int("state/steps_taken", s.steps_taken);
  add_int("state/growth_tracker", s.growth_tracker);
  add_int("state/skipped_total", s.skipped_total);
  add_int("state/consecutive_skips", s.consecutive_skips);
}

namespace {
// The fp32 state vector of checkpoints before the typed step state: its
// indices, and the run's step count standing in for the steps taken.
StepState legacy_step_state(const CheckpointEntry& e, std::int64_t step) {
  constexpr std::size_t kScale = 0, kGrowthTracker = 1, kSkippedTotal = 2, kConsecutiveSkips = 3,
                        kOptimizerSteps = 5, kValues = 16;
  if (e.dtype != std::uint8_t(DType::F32) || e.dims != std::vector<std::int64_t>{kValues} ||
      e.bytes.size() != kValues * sizeof(float))
    throw InputError("checkpoint entry 'state' is not the 16-value fp32 step state");
  float v[kValues];
  std::memcpy(v, e.bytes.data(), sizeof v);
  StepState s{};
  s.scale = v[kScale];
  s.growth_tracker = std::int64_t(v[kGrowthTracker]);
  s.skipped_total = std::int64_t(v[kSkippedTotal]);
  s.consecutive_skips = std::int64_t(v[kConsecutiveSkips]);
  s.optimizer_steps = std::int64_t(v[kOptimizerSteps]);
  s.steps_taken = step;
  return s;
}
}  // namespace

StepState CheckpointReader::read_step_state() const {
  if (!has("state/scale") && has("state")) return legacy_step_state(entry("state"), read_int("step"));
  StepState s{};
  s.scale = float(read_double("state/scale"));
  s.optimizer_steps = read_int("state/optimizer_steps");
  s.steps_taken = read_int("state/steps_taken");
  s.growth_tracker = read_int("state/growth_tracker");
  s.skipped_total = read_int("state/skipped_total");
  s.consecutive_skips = read_int("state/consecutive_skips");
  return s;
}

}  // namespace mantissa
