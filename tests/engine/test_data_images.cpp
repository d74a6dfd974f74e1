// Image folders (one subfolder per class, PNG and JPEG decoded by libpng and
// libjpeg-turbo, resized to the model's size) and the seeded crop-and-flip
// augmentation the loader thread applies to training batches.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

// jpeglib.h needs size_t and FILE declared first.
#include <cstddef>
#include <cstdio>
// clang-format off
#include <jpeglib.h>
// clang-format on
#include <png.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>

#include "mantissa/data.hpp"
#include "mantissa/error.hpp"
#include "mantissa/model.hpp"
#include "mantissa/trainer.hpp"
#include "test_data_util.hpp"
#include "train_fixtures.hpp"

namespace mantissa {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using test_data::TempDir;
using test_data::write_text;

std::string message_of(const std::function<void()>& f) {
  return test_data::input_error_message(f);
}

// An RGB picture, rows top to bottom, channels interleaved.
struct Picture {
  int width, height;
  std::vector<unsigned char> rgb;
  static Picture solid(int w, int h, unsigned char r, unsigned char g, unsigned char b) {
    Picture p{w, h, {}};
    for (int i = 0; i < w * h; ++i) p.rgb.insert(p.rgb.end(), {r, g, b});
    return p;
  }
};

void write_png(const std::filesystem::path& file, const Picture& p) {
  std::filesystem::create_directories(file.parent_path());
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  image.width = png_uint_32(p.width);
  image.height = png_uint_32(p.height);
  image.format = PNG_FORMAT_RGB;
  ASSERT_TRUE(png_image_write_to_file(&image, file.c_str(), 0, p.rgb.data(), 0, nullptr))
      << image.message;
}

void write_jpeg(const std::filesystem::path& file, const Picture& p) {
  std::filesystem::create_directories(file.parent_path());
  FILE* out = std::fopen(file.c_str(), "wb");
  ASSERT_NE(out, nullptr);
  jpeg_compress_struct info;
  jpeg_error_mgr errors;
  info.err = jpeg_std_error(&errors);
  jpeg_create_compress(&info);
  jpeg_stdio_dest(&info, out);
  info.image_width = JDIMENSION(p.width);
  info.image_height = JDIMENSION(p.height);
  info.input_components = 3;
  info.in_color_space = JCS_RGB;
  jpeg_set_defaults(&info);
  jpeg_set_quality(&info, 95, TRUE);
  jpeg_start_compress(&info, TRUE);
  while (info.next_scanline < info.image_height) {
    JSAMPROW row = const_cast<unsigned char*>(p.rgb.data()) +
                   std::size_t(info.next_scanline) * std::size_t(p.width) * 3;
    jpeg_write_scanlines(&info, &row, 1);
  }
  jpeg_finish_compress(&info);
  jpeg_destroy_compress(&info);
  std::fclose(out);
}

DatasetSpec folder_spec(const std::filesystem::path& folder, int channels, int size) {
  DatasetSpec s;
  s.kind = "images";
  s.path = folder;
  s.channels = channels;
  s.height = size;
  s.width = size;
  s.validation_fraction = 0.0;
  return s;
}

// The value of channel c at (y, x) of sample `row`.
float pixel(const Dataset& d, std::int64_t row, std::int64_t c, std::int64_t y, std::int64_t x) {
  const auto h = d.sample_shape[1], w = d.sample_shape[2];
  return d.features[std::size_t(row * d.sample_numel() + (c * h + y) * w + x)];
}

TEST(ImageFolders, ClassFoldersOfPngAndJpegBecomeLabelledPlanarSamples) {
  TempDir dir;
  write_png(dir / "train/red/a.png", Picture::solid(8, 8, 255, 0, 0));
  write_png(dir / "train/red/b.PNG", Picture::solid(8, 8, 200, 0, 0));
  write_jpeg(dir / "train/blue/c.jpg", Picture::solid(8, 8, 0, 0, 255));
  write_text(dir / "train/blue/notes.txt", "not an image: skipped");
  write_text(dir / "train/blue/.hidden.png", "hidden: skipped");
  const DatasetSplit s = load_dataset(folder_spec(dir / "train", 3, 8));
  const Dataset& d = s.train;
  EXPECT_EQ(d.sample_shape, (std::vector<std::int64_t>{3, 8, 8}));
  // Classes in byte order of their folder names, files in byte order.
  EXPECT_EQ(d.class_names, (std::vector<std::string>{"blue", "red"}));
  EXPECT_EQ(d.num_classes, 2);
  ASSERT_EQ(d.size(), 3);
  EXPECT_EQ(d.targets, (std::vector<float>{0, 1, 1}));
  // The JPEG: blue within its compression error; channels are planes.
  EXPECT_NEAR(pixel(d, 0, 0, 3, 3), 0.0f, 3.0f / 255);
  EXPECT_NEAR(pixel(d, 0, 2, 3, 3), 1.0f, 3.0f / 255);
  // The PNGs are exact, scaled to [0, 1].
  EXPECT_FLOAT_EQ(pixel(d, 1, 0, 0, 0), 1.0f);
  EXPECT_FLOAT_EQ(pixel(d, 1, 1, 7, 7), 0.0f);
  EXPECT_FLOAT_EQ(pixel(d, 2, 0, 5, 2), 200.0f / 255);
  EXPECT_EQ(s.validation.size(), 0);

  DatasetSpec raw = folder_spec(dir / "train", 3, 8);
  raw.normalize = false;
  EXPECT_FLOAT_EQ(pixel(load_dataset(raw).train, 2, 0, 5, 2), 200.0f);
}

TEST(ImageFolders, ConvertsToGreyAndResizesToTheModelsSize) {
  TempDir dir;
  // 16×16: the left half white, the right half black.
  Picture halves{16, 16, {}};
  for (int y = 0; y < 16; ++y)
    for (int x = 0; x < 16; ++x)
      for (int c = 0; c < 3; ++c) halves.rgb.push_back(x < 8 ? 255 : 0);
  write_png(dir / "set/a/halves.png", halves);
  write_png(dir / "set/b/green.png", Picture::solid(5, 3, 0, 255, 0));
  const Dataset d = load_dataset(folder_spec(dir / "set", 1, 4)).train;
  EXPECT_EQ(d.sample_shape, (std::vector<std::int64_t>{1, 4, 4}));
  // Shrunk to 4×4, the halves stay halves (the filter only blurs the seam).
  EXPECT_NEAR(pixel(d, 0, 0, 2, 0), 1.0f, 0.02f);
  EXPECT_NEAR(pixel(d, 0, 0, 2, 3), 0.0f, 0.02f);
  // Pure green in grey: its BT.601 luma, 0.587, as libjpeg gives for JPEG.
  EXPECT_NEAR(pixel(d, 1, 0, 1, 1), 0.587f, 1.0f / 255);
  // A 5×3 picture stretched to 4×4 is still uniform.
  EXPECT_NEAR(pixel(d, 1, 0, 0, 0), pixel(d, 1, 0, 3, 3), 1e-6f);
}

TEST(ImageFolders, AValidationFolderNumbersClassesAsTheTrainingFolder) {
  TempDir dir;
  for (const char* c : {"ant", "bee", "cat"})
    write_png(dir / "train" / c / "1.png", Picture::solid(4, 4, 10, 10, 10));
  write_png(dir / "val/cat/1.png", Picture::solid(4, 4, 10, 10, 10));
  DatasetSpec spec = folder_spec(dir / "train", 1, 4);
  spec.validation_path = dir / "val";
  const DatasetSplit s = load_dataset(spec);
  EXPECT_EQ(s.train.size(), 3);
  ASSERT_EQ(s.validation.size(), 1);
  EXPECT_EQ(s.validation.targets[0], 2.0f);  // cat is the third training class
  EXPECT_EQ(s.validation.num_classes, 3);

  write_png(dir / "val/dog/1.png", Picture::solid(4, 4, 10, 10, 10));
  EXPECT_THAT(message_of([&] { load_dataset(spec); }),
              AllOf(HasSubstr("val/dog"), HasSubstr("class 'dog' is not one of the training classes")));
}

TEST(ImageFolders, WithoutAValidationFolderTheFractionSplits) {
  TempDir dir;
  for (int i = 0; i < 10; ++i)
    write_png(dir / "all" / (i % 2 ? "odd" : "even") / (std::to_string(i) + ".png"),
              Picture::solid(4, 4, 0, 0, 0));
  DatasetSpec spec = folder_spec(dir / "all", 1, 4);
  spec.validation_fraction = 0.2;
  const DatasetSplit s = load_dataset(spec);
  EXPECT_EQ(s.train.size(), 8);
  EXPECT_EQ(s.validation.size(), 2);
}

TEST(ImageFolders, BadFoldersAndFilesAreNamed) {
  TempDir dir;
  const auto load = [&](const std::filesystem::path& folder) {
    return message_of([&] { load_dataset(folder_spec(folder, 3, 8)); });
  };
  EXPECT_THAT(load(dir / "missing"), AllOf(HasSubstr("missing"), HasSubstr("folder not found")));
  std::filesystem::create_directories(dir / "flat");
  write_png(dir / "flat/1.png", Picture::solid(4, 4, 1, 2, 3));
  EXPECT_THAT(load(dir / "flat"), HasSubstr("has no class folders"));
  EXPECT_THAT(load(dir / "flat/1.png"), HasSubstr("is a file"));

  write_png(dir / "one/cat/1.png", Picture::solid(4, 4, 1, 2, 3));
  std::filesystem::create_directories(dir / "one/dog");
  write_text(dir / "one/dog/readme.txt", "no pictures here");
  EXPECT_THAT(load(dir / "one"), AllOf(HasSubstr("one/dog"), HasSubstr("class 'dog' has no images")));

  write_png(dir / "bad/cat/1.png", Picture::solid(4, 4, 1, 2, 3));
  write_text(dir / "bad/cat/2.png", "this is text, not a picture");
  EXPECT_THAT(load(dir / "bad"),
              AllOf(HasSubstr("bad/cat/2.png"), HasSubstr("neither a PNG nor a JPEG")));

  // A PNG cut short, and a JPEG whose data is garbage after its header.
  write_png(dir / "cut/cat/1.png", Picture::solid(16, 16, 1, 2, 3));
  std::ifstream in(dir / "cut/cat/1.png", std::ios::binary);
  const std::string png((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();
  write_text(dir / "cut/cat/1.png", png.substr(0, png.size() / 2));
  EXPECT_THAT(load(dir / "cut"),
              AllOf(HasSubstr("cut/cat/1.png"), HasSubstr("does not decode as PNG")));
  std::filesystem::create_directories(dir / "junk/cat");
  write_text(dir / "junk/cat/1.jpg", std::string("\xFF\xD8\xFF\xE0", 4) + std::string(64, 'x'));
  EXPECT_THAT(load(dir / "junk"),
              AllOf(HasSubstr("junk/cat/1.jpg"), HasSubstr("does not decode as JPEG")));

  DatasetSpec two = folder_spec(dir / "one", 2, 8);
  EXPECT_THAT(message_of([&] { load_dataset(two); }), HasSubstr("dataset.channels"));
}

TEST(ImageFolders, PeekReadsClassesFromFolderNamesOnly) {
  TempDir dir;
  write_png(dir / "p/x/1.png", Picture::solid(4, 4, 0, 0, 0));
  std::filesystem::create_directories(dir / "p/y");
  write_text(dir / "p/y/broken.png", "never decoded by a peek");
  const DatasetShape shape = peek_dataset(folder_spec(dir / "p", 3, 28));
  EXPECT_EQ(shape.sample_shape, (std::vector<std::int64_t>{3, 28, 28}));
  EXPECT_EQ(shape.num_classes, 2);
}

TEST(ImageFolders, ProjectFilesRoundTripTheFolderSizeAndAugmentation) {
  const std::string text = R"({
    "format": "mantissa-project", "version": 1, "name": "pets",
    "dataset": {"kind": "images", "path": "pets/train", "validation_path": "pets/val",
                "channels": 3, "height": 24, "width": 20,
                "augment": {"crop_padding": 2, "flip": true}},
    "model": {"nodes": [
      {"id": "in", "type": "Input", "params": {"shape": [3, 24, 20]}},
      {"id": "flat", "type": "Flatten", "inputs": ["in"]},
      {"id": "head", "type": "Linear", "inputs": ["flat"], "params": {"out_features": 2}},
      {"id": "loss", "type": "SoftmaxCrossEntropy", "inputs": ["head"]}]},
    "training": {"steps": 1}})";
  const Project p = parse_project(text, "/data/x/pets.json");
  EXPECT_EQ(p.dataset.path, std::filesystem::path("/data/x/pets/train"));
  EXPECT_EQ(p.dataset.validation_path, std::filesystem::path("/data/x/pets/val"));
  EXPECT_EQ(p.dataset.height, 24);
  EXPECT_EQ(p.dataset.width, 20);
  EXPECT_EQ(p.dataset.crop_padding, 2);
  EXPECT_TRUE(p.dataset.flip);
  const Project back = parse_project(project_to_json(p), "/data/x/pets.json");
  EXPECT_EQ(back.dataset.path, p.dataset.path);
  EXPECT_EQ(back.dataset.validation_path, p.dataset.validation_path);
  EXPECT_EQ(back.dataset.channels, 3);
  EXPECT_EQ(back.dataset.height, 24);
  EXPECT_EQ(back.dataset.crop_padding, 2);
  EXPECT_TRUE(back.dataset.flip);

  std::string typo = text;
  typo.replace(typo.find("\"flip\""), 6, "\"flop\"");
  EXPECT_THAT(message_of([&] { parse_project(typo, "pets.json"); }),
              AllOf(HasSubstr("/dataset/augment"), HasSubstr("flop")));
  std::string grey2 = text;
  grey2.replace(grey2.find("\"channels\": 3"), 13, "\"channels\": 2");
  EXPECT_THAT(message_of([&] { parse_project(grey2, "pets.json"); }),
              AllOf(HasSubstr("/dataset/channels"), HasSubstr("1 (grey) or 3 (RGB)")));
}

// A batch of `n` distinct 1×H×W samples (value = row * 1000 + pixel index + 1,
// so no pixel is 0 and every pixel says where it came from).
Batch numbered_batch(std::int64_t n, std::int64_t h, std::int64_t w, std::int64_t epoch,
                     std::int64_t first_row = 0) {
  Batch b;
  b.epoch = epoch;
  b.size = n;
  for (std::int64_t i = 0; i < n; ++i) {
    b.samples.push_back(first_row + i);
    for (std::int64_t p = 0; p < h * w; ++p) b.x.push_back(float((first_row + i) * 1000 + p + 1));
  }
  return b;
}

TEST(Augmentation, FlipMirrorsAboutHalfTheSamplesAndNothingElse) {
  DatasetSpec spec;
  spec.flip = true;
  const std::int64_t n = 400, h = 3, w = 5;
  Batch b = numbered_batch(n, h, w, 0);
  const Batch original = b;
  augment_batch(b, {1, h, w}, spec, 7);
  int flipped = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const float* before = original.x.data() + i * h * w;
    const float* after = b.x.data() + i * h * w;
    const bool same = std::equal(before, before + h * w, after);
    bool mirrored = true;
    for (std::int64_t y = 0; y < h; ++y)
      for (std::int64_t x = 0; x < w; ++x)
        mirrored = mirrored && after[y * w + x] == before[y * w + (w - 1 - x)];
    EXPECT_TRUE(same || mirrored) << "sample " << i;
    flipped += !same;
  }
  EXPECT_GT(flipped, 150);
  EXPECT_LT(flipped, 250);
}

TEST(Augmentation, CropShiftsWithinThePaddingAndFillsWithZeros) {
  DatasetSpec spec;
  spec.crop_padding = 2;
  const std::int64_t n = 200, h = 6, w = 6;
  Batch b = numbered_batch(n, h, w, 3);
  const Batch original = b;
  augment_batch(b, {1, h, w}, spec, 11);
  int shifted = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const float* before = original.x.data() + i * h * w;
    const float* after = b.x.data() + i * h * w;
    // Find the shift from any pixel that kept a value; all must agree.
    std::optional<std::pair<std::int64_t, std::int64_t>> shift;
    for (std::int64_t y = 0; y < h; ++y)
      for (std::int64_t x = 0; x < w; ++x) {
        const float v = after[y * w + x];
        if (v == 0.0f) continue;
        const auto p = std::int64_t(v) - i * 1000 - 1;
        ASSERT_TRUE(p >= 0 && p < h * w) << "sample " << i << " holds another sample's pixel";
        const std::pair<std::int64_t, std::int64_t> d{p / w - y, p % w - x};
        if (!shift) shift = d;
        EXPECT_EQ(*shift, d) << "sample " << i;
      }
    ASSERT_TRUE(shift) << "a padding of 2 never crops a 6×6 image away entirely";
    EXPECT_LE(std::abs(shift->first), 2);
    EXPECT_LE(std::abs(shift->second), 2);
    // Zeros exactly where the shift left the picture.
    for (std::int64_t y = 0; y < h; ++y)
      for (std::int64_t x = 0; x < w; ++x) {
        const std::int64_t sy = y + shift->first, sx = x + shift->second;
        const bool inside = sy >= 0 && sy < h && sx >= 0 && sx < w;
        EXPECT_EQ(after[y * w + x] == 0.0f, !inside);
      }
    shifted += *shift != std::pair<std::int64_t, std::int64_t>{0, 0};
    (void)before;
  }
  EXPECT_GT(shifted, 150);  // 24 of the 25 shifts move the picture
}

TEST(Augmentation, EachDrawDependsOnSeedEpochAndSampleOnly) {
  DatasetSpec spec;
  spec.crop_padding = 3;
  spec.flip = true;
  const std::vector<std::int64_t> shape{2, 8, 8};
  // Rows 10..19 in one batch, and rows 15..24 in another: the five shared
  // samples come out the same, whatever batch and position they are in.
  Batch a = numbered_batch(10, 8, 16, 4, 10);  // 2 channels × 8 × 8 = 8 × 16 values
  Batch b = numbered_batch(10, 8, 16, 4, 15);
  augment_batch(a, shape, spec, 99);
  augment_batch(b, shape, spec, 99);
  for (int i = 0; i < 5; ++i)
    EXPECT_TRUE(std::equal(a.x.begin() + (5 + i) * 128, a.x.begin() + (6 + i) * 128,
                           b.x.begin() + i * 128))
        << "row " << 15 + i;
  // Another epoch or another seed draws again.
  Batch next_epoch = numbered_batch(10, 8, 16, 5, 10);
  augment_batch(next_epoch, shape, spec, 99);
  EXPECT_NE(next_epoch.x, a.x);
  Batch other_seed = numbered_batch(10, 8, 16, 4, 10);
  augment_batch(other_seed, shape, spec, 100);
  EXPECT_NE(other_seed.x, a.x);
  // Both channels of a sample move together.
  Batch again = numbered_batch(10, 8, 16, 4, 10);
  augment_batch(again, shape, spec, 99);
  EXPECT_EQ(again.x, a.x);
}

TEST(Augmentation, NeedsImageSamples) {
  DatasetSpec spec;
  spec.flip = true;
  Batch b;
  EXPECT_THAT(message_of([&] { augment_batch(b, {784}, spec, 1); }),
              AllOf(HasSubstr("needs image samples"), HasSubstr("784")));
  spec.flip = false;
  EXPECT_FALSE(augments(spec));
  EXPECT_NO_THROW(augment_batch(b, {784}, spec, 1));  // nothing asked, nothing checked
}

TEST(ImageFolders, TrainsWithAugmentationOnTheLoaderThread) {
  TempDir dir;
  // Bright pictures against dark ones: learnable whatever the crop and flip.
  for (int i = 0; i < 24; ++i) {
    const auto v = static_cast<unsigned char>(i % 2 ? 220 - i : 20 + i);
    write_png(dir / "set" / (i % 2 ? "bright" : "dark") / (std::to_string(i) + ".png"),
              Picture::solid(10, 10, v, v, v));
  }
  Project p = parse_project(R"({
    "format": "mantissa-project", "version": 1, "name": "bright-dark",
    "dataset": {"kind": "images", "path": "set", "channels": 1, "height": 8, "width": 8,
                "validation_fraction": 0.25, "augment": {"crop_padding": 2, "flip": true}},
    "model": {"nodes": [
      {"id": "in", "type": "Input", "params": {"shape": [1, 8, 8]}},
      {"id": "flat", "type": "Flatten", "inputs": ["in"]},
      {"id": "head", "type": "Linear", "inputs": ["flat"], "params": {"out_features": 2}},
      {"id": "loss", "type": "SoftmaxCrossEntropy", "inputs": ["head"]}]},
    "training": {"policy": "mixed_bfloat16", "batch_size": 6, "steps": 60, "seed": 2,
                 "optimizer": {"type": "sgd", "lr": 0.1, "momentum": 0.9}}})",
                            (dir / "p.json").string());
  auto backend = create_backend("cpu");
  Trainer trainer(p, *backend);
  testing::RecordingSink sink;
  TrainControl control;
  trainer.run(sink, control);
  ASSERT_EQ(sink.steps.size(), 60u);
  ASSERT_FALSE(sink.epochs.empty());
  EXPECT_LT(sink.epochs.back().train_loss, sink.epochs.front().train_loss);
  EXPECT_GE(sink.epochs.back().val_accuracy, 0.8);
}

}  // namespace
}  // namespace mantissa
