#include "services/DatasetService.hpp"

#include <QFile>
#include <QMetaObject>
#include <algorithm>
#include <exception>
#include <optional>

namespace mantissa::ui {

namespace {

// Splits one CSV line on commas outside double quotes.
QStringList csvCells(const QString& line) {
  QStringList cells;
  QString cell;
  bool quoted = false;
  for (int i = 0; i < line.size(); ++i) {
    const QChar c = line[i];
    if (quoted) {
      if (c == u'"' && i + 1 < line.size() && line[i + 1] == u'"') {
        cell += c;
        ++i;
      } else if (c == u'"') {
        quoted = false;
      } else {
        cell += c;
      }
    } else if (c == u'"') {
      quoted = true;
    } else if (c == u',') {
      cells << cell;
      cell.clear();
    } else {
      cell += c;
    }
  }
  cells << cell;
  return cells;
}

}  // namespace

bool isImageData(const Dataset& data) {
  const auto& s = data.sample_shape;
  return (s.size() == 3 && s[0] >= 1 && s[0] <= 4 && s[1] >= 4 && s[2] >= 4) ||
         (s.size() == 2 && s[0] >= 4 && s[1] >= 4);
}

QImage sampleThumbnail(const Dataset& data, std::int64_t row, int size) {
  if (!isImageData(data) || row < 0 || row >= data.size()) return {};
  const auto& s = data.sample_shape;
  const int h = int(s[s.size() - 2]), w = int(s[s.size() - 1]);
  const bool rgb = s.size() == 3 && s[0] == 3;
  const int planes = rgb ? 3 : 1;  // otherwise the first channel, in grey
  const std::int64_t plane = std::int64_t(h) * w;
  const float* px = data.features.data() + row * data.sample_numel();
  // One range for all channels, so colours keep their balance.
  const auto [lo, hi] = std::minmax_element(px, px + planes * plane);
  const float range = *hi - *lo > 0 ? *hi - *lo : 1.0f;
  const auto level = [&](std::int64_t at) {
    return uchar(std::clamp((px[at] - *lo) / range, 0.0f, 1.0f) * 255.0f);
  };
  QImage img(w, h, rgb ? QImage::Format_RGB888 : QImage::Format_Grayscale8);
  for (int y = 0; y < h; ++y) {
    uchar* line = img.scanLine(y);
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < planes; ++c) line[x * planes + c] = level(c * plane + y * w + x);
  }
  return img.scaled(size, size, Qt::KeepAspectRatio, Qt::FastTransformation);
}

Dataset previewSamples(const Dataset& train, const DatasetSpec& spec, std::uint64_t seed,
                       std::int64_t count) {
  const std::int64_t n = std::min(count, train.size());
  std::vector<std::int64_t> rows(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) rows[std::size_t(i)] = i * train.size() / n;
  Batch batch;
  gather_batch(train, rows, batch);
  batch.epoch = 0;
  if (augments(spec)) augment_batch(batch, train.sample_shape, spec, seed);
  Dataset shown;
  shown.name = train.name;
  shown.sample_shape = train.sample_shape;
  shown.target_dim = train.target_dim;
  shown.num_classes = train.num_classes;
  shown.class_names = train.class_names;
  shown.features = std::move(batch.x);
  shown.targets = std::move(batch.y);
  return shown;
}

QStringList csvLabelColumns(const QString& file) {
  QStringList columns;
  QFile f(file);
  if (!f.open(QIODevice::ReadOnly | QIODevice::Text)) return columns;
  QString header;
  while (header.trimmed().isEmpty() && !f.atEnd()) header = QString::fromUtf8(f.readLine());
  const QStringList cells = csvCells(header.trimmed());
  for (int i = 0; i < cells.size(); ++i) {
    bool number = false;
    cells[i].trimmed().toDouble(&number);
    columns << (number || cells[i].trimmed().isEmpty() ? QString::number(i) : cells[i].trimmed());
  }
  return columns;
}

DatasetService::DatasetService(QObject* parent) : QObject(parent) {
  qRegisterMetaType<DatasetSplitPtr>();
  qRegisterMetaType<DatasetShape>();
}

DatasetService::~DatasetService() = default;

quint64 DatasetService::load(const DatasetSpec& spec, const std::filesystem::path& base) {
  const quint64 request = latestLoad_ = ++request_;
  workers_.start([this, spec, base, request] {
    DatasetSplitPtr split;
    QString error;
    try {
      split = std::make_shared<const DatasetSplit>(load_dataset(spec, base));
    } catch (const std::exception& e) {
      error = QString::fromUtf8(e.what());
    }
    QMetaObject::invokeMethod(
        this,
        [this, request, split, error] {
          if (request != latestLoad_) return;  // a newer load was asked for
          if (split)
            emit datasetLoaded(request, split);
          else
            emit datasetLoadFailed(request, error);
        },
        Qt::QueuedConnection);
  });
  return request;
}

quint64 DatasetService::readLabelColumns(const QString& csvFile) {
  const quint64 request = latestColumns_ = ++request_;
  workers_.start([this, csvFile, request] {
    const QStringList columns = csvLabelColumns(csvFile);
    QMetaObject::invokeMethod(
        this,
        [this, request, csvFile, columns] {
          if (request != latestColumns_) return;
          emit labelColumnsRead(request, csvFile, columns);
        },
        Qt::QueuedConnection);
  });
  return request;
}

quint64 DatasetService::peek(const DatasetSpec& spec, const std::filesystem::path& base) {
  const quint64 request = latestPeek_ = ++request_;
  workers_.start([this, spec, base, request] {
    std::optional<DatasetShape> shape;
    QString error;
    try {
      shape = peek_dataset(spec, base);
    } catch (const std::exception& e) {
      error = QString::fromUtf8(e.what());
    }
    QMetaObject::invokeMethod(
        this,
        [this, request, shape, error] {
          if (request != latestPeek_) return;
          if (shape)
            emit datasetPeeked(request, *shape);
          else
            emit datasetPeekFailed(request, error);
        },
        Qt::QueuedConnection);
  });
  return request;
}

}  // namespace mantissa::ui
