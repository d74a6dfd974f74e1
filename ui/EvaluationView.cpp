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
#include "mantissa/backend.hpp"
#include "mantissa/data.hpp"
#include "mantissa/error.hpp"
#include "mantissa/graph.hpp"
#include "mantissa/precision.hpp"
#include "mantissa/store.hpp"
#include "mantissa/tensor.hpp"
#include "mantissa/weights_io.hpp"

namespace mantissa::ui {

RunEvaluation evaluateStoredRun(const QString& databasePath, qint64 runId) {
  if (!QFileInfo::exists(databasePath))
    throw InputError(databasePath.toStdString() + ": no run database here");
  RunStore store(databasePath.toStdString(), StoreOptions::reading());
  const RunRecord run = store.require_run(runId);
  const std::string label = "run " + std::to_string(run.id);
  std::optional<Checkpoint> ck = store.latest_checkpoint(run.id);
  if (!ck) throw InputError(label + " has no checkpoint to evaluate");
  const Project project = parse_project(run.project_json, label + " (project snapshot)");
  const Policy policy = parse_policy(run.policy);

  auto backend = create_backend("cpu");
  Graph graph(project.model, *backend, policy, project.training.seed, label);
  restore_model_state(graph, ck->data);
  if (graph.loss_kind() != LayerKind::SoftmaxCrossEntropy)
    throw InputError(label + " is not a classifier: there is no confusion matrix to show");

  const std::filesystem::path base =
      project.file.empty() ? std::filesystem::path{} : project.file.parent_path();
  const DatasetSplit split = load_dataset(project.dataset, base);
  const Dataset& v = split.validation;
  check_input_shape(v, graph.input_shape().dims(), "input");

  RunEvaluation r;
  r.runId = runId;
  r.step = ck->step;
  r.numClasses = std::max<int>(v.num_classes, int(graph.output_shape().numel()));
  for (int c = 0; c < r.numClasses; ++c)
    r.classNames << (c < int(v.class_names.size())
                         ? QString::fromStdString(v.class_names[std::size_t(c)])
                         : QString::number(c));
  r.confusion.fill(0, r.numClasses * r.numClasses);

  const std::int64_t bs = std::max<std::int64_t>(1, project.training.batch_size);
  const std::int64_t f = v.sample_numel();
  ExecContext ctx{*backend, false, 0};
  graph.prepare_step();
  for (std::int64_t start = 0; start < v.size(); start += bs) {
    const std::int64_t n = std::min(bs, v.size() - start);
    std::vector<std::int64_t> dims{n};
    for (auto d : graph.input_shape().dims()) dims.push_back(d);
    Tensor x = Tensor::from_host(*backend, Shape(dims), DType::F32, v.features.data() + start * f);
    Tensor pred = graph.forward(ctx, x);
    Tensor pred32 = Tensor::empty(*backend, pred.shape(), DType::F32);
    backend->cast(pred, pred32);
    const std::vector<float> out = pred32.to_host();
    graph.clear_saved();
    const std::int64_t k = std::int64_t(out.size()) / n;
    for (std::int64_t i = 0; i < n; ++i) {
      const float* row = out.data() + i * k;
      const int predicted = int(std::max_element(row, row + k) - row);
      const std::int64_t sample = start + i;
      const int truth = int(v.targets[std::size_t(sample * v.target_dim)]);
      if (truth < 0 || truth >= r.numClasses || predicted >= r.numClasses) continue;
      ++r.confusion[truth * r.numClasses + predicted];
      ++r.total;
      if (truth == predicted) {
        ++r.correct;
      } else if (r.misclassified.size() < 32) {
        r.misclassified.push_back({sample, truth, predicted, sampleThumbnail(v, sample)});
      }
    }
  }
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
  title_->setText(tr("Run %1 at step %2: %3 of %4 validation samples right (%5%)")
                      .arg(r.runId)
                      .arg(r.step)
                      .arg(r.correct)
                      .arg(r.total)
                      .arg(accuracy, 0, 'f', 2));
  const int n = r.numClasses;
  confusion_->clear();
  confusion_->setRowCount(n);
  confusion_->setColumnCount(n);
  confusion_->setHorizontalHeaderLabels(r.classNames);
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
