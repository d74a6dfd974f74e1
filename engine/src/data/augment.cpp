// Training-time augmentation of image samples: random crop with zero padding
// and horizontal flip, drawn per (seed, epoch, sample) so that a resumed run,
// or a batch assembled on another thread, sees exactly the same pictures.
#include "data/io_util.hpp"
#include "data/random.hpp"
#include "mantissa/error.hpp"

namespace mantissa {

namespace {

// One C×H×W sample, in place: shifted by (dy, dx) in [-pad, pad] with zeros
// where the shift uncovers the border, then mirrored left to right if `flip`.
void crop_and_flip(float* x, std::int64_t c, std::int64_t h, std::int64_t w, std::int64_t dy,
                   std::int64_t dx, bool flip, std::vector<float>& scratch) {
  scratch.assign(x, x + c * h * w);
  for (std::int64_t ch = 0; ch < c; ++ch)
    for (std::int64_t y = 0; y < h; ++y) {
      const std::int64_t sy = y + dy;
      float* out = x + (ch * h + y) * w;
      for (std::int64_t col = 0; col < w; ++col) {
        const std::int64_t sx = (flip ? w - 1 - col : col) + dx;
        out[col] = sy >= 0 && sy < h && sx >= 0 && sx < w ? scratch[std::size_t((ch * h + sy) * w + sx)]
                                                          : 0.0f;
      }
    }
}

}  // namespace

bool augments(const DatasetSpec& spec) { return spec.crop_padding > 0 || spec.flip; }

void augment_batch(Batch& batch, const std::vector<std::int64_t>& sample_shape,
                   const DatasetSpec& spec, std::uint64_t seed) {
  if (!augments(spec)) return;
  if (sample_shape.size() != 3)
    throw InputError("dataset: crop and flip augmentation needs image samples (C×H×W), but the "
                     "samples are " + data::shape_text(sample_shape));
  const std::int64_t c = sample_shape[0], h = sample_shape[1], w = sample_shape[2];
  const std::int64_t pad = spec.crop_padding;
  const std::uint64_t epoch_key =
      data::stream_key(seed, data::kPurposeAugment, std::uint64_t(batch.epoch));
  std::vector<float> scratch;
  for (std::int64_t i = 0; i < batch.size; ++i) {
    data::Rng rng(data::stream_key(epoch_key, data::kPurposeAugment,
                                   std::uint64_t(batch.samples[std::size_t(i)])));
    const std::int64_t dy = pad > 0 ? std::int64_t(rng.below(std::uint64_t(2 * pad + 1))) - pad : 0;
    const std::int64_t dx = pad > 0 ? std::int64_t(rng.below(std::uint64_t(2 * pad + 1))) - pad : 0;
    const bool flip = spec.flip && (rng.next_u64() >> 63) != 0;
    if (dy == 0 && dx == 0 && !flip) continue;
    crop_and_flip(batch.x.data() + i * c * h * w, c, h, w, dy, dx, flip, scratch);
  }
}

}  // namespace mantissa
