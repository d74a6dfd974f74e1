#include "EvaluationView.hpp"

#include <QHeaderView>
#include <QLabel>
#include <QListWidget>
#include <QTableWidget>
#include <QVBoxLayout>
#include <algorithm>

#include "PolicyColors.hpp"

namespace mantissa::ui {

EvaluationView::EvaluationView(QWidget* parent)
    : QWidget(parent), service_(new EvaluationService(this)) {
  connect(service_, &EvaluationService::runEvaluated, this,
          [this](quint64, const RunEvaluation& r) {
            busy_ = false;
            showResult(r);
            emit evaluated();
          });
  connect(service_, &EvaluationService::evaluationFailed, this,
          [this](quint64, qint64, const QString& message) { showFailure(message); });
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
  busy_ = true;
  error_->hide();
  title_->setText(tr("Evaluating run %1…").arg(runId));
  service_->evaluate(databasePath, runId);
}

void EvaluationView::showFailure(const QString& message) {
  busy_ = false;
  title_->setText(tr("Evaluation failed"));
  error_->setText(message);
  error_->show();
  emit failed(message);
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
