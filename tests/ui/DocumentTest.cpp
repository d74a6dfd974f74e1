// ProjectDocument (open, save, undo of training edits, the dataset checked
// against the model) and StudioSettings.
#include <QFile>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QUndoStack>

#include "ProjectDocument.hpp"
#include "StudioSettings.hpp"
#include "TestSupport.hpp"

using namespace mantissa;
using namespace mantissa::ui;
using namespace mantissa::ui::testing;

class DocumentTest : public QObject {
  Q_OBJECT

 private slots:
  void loadsAndAnalyzesAProject() {
    QTemporaryDir dir;
    const QString path = writeFile(dir, QStringLiteral("p.json"), spiralsJson(40));
    ProjectDocument doc;
    QSignalSpy replaced(&doc, &ProjectDocument::projectReplaced);
    QVERIFY(!doc.load(path).has_value());
    QCOMPARE(replaced.count(), 1);
    QCOMPARE(doc.filePath(), path);
    QCOMPARE(doc.displayName(), QStringLiteral("tiny-spirals"));
    QVERIFY(doc.summary().has_value());
    QCOMPARE(doc.summary()->total_params, qint64(2 * 16 + 16 + 16 * 2 + 2));
    QVERIFY(!doc.isModified());
  }

  void badFileLeavesTheDocumentAsItWas() {
    QTemporaryDir dir;
    ProjectDocument doc;
    QVERIFY(!doc.load(writeFile(dir, QStringLiteral("good.json"), spiralsJson(40))).has_value());
    const QString bad = writeFile(dir, QStringLiteral("bad.json"), QStringLiteral("{ not json"));
    const auto error = doc.load(bad);
    QVERIFY(error.has_value());
    QVERIFY2(error->contains(QStringLiteral("bad.json")), qPrintable(*error));
    QCOMPARE(doc.displayName(), QStringLiteral("tiny-spirals"));
    QVERIFY(doc.load(dir.filePath(QStringLiteral("absent.json"))).has_value());
  }

  void modelErrorsAreReportedNotThrown() {
    Project p = parseProject(spiralsJson(40), QStringLiteral("p.json"));
    p.model.layers[3].inputs = {"nowhere"};
    ProjectDocument doc;
    doc.reset(p);
    QVERIFY(!doc.summary().has_value());
    QVERIFY2(doc.modelError().contains(QStringLiteral("nowhere")), qPrintable(doc.modelError()));
    QCOMPARE(doc.displayName(), QStringLiteral("tiny-spirals"));
  }

  void trainingEditsUndoAndMerge() {
    QTemporaryDir dir;
    ProjectDocument doc;
    QVERIFY(!doc.load(writeFile(dir, QStringLiteral("p.json"), spiralsJson(40))).has_value());
    QSignalSpy modified(&doc, &ProjectDocument::modifiedChanged);
    TrainingSpec t = doc.training();
    t.batch_size = 64;
    doc.editTraining(t, QStringLiteral("batch size"), true);
    t.batch_size = 16;
    doc.editTraining(t, QStringLiteral("batch size"), true);  // merges with the edit before
    t.optimizer.lr = 0.5;
    doc.editTraining(t, QStringLiteral("learning rate"), true);
    QVERIFY(doc.isModified());
    QVERIFY(modified.count() >= 1);
    QCOMPARE(doc.undoStack()->count(), 2);
    doc.undoStack()->undo();
    QCOMPARE(doc.training().optimizer.lr, 0.1);
    QCOMPARE(doc.training().batch_size, qint64(16));
    doc.undoStack()->undo();
    QCOMPARE(doc.training().batch_size, qint64(32));
    QVERIFY(!doc.isModified());
    doc.undoStack()->redo();
    QCOMPARE(doc.training().batch_size, qint64(16));

    // Discrete choices never merge, even twice in a row.
    t = doc.training();
    t.policy = Policy::MixedFloat16;
    doc.editTraining(t, QStringLiteral("policy"));
    t.policy = Policy::MixedBFloat16;
    doc.editTraining(t, QStringLiteral("policy"));
    doc.undoStack()->undo();
    QCOMPARE(doc.training().policy, Policy::MixedFloat16);
  }

  void saveRoundTrips() {
    QTemporaryDir dir;
    ProjectDocument doc;
    QVERIFY(!doc.load(writeFile(dir, QStringLiteral("p.json"), spiralsJson(40))).has_value());
    TrainingSpec t = doc.training();
    t.policy = Policy::MixedBFloat16;
    t.loss_scale.mode = LossScaleMode::Fixed;
    t.loss_scale.init_scale = 1024;
    doc.editTraining(t, QStringLiteral("policy"));
    const QString copy = dir.filePath(QStringLiteral("copy.json"));
    QVERIFY(!doc.saveAs(copy).has_value());
    QVERIFY(!doc.isModified());
    QCOMPARE(doc.filePath(), copy);
    ProjectDocument again;
    QVERIFY(!again.load(copy).has_value());
    QCOMPARE(again.training().policy, Policy::MixedBFloat16);
    QCOMPARE(again.training().loss_scale.init_scale, 1024.0);
    QCOMPARE(project_to_json(again.project()), project_to_json(doc.project()));
    QVERIFY(doc.saveAs(dir.filePath(QStringLiteral("no/such/dir/x.json"))).has_value());
  }

  void aDatasetThatDoesNotFitIsAnErrorOnTheInput() {
    QTemporaryDir dir;
    // Three features for an Input of [2].
    const QString csv = writeFile(dir, QStringLiteral("three.csv"),
                                  QStringLiteral("a,b,c,label\n1,2,3,0\n4,5,6,1\n"));
    const QString path = writeFile(
        dir, QStringLiteral("p.json"),
        spiralsJson(40, QStringLiteral("float32"), QString(),
                    QStringLiteral(R"({"kind": "csv", "path": "three.csv"})")));
    ProjectDocument doc;
    QVERIFY(!doc.load(path).has_value());
    QVERIFY(doc.datasetShape().has_value());
    QCOMPARE(doc.datasetShape()->sample_shape, std::vector<std::int64_t>{3});
    const auto inputProblems = [&doc] {
      QStringList out;
      for (const ModelProblem* p : doc.diagnosis().problems_of("input"))
        if (!p->warning) out << QString::fromStdString(p->message);
      return out;
    };
    QCOMPARE(inputProblems(),
             QStringList{QStringLiteral(
                 "the dataset 'three.csv' has 3 features per sample; this Input expects 2")});

    // A dataset that fits clears it, and the canvas hears of it.
    QSignalSpy modelChanged(&doc, &ProjectDocument::modelChanged);
    DatasetSpec spirals;
    spirals.kind = "spirals";
    doc.editDataset(spirals);
    QVERIFY(inputProblems().isEmpty());
    QCOMPARE(modelChanged.count(), 1);

    // Undo and redo restore what was known without reading the file again.
    QVERIFY(QFile::remove(csv));
    doc.undoStack()->undo();
    QCOMPARE(doc.project().dataset.kind, std::string("csv"));
    QCOMPARE(inputProblems().size(), 1);
    QVERIFY(inputProblems().first().contains(QStringLiteral("three.csv")));
    QCOMPARE(modelChanged.count(), 2);
    doc.undoStack()->redo();
    QVERIFY(inputProblems().isEmpty());
    doc.undoStack()->undo();

    // A model edit is checked against the kept shape: an Input of [3] fits.
    ModelSpec model = doc.project().model;
    model.layers[0].shape = {3};
    doc.applyModel(model);
    QVERIFY(inputProblems().isEmpty());
    model.layers[0].shape = {1, 2, 2};
    doc.applyModel(model);
    QCOMPARE(inputProblems(), QStringList{QStringLiteral("the dataset 'three.csv' has 3 features "
                                                         "per sample; this Input expects 1×2×2 = 4")});
  }

  void aLoadedShapeCarriesItsClassesToTheHead() {
    QTemporaryDir dir;
    ProjectDocument doc;
    QVERIFY(!doc.load(writeFile(dir, QStringLiteral("p.json"), spiralsJson(40))).has_value());
    QVERIFY(doc.diagnosis().problems.empty());
    DatasetSpec csv;
    csv.kind = "csv";
    csv.path = "absent.csv";  // never read: the caller loaded it
    DatasetShape loaded;
    loaded.name = "five.csv";
    loaded.sample_shape = {2};
    loaded.num_classes = 5;
    doc.editDataset(csv, loaded);
    const auto head = doc.diagnosis().problems_of("fc2");
    QCOMPARE(head.size(), std::size_t(1));
    QVERIFY2(QString::fromStdString(head[0]->message).contains(QStringLiteral("5 classes")),
             head[0]->message.c_str());
    QVERIFY(doc.datasetShapeError().isEmpty());

    // Nothing loaded and the file unreadable: nothing to check, and why.
    doc.editDataset(csv);
    QVERIFY(!doc.datasetShape().has_value());
    QVERIFY2(doc.datasetShapeError().contains(QStringLiteral("absent.csv")),
             qPrintable(doc.datasetShapeError()));
    QVERIFY(doc.diagnosis().problems.empty());
  }

  void settingsAreTypedAndPersist() {
    QTemporaryDir dir;
    const QString ini = dir.filePath(QStringLiteral("s.ini"));
    {
      StudioSettings s(ini);
      QCOMPARE(s.device(), QStringLiteral("cpu"));
      QVERIFY(s.plotsFollowLatest());
      for (int i = 0; i < StudioSettings::kMaxRecentFiles + 3; ++i)
        s.addRecentFile(QStringLiteral("/p/%1.json").arg(i));
      s.addRecentFile(QStringLiteral("/p/3.json"));
      s.setLastDatabase(QStringLiteral("/db/runs.db"));
      s.setPlotsUseWallTime(true);
      s.sync();
    }
    StudioSettings s(ini);
    const QStringList recent = s.recentFiles();
    QCOMPARE(recent.size(), StudioSettings::kMaxRecentFiles);
    QCOMPARE(recent.first(), QStringLiteral("/p/3.json"));
    QCOMPARE(recent.count(QStringLiteral("/p/3.json")), 1);
    QVERIFY(!recent.contains(QStringLiteral("/p/0.json")));
    QCOMPARE(s.lastDatabase(), QStringLiteral("/db/runs.db"));
    QVERIFY(s.plotsUseWallTime());
  }
};

int runDocumentTests(int argc, char** argv) {
  DocumentTest t;
  return QTest::qExec(&t, argc, argv);
}

#include "DocumentTest.moc"
