#pragma once
// The studio's main window (UI.md): toolbar, Layers / Inspector / Events docks
// around the Model, Training, Compare and History tabs, and a status bar. It
// wires widgets to the ProjectDocument and the TrainingController and does no
// engine work itself.
#include <QMainWindow>
#include <QPointer>
#include <functional>
#include <memory>

#include "MetricTypes.hpp"
#include "services/TrainingController.hpp"

class QAction;
class QComboBox;
class QDockWidget;
class QLabel;
class QPushButton;
class QMenu;
class QTabWidget;

namespace mantissa::ui {

class ComparePage;
class EventLog;
class HistoryPage;
class InlineMessage;
class LayerListView;
class LivePlots;
class ModelCanvas;
class ModelSummaryView;
class ModelTable;
class PolicySelector;
class PolicySweep;
class ProjectDocument;
class RunLibrary;
class RunStatusBar;
class StudioSettings;
class TrainingController;
class TrainingSettingsForm;
struct StoredRun;

struct StudioOptions {
  QString databasePath;  // empty: the last one used, else default_database_path()
  QString projectPath;   // empty: the last project, else the sample mnist-mlp
  QString settingsFile;  // empty: the user's settings; else an INI file
  bool restoreWindowState = true;
};

class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  explicit MainWindow(const StudioOptions& options = {}, QWidget* parent = nullptr);
  ~MainWindow() override;

  // Slots the model editor, Compare and History pages plug into.
  void setLayerPalette(QWidget* palette);
  void setModelEditor(QWidget* editor);
  void setComparePage(QWidget* page);
  void setHistoryPage(QWidget* page);

  bool openProject(const QString& path);  // errors go to the message bar
  // Records runs in `path` from now on (History and Compare read it too).
  // `create`: make a new database there; otherwise it must be a Mantissa run
  // database already. Checked on the run library's worker; runDatabaseOpened
  // follows. False when refused at once (a run trains); errors go to the
  // message bar.
  bool openRunDatabase(const QString& path, bool create);
  // Continues a stored run from its newest whole checkpoint; its stored curve
  // up to there is read on the run library's worker and drawn first. False
  // when refused at once (a run trains). Errors go to the message bar.
  bool resumeRun(qint64 runId);
  // Interrupted runs (their process ended) that can be resumed, named in the
  // message bar with a Resume button; called once at start-up. Looked for on
  // the run library's worker; interruptedRunsOffered follows.
  void offerToResumeInterruptedRuns();
  QPushButton* resumeOfferButton() const { return resumeOffer_; }
  // Asked when the window is closed during a run: true stops it (the trainer
  // saves a checkpoint, so History ▸ Resume can continue it) and closes.
  // Replaceable so that tests can answer.
  std::function<bool()> confirmStopOnClose;
  QString runDatabasePath() const;
  bool saveProjectAs(const QString& path);
  void startTraining();
  // One run of `project` under `policy` on `device` (the document's own
  // policy stays as it is).
  void startRun(const mantissa::Project& project, mantissa::Policy policy, const QString& device,
                const RunLink& link = {});
  // The runs side by side on the Compare tab, which comes to the front.
  void compareRuns(const QVector<qint64>& runIds);

  TrainingController* controller() const { return controller_; }
  ProjectDocument* document() const { return document_; }
  LivePlots* livePlots() const { return plots_; }
  // The Model tab's graph editor (History draws stored runs on canvases of its own).
  ModelCanvas* modelCanvas() const;
  EventLog* eventLog() const { return events_; }
  InlineMessage* messageBar() const { return message_; }
  RunStatusBar* runStatus() const { return status_; }
  TrainingSettingsForm* settingsForm() const { return settingsForm_; }
  ModelSummaryView* modelSummary() const { return summary_; }
  ModelTable* modelTable() const { return modelTable_; }
  PolicySelector* policySelector() const { return policy_; }
  QComboBox* deviceBox() const { return device_; }
  QTabWidget* tabs() const { return tabs_; }
  PolicySweep* policySweep() const { return sweep_; }
  QAction* compareAction() const { return compareAction_; }
  QAction* trainAction() const { return trainAction_; }
  QAction* pauseAction() const { return pauseAction_; }
  QAction* stopAction() const { return stopAction_; }
  QAction* undoAction() const { return undoAction_; }
  QAction* redoAction() const { return redoAction_; }
  // Edit ▸ Connect Selected To… (Ctrl+L): enabled while a layer is selected
  // on the shown Model page.
  QAction* connectAction() const { return connectAction_; }

 signals:
  void comparePoliciesRequested();
  void runDatabaseOpened(const QString& path, const QString& error);
  void interruptedRunsOffered(int count);

 protected:
  void closeEvent(QCloseEvent* event) override;

 private:
  void createActions();
  void connectRunLibrary();  // MainWindowFiles.cpp
  void switchRunDatabase(const QString& path);
  void startResumedRun(const StoredRun& run, qint64 upTo);
  void offerInterruptedRuns(const QVector<qint64>& runIds);
  void createToolBar();
  void keepToolBarWhole();
  void createMenus();
  void addPageKeys(QMenu* view);     // MainWindowMenus.cpp
  void addCanvasEdits(QMenu* edit);  // MainWindowMenus.cpp
  void watchCanvas(ModelCanvas* canvas);  // MainWindowMenus.cpp
  void updateConnectAction();             // MainWindowMenus.cpp
  void connectSelectedLayer();            // MainWindowMenus.cpp
  void createCentral();
  void createDocks();
  void connectController();
  void fillDevices();
  void refreshProject();
  void refreshTraining();
  void updateActions();
  void updateTitle();
  void rebuildRecentMenu();
  // A new untitled project: the default sample, or a copy of `fromSample`.
  void newProject(const QString& fromSample = {});
  void openProjectDialog();
  bool save();
  bool saveAsDialog();
  bool maybeSave();
  QString currentDevice() const;
  void openRunDatabaseDialog(bool create);
  void showRunDatabase();
  static void replaceContent(QWidget* container, QWidget* next);

  std::unique_ptr<StudioSettings> settings_;
  ProjectDocument* document_;
  TrainingController* controller_;
  PolicySweep* sweep_ = nullptr;

  QTabWidget* tabs_ = nullptr;
  QWidget* modelPage_ = nullptr;
  QWidget* trainingPage_ = nullptr;
  QWidget* comparePage_ = nullptr;
  QWidget* historyPage_ = nullptr;
  ModelTable* modelTable_ = nullptr;
  LivePlots* plots_ = nullptr;
  InlineMessage* message_ = nullptr;
  QDockWidget* layersDock_ = nullptr;
  LayerListView* layerList_ = nullptr;
  ModelSummaryView* summary_ = nullptr;
  TrainingSettingsForm* settingsForm_ = nullptr;
  EventLog* events_ = nullptr;
  RunStatusBar* status_ = nullptr;
  PolicySelector* policy_ = nullptr;
  QComboBox* device_ = nullptr;
  QMenu* recentMenu_ = nullptr;
  HistoryPage* history_ = nullptr;
  ComparePage* compare_ = nullptr;
  QLabel* databaseLabel_ = nullptr;
  QPushButton* resumeOffer_ = nullptr;
  QVector<qint64> interruptedRuns_;
  RunLibrary* library_ = nullptr;

  QAction* newAction_ = nullptr;
  QAction* openAction_ = nullptr;
  QAction* saveAction_ = nullptr;
  QAction* saveAsAction_ = nullptr;
  QAction* undoAction_ = nullptr;
  QAction* redoAction_ = nullptr;
  QAction* trainAction_ = nullptr;
  QAction* pauseAction_ = nullptr;
  QAction* stopAction_ = nullptr;
  QAction* compareAction_ = nullptr;
  QAction* quitAction_ = nullptr;
  QAction* connectAction_ = nullptr;
  QPointer<ModelCanvas> canvas_;
  QObject* canvasWatch_ = nullptr;  // context of the canvas's connections, gone first
};

}  // namespace mantissa::ui
