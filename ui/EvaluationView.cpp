#include "EvaluationView.hpp"

#include <QFileInfo>
#include <QHeaderView>
#include <QLabel>
#include <QListWidget>
#include <QTableWidget>
#include <QVBoxLayout>
#include <algorithm>

#include "DatasetPage.hpp"
#include "PolicyColors.hpp"
#include "mantissa/data.hpp"
#include "mantissa/error.hpp"
#include "mantissa/evaluate.hpp"
#include "mantissa/store.hpp"

namespace mantissa::ui {

RunEvaluation evaluateStoredRun(const QString& databasePath, qint64 runId) {
  if (!QFileInfo::exists(databasePath))
    throw InputError(databasePath.toStdString() + ": no run database here");
  RunStore store(databasePath.toStdString(), StoreOptions::reading());
  const Evaluation e = evaluate_run(store, runId);  // the same job as `mantissa evaluate`
  if (!e.classification)
    throw InputError("run " + std::to_string(runId) +
                     " is not a classifier: there is no confusion matrix to show");
  RunEvaluation r;
  r.runId = runId;
  r.step = e.step;
  r.numClasses = e.num_classes;
  for (const std::string& name : e.class_names) r.classNames << QString::fromStdString(name);
  r.confusion = QVector<qint64>(e.confusion.begin(), e.confusion.end());
  r.total = e.samples;
  r.correct = e.correct;
  r.loss = e.loss;
  for (double a : e.per_class_accuracy()) r.perClassAccuracy << a;
  for (const MisclassifiedSample& m : e.misclassified)
    r.misclassified.push_back({m.row, m.truth, m.predicted, sampleThumbnail(*e.data, m.row)});
  return r;
}

EvaluationView::EvaluationView(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  title_ = new QLabel(tr("Choose a run with a checkpoint to evaluate."), this);
  title_->setWordWrap(true);
  error_ = new QLabel(this);
  error_->setWordWrap(true);
  error_->setStyleSheet(QStringLiteral("color: %1;").arg(okabe_ito::kVermillion.name()));
  error_->hide();
  confusion_ = new QTableWidget(this);
  confusion_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  confusion_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  mistakes_ = new QListWidget(this);
  mistakes_->setViewMode(QListView::IconMode);
  mistakes_->setIconSize(QSize(56, 56));
  mistakes_->setResizeMode(QListView::Adjust);
  mistakes_->setMovement(QListView::Static);
  mistakes_->hide();
  layout->addWidget(title_);
  layout->addWidget(error_);
  layout->addWidget(
      new QLabel(tr("Confusion matrix (rows: true class, columns: predicted)"), this));
  layout->addWidget(confusion_, 2);
  layout->addWidget(mistakes_, 1);
}

EvaluationView::~EvaluationView() = default;

QString EvaluationView::errorText() const {
  return error_->isHidden() ? QString() : error_->text();
}

void EvaluationView::evaluateRun(const QString& databasePath, qint64 runId) {
  const std::uint64_t generation = ++generation_;
  busy_ = true;
  error_->hide();
  title_->setText(tr("Evaluating run %1…").arg(runId));
  workers_.start([this, databasePath, runId, generation] {
    auto result = std::make_shared<RunEvaluation>();
    auto error = std::make_shared<QString>();
    try {
      *result = evaluateStoredRun(databasePath, runId);
    } catch (const std::exception& e) {
      *error = QString::fromStdString(e.what());
    }
    QMetaObject::invokeMethod(
        this,
        [this, generation, result, error] {
          if (generation != generation_) return;
          busy_ = false;
          if (!error->isEmpty()) {
            title_->setText(tr("Evaluation failed"));
            error_->setText(*error);
            error_->show();
            emit failed(*error);
            return;
          }
          showResult(*result);
          emit evaluated();
        },
        Qt::QueuedConnection);
  });
}

void EvaluationView::showResult(const RunEvaluation& r) {
  result_ = r;
  const double accuracy = r.total ? 100.0 * double(r.correct) / double(r.total) : 0.0;
  title_->setText(tr("Run %1 at step %2: %3 of %4 validation samples right (%5%), loss %6")
                      .arg(r.runId)
                      .arg(r.step)
                      .arg(r.correct)
                      .arg(r.total)
                      .arg(accuracy, 0, 'f', 2)
                      .arg(r.loss, 0, 'f', 4));
  const int n = r.numClasses;
  confusion_->clear();
  confusion_->setRowCount(n);
  confusion_->setColumnCount(n + 1);
  confusion_->setHorizontalHeaderLabels(QStringList(r.classNames) << tr("accuracy"));
  confusion_->setVerticalHeaderLabels(r.classNames);
  qint64 peak = 1;
  for (qint64 c : r.confusion) peak = std::max(peak, c);
  for (int t = 0; t < n; ++t)
    for (int p = 0; p < n; ++p) {
      const qint64 count = r.confusion[t * n + p];
      auto* item = new QTableWidgetItem(QString::number(count));
      item->setTextAlignment(Qt::AlignCenter);
      const double level = double(count) / double(peak);
      // Colour-blind safe (Okabe–Ito) and translucent, so it reads on light
      // and dark palettes alike.
      const QColor base = t == p ? okabe_ito::kBlue : okabe_ito::kVermillion;
      QColor shade = base;
      shade.setAlphaF(count ? 0.12 + 0.78 * level : 0.0);
      item->setBackground(shade);
      if (level > 0.6) item->setForeground(Qt::white);
      confusion_->setItem(t, p, item);
    }
  // The last column: each true class's share predicted right.
  for (int t = 0; t < n; ++t) {
    const double a = r.perClassAccuracy.value(t, -1.0);
    auto* item =
        new QTableWidgetItem(a < 0 ? QStringLiteral("–") : QString::number(100.0 * a, 'f', 1) + "%");
    item->setTextAlignment(Qt::AlignCenter);
    item->setToolTip(tr("Samples of class %1 predicted right").arg(r.classNames.value(t)));
    confusion_->setItem(t, n, item);
  }
  mistakes_->clear();
  bool images = false;
  for (const auto& m : r.misclassified) {
    if (m.thumbnail.isNull()) continue;
    images = true;
    mistakes_->addItem(
        new QListWidgetItem(QIcon(QPixmap::fromImage(m.thumbnail)),
                            QStringLiteral("%1 → %2").arg(r.classNames.value(m.truth),
                                                          r.classNames.value(m.predicted))));
  }
  mistakes_->setVisible(images);
}

}  // namespace mantissa::ui
