#include "TradeoffPanel.hpp"

#include <qcustomplot.h>

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QSignalBlocker>
#include <QTableWidget>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <set>

#include "PlotTheme.hpp"
#include "PolicyColors.hpp"
#include "mantissa/store.hpp"
#include "mantissa/units.hpp"

namespace mantissa::ui {

namespace {

struct AxisName {
  TradeoffAxis axis;
  const char* name;
};
constexpr AxisName kAxisNames[] = {
    {TradeoffAxis::ValAccuracy, "Validation accuracy"},
    {TradeoffAxis::ValLoss, "Validation loss"},
    {TradeoffAxis::TimeToTarget, "Time to target accuracy"},
    {TradeoffAxis::SamplesPerS, "Samples/s"},
    {TradeoffAxis::PeakMemory, "Peak memory"},
    {TradeoffAxis::WastedSteps, "Wasted steps"},
    {TradeoffAxis::Divergence, "Divergence from fp32"},
};

QString axisName(TradeoffAxis a) {
  for (const AxisName& n : kAxisNames)
    if (n.axis == a) return QCoreApplication::translate("TradeoffPanel", n.name);
  return {};
}

QString valueText(TradeoffAxis a, double v) {
  switch (a) {
    case TradeoffAxis::ValAccuracy: return QString::number(100 * v, 'f', 2) + QStringLiteral(" %");
    case TradeoffAxis::WastedSteps: return QString::number(100 * v, 'f', 1) + QStringLiteral(" %");
    case TradeoffAxis::PeakMemory: return QString::fromStdString(bytes_text(v));
    case TradeoffAxis::SamplesPerS: return QString::number(std::llround(v));
    case TradeoffAxis::TimeToTarget: return QString::number(v, 'f', 1) + QStringLiteral(" s");
    case TradeoffAxis::ValLoss: return QString::number(v, 'f', 4);
    case TradeoffAxis::Divergence: return QString::number(v, 'g', 3);
  }
  return QString::number(v);
}

// Plotted as: accuracy and wasted steps in %, memory in MiB.
double shown(TradeoffAxis a, double v) {
  if (a == TradeoffAxis::ValAccuracy || a == TradeoffAxis::WastedSteps) return 100 * v;
  if (a == TradeoffAxis::PeakMemory) return v / (1024.0 * 1024.0);
  return v;
}

QString axisLabel(TradeoffAxis a) {
  QString unit;
  if (a == TradeoffAxis::ValAccuracy || a == TradeoffAxis::WastedSteps) unit = QStringLiteral(" (%)");
  if (a == TradeoffAxis::PeakMemory) unit = QStringLiteral(" (MiB)");
  if (a == TradeoffAxis::TimeToTarget) unit = QStringLiteral(" (s)");
  return axisName(a) + unit + (higher_is_better(a) ? QStringLiteral("  → better")
                                                   : QStringLiteral("  ← better"));
}

// The group's policy: its label up to the pins.
Policy policyOf(const TradeoffGroup& g) {
  const std::string name = g.label.substr(0, g.label.find(' '));
  try {
    return parse_policy(name);
  } catch (const std::exception&) {
    return Policy::Float32;
  }
}

constexpr double kPickPixels = 9;

}  // namespace

TradeoffPanel::TradeoffPanel(QWidget* parent)
    : QWidget(parent),
      scope_(new QComboBox(this)),
      xAxis_(new QComboBox(this)),
      yAxis_(new QComboBox(this)),
      target_(new QDoubleSpinBox(this)),
      hint_(new QLabel(this)),
      plot_(new QCustomPlot(this)),
      table_(new QTableWidget(this)) {
  auto* layout = new QVBoxLayout(this);
  auto* row = new QHBoxLayout;
  auto* form = new QFormLayout;
  form->addRow(tr("Runs:"), scope_);
  row->addLayout(form, 2);
  for (const AxisName& n : kAxisNames) {
    xAxis_->addItem(axisName(n.axis), int(n.axis));
    yAxis_->addItem(axisName(n.axis), int(n.axis));
  }
  auto* axes = new QFormLayout;
  axes->addRow(tr("Horizontal:"), xAxis_);
  axes->addRow(tr("Vertical:"), yAxis_);
  row->addLayout(axes, 1);
  target_->setRange(0.0, 100.0);
  target_->setDecimals(1);
  target_->setSuffix(QStringLiteral(" %"));
  target_->setValue(90.0);
  target_->setToolTip(tr("Time to target: the validation accuracy to reach"));
  auto* targetForm = new QFormLayout;
  targetForm->addRow(tr("Target:"), target_);
  row->addLayout(targetForm);
  layout->addLayout(row);
  hint_->setWordWrap(true);
  layout->addWidget(hint_);
  applyPlotTheme(plot_);
  plot_->legend->setVisible(true);
  // The legend beside the axes, not over points that may be anywhere.
  auto* side = new QCPLayoutGrid;
  plot_->plotLayout()->addElement(0, 1, side);
  plot_->plotLayout()->setColumnStretchFactor(1, 0.001);
  side->addElement(0, 0, plot_->legend);
  side->addElement(1, 0, new QCPLayoutElement(plot_));  // takes the rest of the height
  side->setRowStretchFactor(0, 0.001);
  plot_->setMinimumHeight(300);
  layout->addWidget(plot_, 3);
  table_->setColumnCount(5);
  table_->setHorizontalHeaderLabels({tr("Group"), tr("Runs"), tr("Horizontal"), tr("Vertical"), tr("")});
  table_->horizontalHeader()->setSectionResizeMode(4, QHeaderView::Stretch);
  table_->verticalHeader()->setVisible(false);
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  layout->addWidget(table_, 2);
  {
    const QSignalBlocker a(xAxis_), b(yAxis_);
    xAxis_->setCurrentIndex(xAxis_->findData(int(TradeoffAxis::SamplesPerS)));
    yAxis_->setCurrentIndex(yAxis_->findData(int(TradeoffAxis::ValAccuracy)));
  }
  connect(scope_, &QComboBox::currentIndexChanged, this, [this] { refresh(); });
  connect(xAxis_, &QComboBox::currentIndexChanged, this, [this] { refresh(); });
  connect(yAxis_, &QComboBox::currentIndexChanged, this, [this] { refresh(); });
  connect(target_, &QDoubleSpinBox::valueChanged, this, [this] { refresh(); });
  connect(plot_, &QCustomPlot::mousePress, this, &TradeoffPanel::clicked);
}

bool TradeoffPanel::loadDatabase(const std::filesystem::path& database, qint64 runId) {
  database_ = database;
  message_.clear();
  std::vector<RunRecord> runs;
  try {
    RunStore store(database, StoreOptions::reading());
    runs = store.list_runs();
  } catch (const std::exception& e) {
    message_ = QString::fromStdString(e.what());
  }
  if (message_.isEmpty() && runs.empty()) message_ = tr("The database holds no runs yet.");
  std::set<std::string> projects, groups;
  const RunRecord* selected = nullptr;
  for (const RunRecord& r : runs) {
    projects.insert(r.project_name);
    if (r.group_name) groups.insert(*r.group_name);
    if (r.id == runId) selected = &r;
  }
  {
    const QSignalBlocker b(scope_);
    scope_->clear();
    for (const std::string& p : projects)
      scope_->addItem(tr("all runs of %1").arg(QString::fromStdString(p)),
                      QStringList{QStringLiteral("project"), QString::fromStdString(p)});
    for (const std::string& g : groups)
      scope_->addItem(tr("comparison %1").arg(QString::fromStdString(g)),
                      QStringList{QStringLiteral("group"), QString::fromStdString(g)});
    int index = 0;
    if (selected != nullptr) {
      const QStringList want =
          selected->group_name
              ? QStringList{QStringLiteral("group"), QString::fromStdString(*selected->group_name)}
              : QStringList{QStringLiteral("project"), QString::fromStdString(selected->project_name)};
      index = std::max(0, scope_->findData(want));
    }
    scope_->setCurrentIndex(index);
  }
  setEnabled(message_.isEmpty());
  if (!message_.isEmpty()) {
    hint_->setText(message_);
    return false;
  }
  refresh();
  return true;
}

void TradeoffPanel::setAxes(TradeoffAxis x, TradeoffAxis y) {
  {
    const QSignalBlocker a(xAxis_), b(yAxis_);
    xAxis_->setCurrentIndex(xAxis_->findData(int(x)));
    yAxis_->setCurrentIndex(yAxis_->findData(int(y)));
  }
  refresh();
}

void TradeoffPanel::setScope(int index) {
  scope_->setCurrentIndex(index);  // refreshes
}

void TradeoffPanel::refresh() {
  const auto x = TradeoffAxis(xAxis_->currentData().toInt());
  const auto y = TradeoffAxis(yAxis_->currentData().toInt());
  target_->setEnabled(x == TradeoffAxis::TimeToTarget || y == TradeoffAxis::TimeToTarget);
  const QStringList scope = scope_->currentData().toStringList();
  RunFilter filter;
  if (scope.size() == 2) {
    if (scope[0] == QStringLiteral("group")) filter.group_name = scope[1].toStdString();
    else filter.project_name = scope[1].toStdString();
  }
  picked_ = 0;
  try {
    RunStore store(database_, StoreOptions::reading());
    tradeoff_ = load_tradeoff(store, filter, x, y, target_->value() / 100.0);
    hint_->setText(tr("Filled: measured (small: each run; large: the group's mean, with its "
                      "replicates' spread); hollow: predicted. The frontier's groups are joined "
                      "and outlined. Click two points to compare their runs."));
  } catch (const std::exception& e) {
    tradeoff_ = Tradeoff{};
    hint_->setText(QString::fromStdString(e.what()));
  }
  draw();
  fillTable();
}

void TradeoffPanel::draw() {
  plot_->clearGraphs();
  plot_->clearPlottables();
  plot_->clearItems();
  points_.clear();
  const Tradeoff& t = tradeoff_;
  plot_->xAxis->setLabel(axisLabel(t.x_axis));
  plot_->yAxis->setLabel(axisLabel(t.y_axis));
  QVector<QPair<double, double>> frontier;
  for (const TradeoffGroup& g : t.groups) {
    QColor colour = policyColor(policyOf(g));
    const bool pinned = g.label.find("pinned") != std::string::npos;
    const auto shape = pinned ? QCPScatterStyle::ssDiamond : QCPScatterStyle::ssCircle;
    if (!g.frontier && g.points > 0) colour.setAlpha(110);
    const QString label = QString::fromStdString(g.label);
    // Each run, small and filled.
    QVector<double> rx, ry;
    for (const TradeoffRun& r : g.runs) {
      if (!r.x || !r.y || !std::isfinite(*r.x) || !std::isfinite(*r.y)) continue;
      rx << shown(t.x_axis, *r.x);
      ry << shown(t.y_axis, *r.y);
      points_.push_back({r.run_id, rx.back(), ry.back()});
    }
    if (!rx.isEmpty()) {
      QCPGraph* runs = plot_->addGraph();
      runs->setName(label);
      runs->setLineStyle(QCPGraph::lsNone);
      runs->setScatterStyle(QCPScatterStyle(shape, QPen(colour), QBrush(colour), 6));
      runs->setData(rx, ry);
    }
    // The group's mean, large, outlined on the frontier, with its spread.
    if (g.points > 0) {
      const double mx = shown(t.x_axis, g.x), my = shown(t.y_axis, g.y);
      QCPGraph* mean = plot_->addGraph();
      mean->removeFromLegend();
      mean->setLineStyle(QCPGraph::lsNone);
      QPen outline = g.frontier ? QPen(palette().color(QPalette::WindowText), 2) : QPen(colour);
      mean->setScatterStyle(QCPScatterStyle(shape, outline, QBrush(colour), 14));
      mean->setData({mx}, {my});
      // Clicking the mean picks the group's first run with a point.
      for (const TradeoffRun& r : g.runs)
        if (r.x && r.y) {
          points_.push_back({r.run_id, mx, my});
          break;
        }
      if (g.points > 1) {
        for (const auto& [a, b] : {std::pair{QPointF(shown(t.x_axis, g.x_min), my),
                                             QPointF(shown(t.x_axis, g.x_max), my)},
                                   std::pair{QPointF(mx, shown(t.y_axis, g.y_min)),
                                             QPointF(mx, shown(t.y_axis, g.y_max))}}) {
          auto* bar = new QCPItemLine(plot_);
          bar->start->setCoords(a);
          bar->end->setCoords(b);
          bar->setPen(QPen(colour, 1.5));
        }
      }
      if (g.frontier) frontier.push_back({mx, my});
    }
    // Predicted points, hollow.
    if (!g.predicted.empty()) {
      QVector<double> px, py;
      for (const TradeoffPrediction& p : g.predicted) {
        px << shown(t.x_axis, p.x);
        py << shown(t.y_axis, p.y);
        points_.push_back({p.run_id, px.back(), py.back()});
      }
      QCPGraph* predicted = plot_->addGraph();
      predicted->setName(label + tr(" (predicted)"));
      predicted->setLineStyle(QCPGraph::lsNone);
      predicted->setScatterStyle(QCPScatterStyle(shape, QPen(colour, 1.8), Qt::NoBrush, 11));
      predicted->setData(px, py);
    }
  }
  if (frontier.size() > 1) {
    std::sort(frontier.begin(), frontier.end());
    QVector<double> fx, fy;
    for (const auto& [a, b] : frontier) fx << a, fy << b;
    QCPCurve* line = new QCPCurve(plot_->xAxis, plot_->yAxis);
    line->setName(tr("Pareto frontier"));
    line->setPen(QPen(palette().color(QPalette::WindowText), 1, Qt::DashLine));
    line->setData(fx, fy);
  }
  plot_->rescaleAxes();
  for (QCPAxis* axis : {plot_->xAxis, plot_->yAxis}) {
    const QCPRange r = axis->range();
    const double pad = std::max(r.size() * 0.08, std::abs(r.center()) * 0.02 + 1e-9);
    axis->setRange(r.lower - pad, r.upper + pad);
  }
  plot_->replot();
}

void TradeoffPanel::fillTable() {
  const Tradeoff& t = tradeoff_;
  int rows = 0;
  for (const TradeoffGroup& g : t.groups) rows += 1 + int(g.predicted.size());
  table_->setHorizontalHeaderLabels(
      {tr("Group"), tr("Runs"), axisName(t.x_axis), axisName(t.y_axis), tr("")});
  table_->setRowCount(rows);
  int row = 0;
  const auto spread = [](TradeoffAxis a, double mean, double lo, double hi, int n) {
    QString s = valueText(a, mean);
    if (n > 1) s += QStringLiteral(" (%1 – %2)").arg(valueText(a, lo), valueText(a, hi));
    return s;
  };
  for (const TradeoffGroup& g : t.groups) {
    QStringList ids;
    for (const TradeoffRun& r : g.runs) ids << QString::number(r.run_id);
    const QString note =
        g.points == 0 ? (g.predicted.empty() ? tr("no values on these axes") : tr("predicted only"))
        : g.dominated_by ? tr("beaten beyond the spread by %1").arg(QString::fromStdString(*g.dominated_by))
                         : tr("on the frontier");
    table_->setItem(row, 0, new QTableWidgetItem(QString::fromStdString(g.label)));
    table_->setItem(row, 1, new QTableWidgetItem(ids.join(QStringLiteral(", "))));
    table_->setItem(row, 2, new QTableWidgetItem(g.points ? spread(t.x_axis, g.x, g.x_min, g.x_max, g.points) : QStringLiteral("–")));
    table_->setItem(row, 3, new QTableWidgetItem(g.points ? spread(t.y_axis, g.y, g.y_min, g.y_max, g.points) : QStringLiteral("–")));
    table_->setItem(row, 4, new QTableWidgetItem(note));
    ++row;
    for (const TradeoffPrediction& p : g.predicted) {
      table_->setItem(row, 0, new QTableWidgetItem(QStringLiteral("   ") + tr("predicted")));
      table_->setItem(row, 1, new QTableWidgetItem(QString::number(p.run_id)));
      table_->setItem(row, 2, new QTableWidgetItem(valueText(t.x_axis, p.x)));
      table_->setItem(row, 3, new QTableWidgetItem(valueText(t.y_axis, p.y)));
      table_->setItem(row, 4, new QTableWidgetItem(QString::fromStdString(p.what)));
      ++row;
    }
  }
  table_->resizeColumnsToContents();
}

std::optional<QPointF> TradeoffPanel::pixelOf(qint64 runId) const {
  for (const Point& p : points_)
    if (p.run == runId)
      return QPointF(plot_->xAxis->coordToPixel(p.x), plot_->yAxis->coordToPixel(p.y));
  return std::nullopt;
}

qint64 TradeoffPanel::runAt(const QPointF& pixel) const {
  qint64 best = 0;
  double nearest = kPickPixels;
  for (const Point& p : points_) {
    const QPointF at(plot_->xAxis->coordToPixel(p.x), plot_->yAxis->coordToPixel(p.y));
    const double d = std::hypot(at.x() - pixel.x(), at.y() - pixel.y());
    if (d <= nearest) {
      nearest = d;
      best = p.run;
    }
  }
  return best;
}

void TradeoffPanel::clicked(QMouseEvent* event) {
  const qint64 run = runAt(event->position());
  if (run == 0) return;
  if (picked_ == 0 || picked_ == run) {
    picked_ = run;
    hint_->setText(tr("Run %1 picked: click another point to compare the two.").arg(run));
    return;
  }
  const QVector<qint64> ids{picked_, run};
  picked_ = 0;
  hint_->setText(tr("Runs %1 and %2 opened in Compare.").arg(ids[0]).arg(ids[1]));
  emit compareRequested(ids);
}

}  // namespace mantissa::ui
