// The weights export dialog and "Load weights…" over a temporary store holding
// one tiny run with two checkpoints taken from a Trainer.
#include <QFileInfo>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QLineEdit>
#include <QTest>

#include "ExportDialog.hpp"
#include "Format.hpp"
#include "HistoryPage.hpp"
#include "InlineMessage.hpp"
#include "mantissa/train_job.hpp"
#include "TestSupport.hpp"
#include "services/RunLibrary.hpp"
#include "services/TrainingController.hpp"
#include "WeightsFile.hpp"
#include "mantissa/backend.hpp"
#include "mantissa/store.hpp"
#include "mantissa/trainer.hpp"
#include "mantissa/weights_io.hpp"

using namespace mantissa;
using namespace mantissa::ui;
using namespace mantissa::ui::testing;

class WeightsExportTest : public QObject {
  Q_OBJECT

  QTemporaryDir dir_;
  QString db_;
  qint64 runId_ = 0;
  Project project_;

  // The dialog reads the run's checkpoints on the run library's worker.
  static bool shown(ExportDialog& dialog) {
    if (dialog.checkpointsKnown()) return true;
    QSignalSpy spy(&dialog, &ExportDialog::checkpointsShown);
    return spy.wait(10000);
  }

  QString exportThrough(ExportDialog& dialog, const QString& name) {
    const QString file = dir_.filePath(name);
    dialog.setOutputFile(file);
    QSignalSpy spy(&dialog, &ExportDialog::exportFinished);
    dialog.startExport();
    if (!spy.wait(kRunTimeoutMs)) return QStringLiteral("timed out");
    return spy.at(0).at(2).toString();
  }

 private slots:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    db_ = dir_.filePath(QStringLiteral("runs.db"));
    project_ = parseProject(spiralsJson(4), QStringLiteral("tiny.json"));
    RunStore store(db_.toStdString());
    runId_ = store.create_run(new_run_record(project_, project_.name));
    auto backend = create_backend("cpu");
    Trainer trainer(project_, *backend);
    const std::vector<std::uint8_t> ck = trainer.checkpoint();
    store.add_checkpoint(runId_, 0, 0, ck);
    store.add_checkpoint(runId_, 4, 0, ck);
  }

  void dtypeChoicesFollowFormat() {
    HistoryExportFolder folder(dir_.filePath(QStringLiteral("settings.ini")));
    folder.setFolder(dir_.path());
    ExportDialog dialog(db_, runId_, &folder);
    QVERIFY(shown(dialog));
    QCOMPARE(dialog.format(), WeightsFormat::Safetensors);
    QCOMPARE(dialog.enabledDTypes(), (QVector<DType>{DType::F32, DType::F16, DType::BF16}));
    QCOMPARE(dialog.defaultFileName(),
             QStringLiteral("tiny-spirals-run%1.safetensors").arg(runId_));
    QCOMPARE(QFileInfo(dialog.outputFile()).absolutePath(),
             QFileInfo(dir_.path()).absoluteFilePath());
    QCOMPARE(dialog.checkpointSteps(), (QVector<qint64>{4, 0}));
    QVERIFY(dialog.setDType(DType::BF16));
    dialog.setFormat(WeightsFormat::Onnx);
    QCOMPARE(dialog.enabledDTypes(), (QVector<DType>{DType::F32, DType::F16}));
    QCOMPARE(dialog.dtype(), DType::F32);
    QVERIFY(!dialog.setDType(DType::BF16));
    QVERIFY(dialog.dtypeToolTip(DType::BF16).contains(QStringLiteral("ONNX")));
    QVERIFY(dialog.dtypeToolTip(DType::F16).isEmpty());
    QVERIFY(dialog.outputFile().endsWith(QStringLiteral("-run%1.onnx").arg(runId_)));
    QVERIFY(!dialog.setCheckpointStep(7));
  }

  // The suggested file is named after the run, made fit for a file name, and
  // follows a rename written while the dialog is open.
  void defaultFileNameIsTheRunsName() {
    QCOMPARE(fileNameStem(QStringLiteral("fp16 baseline / v2")), QStringLiteral("fp16-baseline-v2"));
    QCOMPARE(fileNameStem(QStringLiteral("..a:b*c?.")), QStringLiteral("a-b-c"));
    QCOMPARE(fileNameStem(QStringLiteral("  / ")), QStringLiteral("run"));
    QCOMPARE(fileNameStem(QStringLiteral("bf16_lr+0.1")), QStringLiteral("bf16_lr+0.1"));

    ExportDialog dialog(db_, runId_, nullptr);
    // The file field is wide enough to read a path, not just its end.
    {
      QLineEdit* field = nullptr;
      for (QLineEdit* e : dialog.findChildren<QLineEdit*>())
        if (e->text().endsWith(QStringLiteral(".safetensors"))) field = e;
      QVERIFY(field);
      QVERIFY(field->minimumWidth() >= field->fontMetrics().horizontalAdvance(QStringLiteral("x")) * 40);
    }
    QVERIFY(shown(dialog));
    const QString before = QStringLiteral("tiny-spirals-run%1.safetensors").arg(runId_);
    QCOMPARE(QFileInfo(dialog.outputFile()).fileName(), before);
    RunLibrary library;
    QSignalSpy renamed(RunNotices::instance(), &RunNotices::runRenamed);
    library.renameRun(db_, runId_, QStringLiteral("fp16 baseline / v2"));
    QVERIFY(renamed.wait(10000));
    const QString after = QStringLiteral("fp16-baseline-v2-run%1.safetensors").arg(runId_);
    QCOMPARE(dialog.runName(), QStringLiteral("fp16 baseline / v2"));
    QCOMPARE(dialog.defaultFileName(), after);
    QCOMPARE(QFileInfo(dialog.outputFile()).fileName(), after);
    dialog.setFormat(WeightsFormat::Onnx);
    QCOMPARE(QFileInfo(dialog.outputFile()).fileName(),
             QStringLiteral("fp16-baseline-v2-run%1.onnx").arg(runId_));
    // A file chosen by hand stays as it is.
    dialog.setOutputFile(dir_.filePath(QStringLiteral("mine.onnx")));
    library.renameRun(db_, runId_, QStringLiteral("other"));
    QVERIFY(renamed.wait(10000));
    QCOMPARE(QFileInfo(dialog.outputFile()).fileName(), QStringLiteral("mine.onnx"));
    // A dialog opened later reads the name from the store, not the project's.
    ExportDialog later(db_, runId_, nullptr);
    QVERIFY(shown(later));
    QCOMPARE(later.defaultFileName(), QStringLiteral("other-run%1.safetensors").arg(runId_));
    library.renameRun(db_, runId_, QStringLiteral("tiny-spirals"));  // as the others expect
    QVERIFY(renamed.wait(10000));
  }

  void exportsSafetensorsInChosenDType() {
    ExportDialog dialog(db_, runId_, nullptr);
    QVERIFY(shown(dialog));
    QVERIFY(dialog.setDType(DType::BF16));
    QVERIFY(dialog.setCheckpointStep(0));
    const QString error = exportThrough(dialog, QStringLiteral("w.safetensors"));
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QVERIFY(dialog.messageBar()->text().contains(QStringLiteral("w.safetensors")));
    const WeightsFile w =
        read_safetensors(dir_.filePath(QStringLiteral("w.safetensors")).toStdString());
    QVERIFY(!w.tensors.empty());
    for (const HostTensor& t : w.tensors) QCOMPARE(t.dtype, DType::BF16);
    QVERIFY(w.find("fc1.weight"));
  }

  void exportsOnnx() {
    ExportDialog dialog(db_, runId_, nullptr);
    dialog.setFormat(WeightsFormat::Onnx);
    QVERIFY(dialog.setDType(DType::F16));
    const QString error = exportThrough(dialog, QStringLiteral("m.onnx"));
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QVERIFY(QFileInfo(dir_.filePath(QStringLiteral("m.onnx"))).size() > 0);
  }

  void missingCheckpointFailsInline() {
    ExportDialog dialog(db_, runId_ + 1000, nullptr);
    QVERIFY(shown(dialog));
    QVERIFY(dialog.checkpointSteps().isEmpty());
    QVERIFY(!dialog.messageBar()->text().isEmpty());  // the run is not there
    const QString error = exportThrough(dialog, QStringLiteral("none.safetensors"));
    QVERIFY(!error.isEmpty());
    QVERIFY(dialog.messageBar()->text().contains(QStringLiteral("none.safetensors")));
  }

  void loadingWeightsThatDoNotFitReportsMismatch() {
    ExportDialog dialog(db_, runId_, nullptr);
    QVERIFY(exportThrough(dialog, QStringLiteral("fit.safetensors")).isEmpty());
    TrainingController controller(db_.toStdString());
    InlineMessage message;
    WeightsLoader loader(&controller, &message);
    QString other = spiralsJson(4);
    other.replace(QStringLiteral("\"out_features\": 16"), QStringLiteral("\"out_features\": 8"));
    QSignalSpy spy(&loader, &WeightsLoader::checked);
    loader.load(parseProject(other, QStringLiteral("other.json")),
                dir_.filePath(QStringLiteral("fit.safetensors")));
    QVERIFY(spy.wait(kRunTimeoutMs));
    const QString error = spy.at(0).at(1).toString();
    QVERIFY2(error.contains(QStringLiteral("does not fit the model")), qPrintable(error));
    QVERIFY2(error.contains(QStringLiteral("fc1.weight")), qPrintable(error));
    QCOMPARE(message.text(), error);
    QVERIFY(!controller.initWeights());
  }

  void loadingFittingWeightsSetsInitWeights() {
    const QString file = dir_.filePath(QStringLiteral("fit.safetensors"));
    QVERIFY(QFileInfo::exists(file));
    TrainingController controller(db_.toStdString());
    InlineMessage message;
    WeightsLoader loader(&controller, &message);
    QSignalSpy spy(&loader, &WeightsLoader::checked);
    loader.load(project_, file);
    QVERIFY(spy.wait(kRunTimeoutMs));
    QVERIFY2(spy.at(0).at(1).toString().isEmpty(), qPrintable(spy.at(0).at(1).toString()));
    QVERIFY(controller.initWeights());
    QCOMPARE(QString::fromStdString(controller.initWeights()->string()), file);
    QVERIFY(message.text().contains(QStringLiteral("fit.safetensors")));
    loader.clear();
    QVERIFY(!controller.initWeights());
  }

  void controllerPassesInitWeightsToTheTrainer() {
    TrainingController controller(db_.toStdString());
    const QString missing = dir_.filePath(QStringLiteral("gone.safetensors"));
    controller.setInitWeights(missing.toStdString());
    QSignalSpy failed(&controller, &TrainingController::runFailed);
    controller.start(project_, project_.training.policy);
    QVERIFY(failed.wait(kRunTimeoutMs));
    const QString message = failed.at(0).at(1).toString();
    QVERIFY2(message.contains(QStringLiteral("gone.safetensors")), qPrintable(message));
  }
};

int runWeightsExportTests(int argc, char** argv) {
  WeightsExportTest t;
  return QTest::qExec(&t, argc, argv);
}

#include "WeightsExportTest.moc"
