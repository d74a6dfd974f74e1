// IDX datasets (the MNIST container): load_idx() on an images file and a
// labels file. The input is split in two: its first byte, scaled to the rest
// of the input, says where the images end and the labels begin; the second
// byte's low bit is scale_uint8.
#include <cstdint>

#include "fuzz_util.hpp"
#include "mantissa/data.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mantissa;
  static const fuzz::ScratchFile images("idx", "-images.idx3-ubyte");
  static const std::filesystem::path labels = images.dir() / "idx-labels.idx1-ubyte";
  if (size < 2) return 0;
  const std::size_t rest = size - 2;
  // 0..255 over the rest; 255 puts everything in the images file.
  const std::size_t cut = rest * data[0] / 255;
  const bool scale = data[1] & 1;
  images.write(data + 2, cut);
  fuzz::ScratchFile::write(labels, data + 2 + cut, rest - cut);

  Dataset d;
  if (!fuzz::accepts([&] { d = load_idx(images.path(), labels, scale); }, images.dir().string()))
    return 0;
  std::int64_t numel = 1;
  for (auto dim : d.sample_shape) numel *= dim;
  if (d.features.size() != std::size_t(d.size() * numel) ||
      d.targets.size() != std::size_t(d.size() * d.target_dim))
    fuzz::die("IDX dataset with inconsistent sizes");
  return 0;
}
