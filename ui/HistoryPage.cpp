#include "HistoryPage.hpp"

#include <QAction>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QInputDialog>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QMessageBox>
#include <QSettings>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QStackedWidget>
#include <QTabWidget>
#include <QTableView>
#include <QToolButton>
#include <QVBoxLayout>
#include <algorithm>
#include <exception>
#include <set>

#include "ExportDialog.hpp"
#include "Format.hpp"
#include "InlineMessage.hpp"
#include "LivePlots.hpp"
#include "ModelCanvas.hpp"
#include "ModelTable.hpp"
#include "PolicyColors.hpp"
#include "ProjectDocument.hpp"
#include "RunTableModel.hpp"
#include "mantissa/graph.hpp"

namespace mantissa::ui {

namespace {

const QString kExportFolderKey = QStringLiteral("history/exportFolder");

}  // namespace

HistoryExportFolder::HistoryExportFolder(const QString& iniFile)
    : settings_(iniFile.isEmpty() ? std::make_unique<QSettings>()
                                  : std::make_unique<QSettings>(iniFile, QSettings::IniFormat)) {}

HistoryExportFolder::~HistoryExportFolder() = default;

QString HistoryExportFolder::folder() const {
  const QString f = settings_->value(kExportFolderKey).toString();
  return f.isEmpty() || !QFileInfo(f).isDir() ? QDir::homePath() : f;
}

void HistoryExportFolder::setFolder(const QString& folder) {
  settings_->setValue(kExportFolderKey, folder);
}

HistoryPage::HistoryPage(const QString& databasePath, const QString& settingsFile, QWidget* parent)
    : QWidget(parent),
      databasePath_(databasePath),
      folder_(settingsFile),
      model_(new RunTableModel(this)),
      proxy_(new QSortFilterProxyModel(this)) {
  library_ = new RunLibrary(this);
  connect(library_, &RunLibrary::runsListed, this,
          [this](quint64, const RunList& list) { showList(list); });
  connect(library_, &RunLibrary::runEdited, this, &HistoryPage::runEditDone);
  connect(library_, &RunLibrary::runsDeleted, this, &HistoryPage::deleteDone);
  connect(library_, &RunLibrary::metricsExported, this,
          [this](qint64 runId, const QString& file, const QString& error) {
            if (!error.isEmpty()) showError(error);
            emit metricsExported(runId, file, error);
          });
  connect(library_, &RunLibrary::weightsExported, this,
          [this](qint64 runId, const QString& file, const QString& error) {
            if (!error.isEmpty()) showError(error);
            emit weightsExported(runId, file, error);
          });
  connect(library_, &RunLibrary::runsLoaded, this,
          [this](quint64 request, const QVector<StoredRun>& runs, int, const QString& error) {
            if (request != openRequest_) return;  // asked for before a database switch
            openRequest_ = 0;
            if (!error.isEmpty() || runs.isEmpty()) {
              const QString why = !error.isEmpty()
                                      ? error
                                      : tr("Run %1 is no longer in the store").arg(openingRun_);
              showError(why);
              if (error.isEmpty()) reload();
              emit runOpenFailed(openingRun_, why);
              return;
            }
            showRun(runs.front());
          });
  proxy_->setSourceModel(model_);
  proxy_->setSortRole(RunTableModel::SortRole);
  proxy_->setFilterRole(RunTableModel::FilterRole);
  proxy_->setFilterKeyColumn(RunTableModel::Name);
  proxy_->setFilterCaseSensitivity(Qt::CaseInsensitive);
  connect(model_, &RunTableModel::renameRequested, this,
          [this](qint64 runId, const QString& name) {
            library_->renameRun(databasePath_, runId, name);
          });

  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  databaseLabel_ = new QLabel(this);
  databaseLabel_->setObjectName(QStringLiteral("historyDatabaseLabel"));
  databaseLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  layout->addWidget(databaseLabel_);
  message_ = new InlineMessage(this);
  layout->addWidget(message_);
  stack_ = new QStackedWidget(this);
  layout->addWidget(stack_, 1);

  auto* empty = new QLabel(tr("No runs yet — press Train"), stack_);
  empty->setAlignment(Qt::AlignCenter);
  empty->setEnabled(false);
  stack_->addWidget(empty);

  auto* content = new QWidget(stack_);
  auto* contentLayout = new QVBoxLayout(content);
  contentLayout->setContentsMargins(0, 0, 0, 0);
  auto* bar = new QHBoxLayout;
  filter_ = new QLineEdit(content);
  filter_->setPlaceholderText(tr("Filter by name, project, policy or status"));
  filter_->setClearButtonEnabled(true);
  connect(filter_, &QLineEdit::textChanged, proxy_,
          [this](const QString& text) { proxy_->setFilterFixedString(text.trimmed()); });
  bar->addWidget(filter_, 1);
  auto* refresh = new QAction(tr("Reload the run list"), this);
  refresh->setShortcuts({QKeySequence(Qt::Key_F5), QKeySequence(QKeySequence::Refresh)});
  refresh->setShortcutContext(Qt::WidgetWithChildrenShortcut);
  refresh->setObjectName(QStringLiteral("reloadRunsAction"));
  connect(refresh, &QAction::triggered, this, &HistoryPage::reload);
  addAction(refresh);
  compareAction_ = new QAction(tr("Compare"), this);
  compareAction_->setToolTip(tr("Overlay 2–6 selected runs in the Compare tab"));
  connect(compareAction_, &QAction::triggered, this, [this] {
    const QVector<qint64> ids = selectedRunIds();
    if (ids.size() >= kMinCompare && ids.size() <= kMaxCompare) emit compareRequested(ids);
  });
  compareButton_ = new QToolButton(content);
  compareButton_->setDefaultAction(compareAction_);
  compareButton_->setToolButtonStyle(Qt::ToolButtonTextOnly);
  bar->addWidget(compareButton_);
  contentLayout->addLayout(bar);

  auto* splitter = new QSplitter(Qt::Vertical, content);
  table_ = new QTableView(splitter);
  table_->setModel(proxy_);
  table_->setSortingEnabled(true);
  table_->sortByColumn(RunTableModel::Id, Qt::DescendingOrder);
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_->setSelectionMode(QAbstractItemView::ExtendedSelection);
  table_->setEditTriggers(QAbstractItemView::EditKeyPressed);
  table_->setContextMenuPolicy(Qt::CustomContextMenu);
  table_->verticalHeader()->hide();
  table_->horizontalHeader()->setStretchLastSection(true);
  table_->setAlternatingRowColors(true);
  connect(table_, &QTableView::customContextMenuRequested, this, &HistoryPage::showContextMenu);
  connect(table_, &QTableView::doubleClicked, this, [this](const QModelIndex& index) {
    openRun(index.data(RunTableModel::RunIdRole).toLongLong());
  });
  connect(table_->selectionModel(), &QItemSelectionModel::selectionChanged, this,
          &HistoryPage::updateActions);

  runView_ = new QWidget(splitter);
  auto* runLayout = new QVBoxLayout(runView_);
  runLayout->setContentsMargins(0, 0, 0, 0);
  runTitle_ = new QLabel(runView_);
  runLayout->addWidget(runTitle_);
  eventCard_ = new QLabel(runView_);
  eventCard_->setObjectName(QStringLiteral("historyEventCard"));
  eventCard_->setWordWrap(true);
  eventCard_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  eventCard_->setStyleSheet(
      QStringLiteral("QLabel { border-left: 4px solid %1; padding: 4px 8px; }")
          .arg(overflowColor().name()));
  eventCard_->hide();
  runLayout->addWidget(eventCard_);
  auto* runSplit = new QHBoxLayout;
  // The run's curves, and its model as it was trained (the project snapshot).
  runTabs_ = new QTabWidget(runView_);
  plots_ = new LivePlots(runTabs_);
  plots_->setFollowLatest(false);
  runModel_ = new ModelTable(runTabs_);
  runDocument_ = new ProjectDocument(this);
  runGraph_ = new ModelCanvas(runDocument_, runTabs_);
  runGraph_->setReadOnly(true);
  runTabs_->addTab(plots_, tr("Plots"));
  runTabs_->addTab(runModel_, tr("Model"));
  runTabs_->addTab(runGraph_, tr("Graph"));
  runSplit->addWidget(runTabs_, 1);
  auto* settingsBox = new QWidget(runView_);
  settingsBox->setMinimumWidth(240);
  settingsForm_ = new QFormLayout(settingsBox);
  runSplit->addWidget(settingsBox);
  runLayout->addLayout(runSplit, 1);
  runView_->hide();
  splitter->setStretchFactor(0, 1);
  splitter->setStretchFactor(1, 2);
  contentLayout->addWidget(splitter, 1);
  stack_->addWidget(content);

  reload();
}

HistoryPage::~HistoryPage() = default;

void HistoryPage::setDatabasePath(const QString& path) {
  if (path == databasePath_) return;
  databasePath_ = path;
  exists_ = readOnly_ = false;
  openRequest_ = 0;  // a run of the other database is not shown
  clearRunView();
  model_->setEditable(false);
  model_->setRuns({});
  updateEmptyState();
  reload();
}

void HistoryPage::showDatabase() {
  QString text = tr("Run database: %1").arg(QDir::toNativeSeparators(databasePath_));
  if (readOnly_) text += tr(" (read-only)");
  else if (!exists_) text += tr(" (created by the first run)");
  databaseLabel_->setText(text);
}

void HistoryPage::showEvent(QShowEvent* event) {
  QWidget::showEvent(event);
  reload();
}

void HistoryPage::reload() {
  showDatabase();
  library_->listRuns(databasePath_);
}

void HistoryPage::showList(const RunList& list) {
  exists_ = list.exists;
  readOnly_ = list.readOnly;
  if (!list.error.isEmpty()) showError(list.error);
  const QVector<qint64> selected = selectedRunIds();
  showDatabase();
  model_->setEditable(exists_);
  model_->setRuns(std::vector<RunRecord>(list.runs.begin(), list.runs.end()));
  selectRuns(selected);
  if (openedRun_ != 0 && model_->rowOfRun(openedRun_) < 0) clearRunView();
  updateEmptyState();
  updateActions();
  emit runsListed(model_->rowCount());
}

bool HistoryPage::showsEmptyState() const {
  return stack_->currentIndex() == 0;
}

void HistoryPage::updateEmptyState() {
  stack_->setCurrentIndex(model_->rowCount() == 0 ? 0 : 1);
}

void HistoryPage::updateActions() {
  const auto n = selectedRunIds().size();
  compareAction_->setEnabled(n >= kMinCompare && n <= kMaxCompare);
}

void HistoryPage::showError(const QString& text) {
  message_->showMessage(text, InlineMessage::Level::Error);
}

QVector<qint64> HistoryPage::selectedRunIds() const {
  QVector<qint64> ids;
  const QModelIndexList rows = table_->selectionModel()->selectedRows();
  QVector<int> order;
  for (const QModelIndex& i : rows) order << i.row();
  std::sort(order.begin(), order.end());
  for (int row : order) ids << proxy_->index(row, 0).data(RunTableModel::RunIdRole).toLongLong();
  return ids;
}

void HistoryPage::selectRuns(const QVector<qint64>& ids) {
  QItemSelection selection;
  for (qint64 id : ids) {
    const int row = model_->rowOfRun(id);
    if (row < 0) continue;
    const QModelIndex first = proxy_->mapFromSource(model_->index(row, 0));
    if (!first.isValid()) continue;
    selection.select(first, first.siblingAtColumn(RunTableModel::ColumnCount - 1));
  }
  table_->selectionModel()->select(selection, QItemSelectionModel::ClearAndSelect);
}

bool HistoryPage::renameRun(qint64 runId, const QString& name) {
  const int row = model_->rowOfRun(runId);
  if (row < 0) return false;
  return model_->setData(model_->index(row, RunTableModel::Name), name);  // renameRequested
}

bool HistoryPage::setRunNotes(qint64 runId, const QString& notes) {
  if (databasePath_.isEmpty()) return false;
  library_->setRunNotes(databasePath_, runId, notes);
  return true;
}

void HistoryPage::runEditDone(qint64 runId, const RunRecord& record, const QString& error) {
  if (!error.isEmpty()) {
    showError(error);
    reload();  // the table shows what is stored
  } else {
    model_->updateRun(record);
    if (runId == openedRun_) openRun(runId);
  }
  emit runEdited(runId, error);
}

bool HistoryPage::deleteRuns(const QVector<qint64>& runIds) {
  if (databasePath_.isEmpty() || runIds.isEmpty()) return false;
  library_->deleteRuns(databasePath_, runIds);
  return true;
}

void HistoryPage::deleteDone(const QVector<qint64>& deleted, const QStringList& errors) {
  for (const QString& e : errors) showError(e);
  reload();
  if (!deleted.isEmpty()) emit runsDeleted(deleted);
}

bool HistoryPage::exportMetricsCsv(qint64 runId, const QString& file) {
  if (databasePath_.isEmpty()) return false;
  library_->exportMetricsCsv(databasePath_, runId, file);
  return true;
}

void HistoryPage::exportWeights(qint64 runId, const QString& file) {
  WeightsExportRequest request;
  request.database = databasePath_.toStdString();
  request.runId = runId;
  request.file = file.toStdString();
  library_->exportWeights(request);
}

bool HistoryPage::canResume(qint64 runId) const {
  const int row = model_->rowOfRun(runId);
  if (!exists_ || readOnly_ || row < 0) return false;
  const RunRecord& r = model_->run(row);
  return r.status != RunStatus::Finished && r.status != RunStatus::Running &&
         r.checkpoint_bytes > 0;
}

void HistoryPage::requestResume(qint64 runId) {
  if (canResume(runId)) emit resumeRequested(runId);
}

void HistoryPage::showContextMenu(const QPoint& pos) {
  const QModelIndex index = table_->indexAt(pos);
  if (!index.isValid()) return;
  QMenu menu(this);
  menu.addActions(contextActions(index.row()));
  menu.exec(table_->viewport()->mapToGlobal(pos));
}

QList<QAction*> HistoryPage::contextActions(int row) {
  const qint64 id = proxy_->index(row, 0).data(RunTableModel::RunIdRole).toLongLong();
  if (!selectedRunIds().contains(id)) selectRuns({id});
  const QVector<qint64> selected = selectedRunIds();
  // This menu's own actions live until the next one is built.
  qDeleteAll(contextOwn_);
  contextOwn_.clear();
  QList<QAction*> actions;
  const auto own = [&](const QString& text, auto slot) {
    auto* a = new QAction(text, this);
    connect(a, &QAction::triggered, this, slot);
    contextOwn_.append(a);
    actions.append(a);
    return a;
  };
  const auto separator = [&] {
    auto* a = new QAction(this);
    a->setSeparator(true);
    contextOwn_.append(a);
    actions.append(a);
  };
  own(tr("Open"), [this, id] { openRun(id); });
  if (canResume(id))
    own(tr("Resume"), [this, id] { requestResume(id); })
        ->setToolTip(tr("Continue training from the run's newest checkpoint"));
  own(tr("Rename…"), [this, id] { renameDialog(id); });
  own(tr("Notes…"), [this, id] { notesDialog(id); });
  separator();
  own(tr("Export weights…"), [this, id] { exportWeightsDialog(id); });
  own(tr("Export metrics CSV…"), [this, id] { exportCsvDialog(id); });
  separator();
  actions.append(compareAction_);
  if (!runActions_.isEmpty()) {
    separator();
    actions += runActions_;
  }
  separator();
  own(selected.size() > 1 ? tr("Delete %1 runs").arg(selected.size()) : tr("Delete"),
      [this, selected] { deleteDialog(selected); });
  return actions;
}

void HistoryPage::renameDialog(qint64 runId) {
  const int row = model_->rowOfRun(runId);
  if (row < 0) return;
  bool ok = false;
  const QString name =
      QInputDialog::getText(this, tr("Rename Run"), tr("Name of run %1:").arg(runId),
                            QLineEdit::Normal, fromView(model_->run(row).name), &ok);
  if (ok && !name.trimmed().isEmpty()) renameRun(runId, name);
}

void HistoryPage::notesDialog(qint64 runId) {
  const int row = model_->rowOfRun(runId);
  if (row < 0) return;
  bool ok = false;
  const QString notes =
      QInputDialog::getMultiLineText(this, tr("Run Notes"), tr("Notes on run %1:").arg(runId),
                                     fromView(model_->run(row).notes), &ok);
  if (ok) setRunNotes(runId, notes);
}

void HistoryPage::exportWeightsDialog(qint64 runId) {
  auto* dialog = new ExportDialog(databasePath_, runId, &folder_, this);
  dialog->setAttribute(Qt::WA_DeleteOnClose);
  connect(dialog, &ExportDialog::exportFinished, this, &HistoryPage::weightsExported);
  dialog->open();
}

void HistoryPage::exportCsvDialog(qint64 runId) {
  const QString suggested =
      QDir(folder_.folder()).filePath(QStringLiteral("run-%1-metrics.csv").arg(runId));
  const QString file =
      QFileDialog::getSaveFileName(this, tr("Export Metrics"), suggested, tr("CSV files (*.csv)"));
  if (file.isEmpty()) return;
  folder_.setFolder(QFileInfo(file).absolutePath());
  exportMetricsCsv(runId, file);
}

void HistoryPage::deleteDialog(const QVector<qint64>& runIds) {
  if (runIds.isEmpty()) return;
  const QString what =
      runIds.size() == 1 ? tr("run %1").arg(runIds.front()) : tr("%1 runs").arg(runIds.size());
  const auto answer = QMessageBox::question(
      this, tr("Delete Runs"),
      tr("Delete %1 with its metrics, events and checkpoints? This cannot be undone.").arg(what),
      QMessageBox::Yes | QMessageBox::Cancel, QMessageBox::Cancel);
  if (answer == QMessageBox::Yes) deleteRuns(runIds);
}

}  // namespace mantissa::ui
