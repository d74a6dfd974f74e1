// Pictures of image-folder datasets (data/images.cpp): PNG and JPEG bytes
// decoded by libpng / libjpeg-turbo behind Mantissa's error handling, then
// resized. The first byte picks grey or RGB (low bit) and the size (the rest
// of it, 1..128 pixels square); the other bytes are the picture file.
#include <cstdint>

#include "data/io_util.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mantissa;
  static const fuzz::ScratchFile picture("image", ".png");
  if (size < 1) return 0;
  const int channels = (data[0] & 1) ? 3 : 1;
  const int side = 1 + (data[0] >> 1);
  picture.write(data + 1, size - 1);
  data::ImageSample pixels;
  if (!fuzz::accepts(
          [&] {
            pixels = data::decode_image_file(data::source_file(picture.path()), channels, side, side);
          },
          picture.path().string()))
    return 0;
  if (pixels.size() != std::size_t(side) * std::size_t(side) * std::size_t(channels))
    fuzz::die("decoded picture has " + std::to_string(pixels.size()) + " bytes, expected " +
              std::to_string(side * side * channels));
  return 0;
}
