#pragma once
// Datasets for the studio: loads a project's dataset (the engine's
// load_dataset), reads the shape it will have from its files' headers
// (peek_dataset) and reads a CSV file's header on worker threads, so the Data
// page never reads a file itself. Only the newest request of each kind is
// answered: a load asked for before another is dropped when it ends.
#include <QImage>
#include <QObject>
#include <QString>
#include <QStringList>
#include <cstdint>
#include <filesystem>
#include <memory>

#include "WorkerThreads.hpp"
#include "mantissa/data.hpp"
#include "mantissa/model.hpp"

namespace mantissa::ui {

// A grayscale thumbnail of sample `row` when the dataset holds images
// (sample shape {C, H, W} or {H, W}); a null image otherwise. Any thread.
QImage sampleThumbnail(const mantissa::Dataset& data, std::int64_t row, int size = 56);
bool isImageData(const mantissa::Dataset& data);
// Up to `count` training samples of `train` spread evenly over it (so every
// class of a folder-ordered set shows), augmented as `spec` asks exactly as
// the loader thread augments them in epoch 0 of a run seeded `seed`; their
// labels and class names kept.
mantissa::Dataset previewSamples(const mantissa::Dataset& train, const mantissa::DatasetSpec& spec,
                                 std::uint64_t seed, std::int64_t count);

// The label column choices of a CSV file: one per column of its first
// non-empty line, the header's name or, where it holds a number, the index.
// Empty when the file cannot be read. Reads the file (call it on a worker).
QStringList csvLabelColumns(const QString& file);

using DatasetSplitPtr = std::shared_ptr<const mantissa::DatasetSplit>;

class DatasetService : public QObject {
  Q_OBJECT

 public:
  explicit DatasetService(QObject* parent = nullptr);
  ~DatasetService() override;

  // Loads `spec` with relative paths taken from `base`; datasetLoaded or
  // datasetLoadFailed follows with the returned request number.
  quint64 load(const mantissa::DatasetSpec& spec, const std::filesystem::path& base);
  // labelColumnsRead follows.
  quint64 readLabelColumns(const QString& csvFile);
  // The shape `spec` will load, from its files' headers only; datasetPeeked or
  // datasetPeekFailed follows.
  quint64 peek(const mantissa::DatasetSpec& spec, const std::filesystem::path& base);

 signals:
  void datasetLoaded(quint64 request, const mantissa::ui::DatasetSplitPtr& split);
  void datasetLoadFailed(quint64 request, const QString& message);
  void labelColumnsRead(quint64 request, const QString& csvFile, const QStringList& columns);
  void datasetPeeked(quint64 request, const mantissa::DatasetShape& shape);
  void datasetPeekFailed(quint64 request, const QString& message);

 private:
  quint64 request_ = 0;
  quint64 latestLoad_ = 0;
  quint64 latestColumns_ = 0;
  quint64 latestPeek_ = 0;
  WorkerThreads workers_;  // last member: joined first, while the rest still exists
};

}  // namespace mantissa::ui

Q_DECLARE_METATYPE(mantissa::ui::DatasetSplitPtr)
Q_DECLARE_METATYPE(mantissa::DatasetShape)
