#pragma once
// The History tab (UI.md): every stored run in a sortable, filterable table;
// the context menu renames, annotates, exports and deletes; a double click
// opens the run's curves and settings; "Compare" hands 2–6 selected runs to
// the Compare tab. Every read and write goes through the run library
// (services/RunLibrary.hpp) on its worker; the page draws what it answers and
// never creates a database that is not there yet.
#include <QString>
#include <QVector>
#include <QWidget>
#include <memory>

#include "MetricTypes.hpp"
#include "services/RunLibrary.hpp"

class QAction;
class QFormLayout;
class QTabWidget;
class QLabel;
class QLineEdit;
class QSettings;
class QSortFilterProxyModel;
class QStackedWidget;
class QTableView;
class QToolButton;

namespace mantissa::ui {

class InlineMessage;
class LivePlots;
class ModelCanvas;
class ModelTable;
class ProjectDocument;
class RunTableModel;

// The folder History's export dialogs start in, remembered between sessions.
class HistoryExportFolder {
 public:
  explicit HistoryExportFolder(const QString& iniFile = {});  // empty: the user's settings
  ~HistoryExportFolder();
  QString folder() const;  // the home folder until one was used
  void setFolder(const QString& folder);

 private:
  std::unique_ptr<QSettings> settings_;
};

class HistoryPage : public QWidget {
  Q_OBJECT

 public:
  static constexpr int kMinCompare = 2;
  static constexpr int kMaxCompare = 6;

  explicit HistoryPage(const QString& databasePath, const QString& settingsFile = {},
                       QWidget* parent = nullptr);
  ~HistoryPage() override;

  QString databasePath() const { return databasePath_; }
  void setDatabasePath(const QString& path);

  // Reads the run list on the run library's worker: the one place History
  // loads it. runsListed follows (an older reload's answer is dropped).
  void reload();

  RunTableModel* model() const { return model_; }
  QSortFilterProxyModel* proxy() const { return proxy_; }
  QTableView* table() const { return table_; }
  QLineEdit* filterEdit() const { return filter_; }
  QAction* compareAction() const { return compareAction_; }
  // Actions on the selected run that live elsewhere (the Data menu's
  // evaluate, numerics, advice, sample...), offered in a run's context menu
  // too: right-clicking a run selects it first.
  void addRunActions(const QList<QAction*>& actions) { runActions_ += actions; }
  // A right click on row `row` (of the view): selects its run unless it is
  // among those selected, and returns what the menu offers, in order.
  QList<QAction*> contextActions(int row);
  LivePlots* runPlots() const { return plots_; }
  ModelTable* runModel() const { return runModel_; }
  // The run's model as a read-only graph, its first traced overflow marked
  // (the layer red, the path of the bad values orange).
  ModelCanvas* runGraph() const { return runGraph_; }
  // One sentence on the run's traced overflow events; hidden when it has none.
  QLabel* eventCard() const { return eventCard_; }
  InlineMessage* messageBar() const { return message_; }
  bool showsEmptyState() const;
  qint64 openedRunId() const { return openedRun_; }
  QString openedRunTitle() const;  // the run view's header, as plain text
  // The run view's settings panel as "label: value" lines.
  QStringList openedRunSettings() const;

  QVector<qint64> selectedRunIds() const;  // in table order
  void selectRuns(const QVector<qint64>& ids);

  // The context menu's actions, without their dialogs. Each is written on
  // the run library's worker; false when it cannot be asked for (no such
  // row, no database). When the store refuses, an inline message says why.
  bool renameRun(qint64 runId, const QString& name);       // runEdited
  bool setRunNotes(qint64 runId, const QString& notes);    // runEdited
  bool deleteRuns(const QVector<qint64>& runIds);          // runsDeleted, then the list again
  bool exportMetricsCsv(qint64 runId, const QString& file);  // metricsExported
  // Writes the run's latest checkpoint as fp32 safetensors on a worker thread;
  // weightsExported follows.
  void exportWeights(qint64 runId, const QString& file);
  // Reads the run on the run library's worker and then shows it: runOpened
  // (or an inline message and runOpenFailed) follows. False when there is
  // no database to read.
  bool openRun(qint64 runId);
  bool isOpening() const { return openRequest_ != 0; }
  // Stopped, interrupted or failed with a checkpoint, in a database that can
  // be written: Resume can take it up. From the listed record.
  bool canResume(qint64 runId) const;
  void requestResume(qint64 runId);  // resumeRequested, when canResume

 signals:
  void resumeRequested(qint64 runId);
  void runsListed(int count);  // the table shows the list just read
  // A rename or notes change written (error empty) or refused.
  void runEdited(qint64 runId, const QString& error);
  void metricsExported(qint64 runId, const QString& file, const QString& error);
  void compareRequested(const QVector<qint64>& runIds);
  void weightsExported(qint64 runId, const QString& file, const QString& error);
  void runsDeleted(const QVector<qint64>& runIds);
  void runOpened(qint64 runId);
  void runOpenFailed(qint64 runId, const QString& why);

 protected:
  // Shown again: the list is read again, so that runs another process (the
  // command line) wrote meanwhile appear. F5 does the same while shown.
  void showEvent(QShowEvent* event) override;

 private:
  void showList(const RunList& list);
  void runEditDone(qint64 runId, const mantissa::RunRecord& record, const QString& error);
  void deleteDone(const QVector<qint64>& deleted, const QStringList& errors);
  void showDatabase();  // the header line naming the database
  void showError(const QString& text);
  void showContextMenu(const QPoint& pos);
  void updateActions();
  void updateEmptyState();
  void clearRunView();
  void showRunModel(const mantissa::RunRecord& r, mantissa::Policy policy);
  void showTracedEvents(const std::vector<mantissa::Provenance>& events);
  void renameDialog(qint64 runId);
  void notesDialog(qint64 runId);
  void exportWeightsDialog(qint64 runId);
  void exportCsvDialog(qint64 runId);
  void deleteDialog(const QVector<qint64>& runIds);
  void addSetting(const QString& label, const QString& value);
  void showRun(const StoredRun& run);

  QString databasePath_;
  RunLibrary* library_ = nullptr;
  quint64 openRequest_ = 0;  // the read under way, 0 when none
  qint64 openingRun_ = 0;
  bool exists_ = false;    // as the last list found the database
  bool readOnly_ = false;
  QLabel* databaseLabel_ = nullptr;
  HistoryExportFolder folder_;
  RunTableModel* model_;
  QSortFilterProxyModel* proxy_;
  QStackedWidget* stack_ = nullptr;
  QTableView* table_ = nullptr;
  QLineEdit* filter_ = nullptr;
  QAction* compareAction_ = nullptr;
  QList<QAction*> runActions_;
  QList<QAction*> contextOwn_;  // the last context menu's own actions
  QToolButton* compareButton_ = nullptr;
  InlineMessage* message_ = nullptr;
  QWidget* runView_ = nullptr;
  QLabel* runTitle_ = nullptr;
  QTabWidget* runTabs_ = nullptr;
  LivePlots* plots_ = nullptr;
  ModelTable* runModel_ = nullptr;
  ProjectDocument* runDocument_ = nullptr;  // the snapshot runGraph_ draws
  ModelCanvas* runGraph_ = nullptr;
  QLabel* eventCard_ = nullptr;
  QFormLayout* settingsForm_ = nullptr;
  qint64 openedRun_ = 0;
};

}  // namespace mantissa::ui
