// Image folders: one subfolder per class, PNG and JPEG files in them.
//
// Decoding is libpng's and libjpeg-turbo's, the reference decoders (both
// fuzzed for years and fast); resizing is stb_image_resize's (a
// Mitchell/Catmull-Rom filter that averages when it shrinks, so a large photo
// does not alias into noise). Neither is written here.
// jpeglib.h uses size_t and FILE without including their headers.
#include <cstddef>
#include <cstdio>
// clang-format off
#include <jpeglib.h>
// clang-format on
#include <png.h>
#include <stb_image_resize.h>

#include <algorithm>
#include <cctype>
#include <csetjmp>
#include <cstring>
#include <set>

#include "data/io_util.hpp"
#include "mantissa/error.hpp"

namespace mantissa::data {

namespace {

// A picture larger than this is refused before its pixels are allocated: a
// few bytes of PNG can claim gigapixels.
constexpr std::uint64_t kMaxPixels = std::uint64_t(1) << 26;  // 64 megapixels

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

bool is_image_name(const std::filesystem::path& p) {
  const std::string name = p.filename().string();
  if (name.empty() || name[0] == '.') return false;  // hidden files, macOS "._x.png"
  const std::string ext = lower(p.extension().string());
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

std::string too_large(const std::string& what, std::uint64_t w, std::uint64_t h) {
  return what + ": " + std::to_string(w) + "×" + std::to_string(h) +
         " pixels, more than the 64 megapixels an image may have";
}

// RGB to grey in place with the BT.601 luma weights, the Y that libjpeg
// decodes a colour JPEG to when asked for grey (and Pillow's convert("L")).
void to_grey(DecodedImage& image) {
  const std::size_t n = std::size_t(image.width) * std::size_t(image.height);
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char* p = image.pixels.data() + 3 * i;
    image.pixels[i] = static_cast<unsigned char>((299 * p[0] + 587 * p[1] + 114 * p[2] + 500) / 1000);
  }
  image.pixels.resize(n);
  image.channels = 1;
}

DecodedImage decode_png(const std::string& bytes, const std::string& what, int channels) {
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&image, bytes.data(), bytes.size()))
    throw InputError(what + ": does not decode as PNG (" + image.message + ")");
  struct Free {
    png_image* image;
    ~Free() { png_image_free(image); }
  } free_on_exit{&image};
  if (std::uint64_t(image.width) * image.height > kMaxPixels)
    throw InputError(too_large(what, image.width, image.height));
  // libpng converts palette, 16-bit, grey and alpha (composited onto black)
  // pictures to 8-bit RGB. Grey is taken from that RGB as for JPEG below:
  // libpng's own grey conversion works in linear light and would make a
  // picture's PNG and JPEG copies differ.
  image.format = PNG_FORMAT_RGB;
  DecodedImage out;
  out.width = int(image.width);
  out.height = int(image.height);
  out.channels = 3;
  out.pixels.resize(PNG_IMAGE_SIZE(image));
  if (!png_image_finish_read(&image, nullptr, out.pixels.data(), 0, nullptr))
    throw InputError(what + ": does not decode as PNG (" + image.message + ")");
  if (channels == 1) to_grey(out);
  return out;
}

// libjpeg reports errors through a callback that must not return; it jumps
// back to decode_jpeg_into with the message kept here.
struct JpegErrors {
  jpeg_error_mgr manager;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void jpeg_fail(j_common_ptr info) {
  auto* errors = reinterpret_cast<JpegErrors*>(info->err);
  (*info->err->format_message)(info, errors->message);
  std::longjmp(errors->jump, 1);
}

void jpeg_quiet(j_common_ptr) {}  // warnings (a truncated file still decodes) are not printed

// Everything that may jump lives behind pointers set before setjmp, so no
// local changes between setjmp and a longjmp back to it. Returns false with
// errors->message set when libjpeg failed.
bool decode_jpeg_into(const std::string& bytes, int channels, jpeg_decompress_struct* info,
                      JpegErrors* errors, DecodedImage* out) {
  if (setjmp(errors->jump)) return false;
  jpeg_create_decompress(info);
  jpeg_mem_src(info, reinterpret_cast<const unsigned char*>(bytes.data()),
               static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(info, TRUE);
  if (std::uint64_t(info->image_width) * info->image_height > kMaxPixels) {
    std::snprintf(errors->message, sizeof errors->message, "%s",
                  too_large("", info->image_width, info->image_height).substr(2).c_str());
    return false;
  }
  info->out_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(info);
  out->width = int(info->output_width);
  out->height = int(info->output_height);
  out->channels = channels;
  const std::size_t stride = std::size_t(out->width) * std::size_t(channels);
  out->pixels.resize(stride * std::size_t(out->height));
  while (info->output_scanline < info->output_height) {
    JSAMPROW row = out->pixels.data() + std::size_t(info->output_scanline) * stride;
    jpeg_read_scanlines(info, &row, 1);
  }
  jpeg_finish_decompress(info);
  return true;
}

DecodedImage decode_jpeg(const std::string& bytes, const std::string& what, int channels) {
  jpeg_decompress_struct info;
  JpegErrors errors;
  std::memset(&info, 0, sizeof info);
  std::memset(&errors, 0, sizeof errors);
  info.err = jpeg_std_error(&errors.manager);
  errors.manager.error_exit = jpeg_fail;
  errors.manager.output_message = jpeg_quiet;
  DecodedImage out;
  const bool ok = decode_jpeg_into(bytes, channels, &info, &errors, &out);
  jpeg_destroy_decompress(&info);
  if (!ok) throw InputError(what + ": does not decode as JPEG (" + errors.message + ")");
  return out;
}

// The classes under `folder` (its subfolders, in byte order) and their image
// files (in byte order). `what` names the folder in messages.
struct FolderListing {
  std::vector<std::string> classes;
  std::vector<std::vector<std::filesystem::path>> files;  // per class
};

FolderListing list_folder(const SourceFile& folder, bool with_files) {
  std::error_code ec;
  const auto status = std::filesystem::status(folder.path, ec);
  if (!std::filesystem::exists(status)) throw InputError(folder.display + ": folder not found");
  if (!std::filesystem::is_directory(status))
    throw InputError(folder.display +
                     ": is a file; give a folder holding one subfolder of images per class");
  std::set<std::string> names;
  for (std::filesystem::directory_iterator it(folder.path, ec), end; !ec && it != end;
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!name.empty() && name[0] != '.' && it->is_directory(ec)) names.insert(name);
  }
  if (ec) throw InputError(folder.display + ": cannot list the folder (" + ec.message() + ")");
  if (names.empty())
    throw InputError(folder.display +
                     ": has no class folders; put the images of each class in a subfolder "
                     "named after it (" +
                     folder.display + "/cat/001.png, " + folder.display + "/dog/001.jpg)");
  FolderListing listing;
  listing.classes.assign(names.begin(), names.end());
  if (!with_files) return listing;
  for (const std::string& name : listing.classes) {
    std::vector<std::filesystem::path> files;
    for (std::filesystem::directory_iterator it(folder.path / name, ec), end; !ec && it != end;
         it.increment(ec))
      if (is_image_name(it->path()) && it->is_regular_file(ec)) files.push_back(it->path());
    if (ec)
      throw InputError(folder.display + "/" + name + ": cannot list the folder (" + ec.message() +
                       ")");
    if (files.empty())
      throw InputError(folder.display + "/" + name + ": class '" + name +
                       "' has no images (.png, .jpg or .jpeg files)");
    std::sort(files.begin(), files.end());
    listing.files.push_back(std::move(files));
  }
  return listing;
}

// The samples of `listing`, decoded and resized to channels × height × width,
// labelled with the index of their class in `class_names`.
Dataset load_listing(const SourceFile& folder, const FolderListing& listing,
                     const std::vector<std::string>& class_names, const DatasetSpec& spec) {
  struct Item {
    std::filesystem::path file;
    int label;
  };
  std::vector<Item> items;
  for (std::size_t c = 0; c < listing.classes.size(); ++c) {
    const auto at = std::find(class_names.begin(), class_names.end(), listing.classes[c]);
    if (at == class_names.end())
      throw InputError(folder.display + "/" + listing.classes[c] + ": class '" +
                       listing.classes[c] + "' is not one of the training classes");
    for (const auto& f : listing.files[c]) items.push_back({f, int(at - class_names.begin())});
  }
  Dataset d;
  d.name = folder.path.filename().string();
  if (d.name.empty()) d.name = folder.path.parent_path().filename().string();
  d.sample_shape = {spec.channels, spec.height, spec.width};
  d.target_dim = 1;
  d.num_classes = int(class_names.size());
  d.class_names = class_names;
  const std::size_t numel = std::size_t(spec.channels * spec.height * spec.width);
  d.features.resize(items.size() * numel);
  d.targets.resize(items.size());
  // Decoding dominates; files are independent. The first failure in file
  // order is the one reported, whatever the thread that met it.
  std::vector<std::string> failures(items.size());
  const float scale = spec.normalize ? 1.0f / 255.0f : 1.0f;
  const auto n = std::int64_t(items.size());
#pragma omp parallel for schedule(dynamic, 16)
  for (std::int64_t i = 0; i < n; ++i) {
    const Item& item = items[std::size_t(i)];
    try {
      const std::string relative = std::filesystem::relative(item.file, folder.path).string();
      const SourceFile source{item.file, folder.display + "/" + relative};
      const ImageSample px = decode_image_file(source, int(spec.channels), int(spec.height),
                                               int(spec.width));
      float* out = d.features.data() + std::size_t(i) * numel;
      const std::size_t plane = std::size_t(spec.height * spec.width);
      // Interleaved HWC bytes to planar CHW floats.
      for (std::size_t p = 0; p < plane; ++p)
        for (std::size_t c = 0; c < std::size_t(spec.channels); ++c)
          out[c * plane + p] = float(px[p * std::size_t(spec.channels) + c]) * scale;
      d.targets[std::size_t(i)] = float(item.label);
    } catch (const std::exception& e) {
      failures[std::size_t(i)] = e.what();
    }
  }
  for (const std::string& f : failures)
    if (!f.empty()) throw InputError(f);
  return d;
}

void check_image_spec(const DatasetSpec& spec) {
  if (spec.channels != 1 && spec.channels != 3)
    throw InputError("dataset.channels: must be 1 (grey) or 3 (RGB), got " +
                     std::to_string(spec.channels));
  for (auto [name, v] : {std::pair{"height", spec.height}, std::pair{"width", spec.width}})
    if (v < 1 || v > 4096)
      throw InputError(std::string("dataset.") + name + ": must be in [1, 4096], got " +
                       std::to_string(v));
}

}  // namespace

DecodedImage decode_image(const std::string& bytes, const std::string& what, int channels) {
  static const unsigned char kPng[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (bytes.size() >= sizeof kPng && std::memcmp(bytes.data(), kPng, sizeof kPng) == 0)
    return decode_png(bytes, what, channels);
  if (bytes.size() >= 3 && static_cast<unsigned char>(bytes[0]) == 0xFF &&
      static_cast<unsigned char>(bytes[1]) == 0xD8 && static_cast<unsigned char>(bytes[2]) == 0xFF)
    return decode_jpeg(bytes, what, channels);
  if (bytes.empty()) throw InputError(what + ": the image file is empty");
  throw InputError(what + ": neither a PNG nor a JPEG image (its first bytes say otherwise)");
}

ImageSample decode_image_file(const SourceFile& file, int channels, int height, int width) {
  const DecodedImage image = decode_image(read_file(file), file.display, channels);
  if (image.width == width && image.height == height) return image.pixels;
  ImageSample out(std::size_t(width) * std::size_t(height) * std::size_t(channels));
  if (!stbir_resize_uint8(image.pixels.data(), image.width, image.height, 0, out.data(), width,
                          height, 0, channels))
    throw InputError(file.display + ": cannot be resized to " + std::to_string(width) + "×" +
                     std::to_string(height));
  return out;
}

DatasetShape peek_image_folder(const DatasetSpec& spec, const SourceFile& folder) {
  check_image_spec(spec);
  const FolderListing listing = list_folder(folder, false);
  DatasetShape s;
  s.name = folder.path.filename().string();
  s.sample_shape = {spec.channels, spec.height, spec.width};
  s.num_classes = int(listing.classes.size());
  return s;
}

DatasetSplit load_image_folders(const DatasetSpec& spec, const SourceFile& folder,
                                const SourceFile* validation_folder) {
  check_image_spec(spec);
  const FolderListing train = list_folder(folder, true);
  DatasetSplit split;
  Dataset all = load_listing(folder, train, train.classes, spec);
  if (!validation_folder) return split_dataset(all, spec.validation_fraction, spec.seed);
  split.train = std::move(all);
  const FolderListing validation = list_folder(*validation_folder, true);
  split.validation = load_listing(*validation_folder, validation, train.classes, spec);
  return split;
}

}  // namespace mantissa::data
