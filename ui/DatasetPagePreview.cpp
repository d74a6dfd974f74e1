// The Data page's preview of a loaded dataset: its summary, the class
// balance, and the first samples (pictures as epoch 1's augmentation makes
// them, windows of text as text, table rows with the CSV header's names).
#include "DatasetPage.hpp"

#include <qcustomplot.h>

#include <QFont>
#include <QHeaderView>
#include <QLabel>
#include <QListWidget>
#include <QStackedWidget>
#include <QTableWidget>

#include <algorithm>

#include "ProjectDocument.hpp"

namespace mantissa::ui {

namespace {

// The index of the label column among a CSV file's columns, as load_csv
// chooses it; -1 when it names no column.
int labelIndex(const QStringList& columns, const QString& labelColumn) {
  const QString wanted = labelColumn.trimmed();
  if (wanted.isEmpty()) return int(columns.size()) - 1;
  bool number = false;
  const int i = wanted.toInt(&number);
  if (number) return i >= 0 && i < columns.size() ? i : -1;
  return int(columns.indexOf(wanted));
}

}  // namespace

void DatasetPage::clearPreview() {
  split_.reset();
  loadedSpec_.reset();
  error_->hide();
  summary_->clear();
  balance_->clearPlottables();
  balance_->replot();
  images_->clear();
  table_->clear();
  table_->setRowCount(0);
  table_->setColumnCount(0);
}

void DatasetPage::showSplit() {
  const Dataset& train = split_->train;
  const Dataset& val = split_->validation;
  QStringList dims;
  for (auto d : train.sample_shape) dims << QString::number(d);
  summary_->setText(tr("Sample shape: [%1]   Train: %2   Validation: %3   Classes: %4")
                        .arg(dims.join(QStringLiteral("×")))
                        .arg(train.size())
                        .arg(val.size())
                        .arg(train.num_classes));

  balance_->clearPlottables();
  if (train.num_classes > 0) {
    QVector<double> keys, counts(train.num_classes, 0.0);
    for (int c = 0; c < train.num_classes; ++c) keys << c;
    // Every label: one per sample, or one per position of a sequence.
    for (const Dataset* d : {&train, &val})
      for (float y : d->targets) {
        const int c = int(y);
        if (c >= 0 && c < train.num_classes) counts[c] += 1;
      }
    auto* bars = new QCPBars(balance_->xAxis, balance_->yAxis);
    bars->setData(keys, counts, true);
    bars->setWidth(0.7);
    if (train.num_classes <= 40) {  // names fit under their bars
      QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
      for (int c = 0; c < train.num_classes; ++c)
        ticker->addTick(c, c < int(train.class_names.size())
                               ? QString::fromStdString(train.class_names[std::size_t(c)])
                               : QString::number(c));
      balance_->xAxis->setTicker(ticker);
    } else {  // bytes of a text: numbered
      balance_->xAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    }
    balance_->xAxis->setRange(-0.5, train.num_classes - 0.5);
    balance_->yAxis->setRange(0, *std::max_element(counts.begin(), counts.end()) * 1.1 + 1);
  }
  balance_->replot();

  images_->clear();
  table_->clear();
  if (isImageData(train)) {
    preview_->setCurrentWidget(images_);
    // Training pictures as the first epoch's batches show them: augmented
    // exactly as the loader thread will (same seed, same draw per sample).
    const bool augmented = loadedSpec_ && augments(*loadedSpec_);
    const Dataset from =
        previewSamples(train, loadedSpec_ ? *loadedSpec_ : DatasetSpec{}, trainingSeed(), 32);
    images_->setToolTip(augmented
                            ? tr("Training samples after augmentation, as epoch 1 sees them")
                            : tr("Training samples, spread over the set"));
    for (std::int64_t i = 0; i < std::min<std::int64_t>(32, from.size()); ++i) {
      const int label = int(from.targets[std::size_t(i * from.target_dim)]);
      const QString name = label >= 0 && label < int(from.class_names.size())
                               ? QString::fromStdString(from.class_names[std::size_t(label)])
                               : QString::number(label);
      images_->addItem(
          new QListWidgetItem(QIcon(QPixmap::fromImage(sampleThumbnail(from, i))), name));
    }
    return;
  }
  preview_->setCurrentWidget(table_);
  const std::int64_t rows = std::min<std::int64_t>(50, train.size());
  const std::int64_t f = train.sample_numel();
  if (loadedSpec_ && (loadedSpec_->kind == "text" || loadedSpec_->kind == "fortunes")) {
    // Windows of text, as text: a new line shows as ⏎, a tab as ⇥.
    table_->setRowCount(int(rows));
    table_->setColumnCount(1);
    table_->setHorizontalHeaderLabels({tr("window (%1 bytes)").arg(f)});
    for (std::int64_t i = 0; i < rows; ++i) {
      QByteArray bytes;
      for (std::int64_t j = 0; j < f; ++j)
        bytes.append(char(int(train.features[std::size_t(i * f + j)])));
      QString text = QString::fromUtf8(bytes);
      text.replace(QLatin1Char('\n'), QChar(0x23CE)).replace(QLatin1Char('\t'), QChar(0x21E5));
      auto* item = new QTableWidgetItem(text);
      item->setFont(QFont(QStringLiteral("monospace")));
      table_->setItem(int(i), 0, item);
    }
    table_->horizontalHeader()->setStretchLastSection(true);
    return;
  }
  table_->horizontalHeader()->setStretchLastSection(false);
  table_->setRowCount(int(rows));
  table_->setColumnCount(int(f + train.target_dim));
  labelTableColumns();
  for (std::int64_t i = 0; i < rows; ++i) {
    for (std::int64_t j = 0; j < f; ++j)
      table_->setItem(
          int(i), int(j),
          new QTableWidgetItem(QString::number(train.features[std::size_t(i * f + j)], 'g', 5)));
    for (std::int64_t j = 0; j < train.target_dim; ++j)
      table_->setItem(int(i), int(f + j),
                      new QTableWidgetItem(QString::number(
                          train.targets[std::size_t(i * train.target_dim + j)], 'g', 5)));
  }
}

// The preview's column titles: a CSV file's header names where it has them,
// x0, x1, ... and "label" otherwise.
void DatasetPage::labelTableColumns() {
  const Dataset& train = split_->train;
  const std::int64_t f = train.sample_numel();
  QStringList features, targets;
  for (std::int64_t j = 0; j < f; ++j) features << tr("x%1").arg(j);
  for (std::int64_t j = 0; j < train.target_dim; ++j)
    targets << (train.target_dim == 1 ? tr("label") : tr("y%1").arg(j));
  const bool header =
      loadedSpec_ && loadedSpec_->kind == "csv" &&
      csvColumnsFile_ == resolvedPath(QString::fromStdString(loadedSpec_->path.string())) &&
      csvColumns_.size() == f + 1 && train.target_dim == 1;
  const int label =
      header ? labelIndex(csvColumns_, QString::fromStdString(loadedSpec_->label_column)) : -1;
  if (label >= 0) {
    // csvLabelColumns() numbers the columns whose header cell is a number.
    const auto named = [&](int i) { return csvColumns_[i] != QString::number(i); };
    for (int i = 0, j = 0; i < csvColumns_.size(); ++i) {
      if (i == label) {
        if (named(i)) targets[0] = csvColumns_[i];
        continue;
      }
      if (named(i)) features[j] = csvColumns_[i];
      ++j;
    }
  }
  table_->setHorizontalHeaderLabels(features + targets);
}

}  // namespace mantissa::ui
