// The Data page: loading synthetic, CSV, IDX, image-folder and text datasets
// off the GUI thread, their previews, and their fit to the model, as the
// Data window of the studio shows them.
#include <QAction>
#include <QCheckBox>
#include <QComboBox>
#include <QListWidget>
#include <QSpinBox>
#include <QUndoStack>
#include <QDialogButtonBox>
#include <QDir>
#include <QFile>
#include <QImage>
#include <QLineEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QTabWidget>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>
#include <atomic>
#include <cmath>

#include "DatasetPage.hpp"
#include "LayerNode.hpp"
#include "MainWindow.hpp"
#include "MainWindowFixture.hpp"
#include "ModelCanvas.hpp"
#include "ProjectDocument.hpp"
#include "TestSupport.hpp"
#include "services/WorkerThreads.hpp"
#include "mantissa/backend.hpp"
#include "mantissa/data.hpp"

using namespace mantissa;
using namespace mantissa::ui;
using namespace mantissa::ui::testing;

namespace {

QByteArray bigEndian(quint32 v) {
  QByteArray b(4, 0);
  for (int i = 0; i < 4; ++i) b[i] = char((v >> (24 - 8 * i)) & 0xff);
  return b;
}

// 40 images of 28×28 and their labels 0..3 as an IDX pair in `dir`.
std::pair<QString, QString> writeIdx(const QTemporaryDir& dir) {
  const int n = 40;
  QByteArray images = bigEndian(0x803) + bigEndian(n) + bigEndian(28) + bigEndian(28);
  QByteArray labels = bigEndian(0x801) + bigEndian(n);
  for (int i = 0; i < n; ++i) {
    for (int p = 0; p < 28 * 28; ++p) images.append(char((p * (i + 1)) % 256));
    labels.append(char(i % 4));
  }
  const auto save = [&](const QString& name, const QByteArray& bytes) {
    QFile f(dir.filePath(name));
    if (!f.open(QIODevice::WriteOnly)) return QString();
    f.write(bytes);
    return f.fileName();
  };
  return {save(QStringLiteral("img-idx3-ubyte"), images),
          save(QStringLiteral("lbl-idx1-ubyte"), labels)};
}

// Opens Data ▸ Dataset… and returns its page, shown in its window.
DatasetPage* openDatasetWindow(MainWindow& w) {
  auto* action = w.findChild<QAction*>(QStringLiteral("datasetAction"));
  if (!action) return nullptr;
  action->trigger();
  auto* page = w.findChild<DatasetPage*>();
  if (!page || !QTest::qWaitForWindowExposed(page->window())) return nullptr;
  return page;
}

// Picks CSV in the kind list and types `file` into its path, as a person would.
void chooseCsv(DatasetPage* page, const QString& file) {
  page->kindCombo()->setFocus();
  QTest::keyClick(page->kindCombo(), Qt::Key_End);  // CSV file, the last kind
  QLineEdit* path = page->csvPathEdit();
  path->setFocus();
  path->selectAll();
  QTest::keyClicks(path, file);
}

class DatasetPageTest : public QObject {
  Q_OBJECT

 private slots:
  // A text shows its windows as text (a new line as ⏎) and its byte counts
  // over every position; the context field appears for text kinds only.
  void textShowsItsWindowsAsText() {
    QTemporaryDir dir;
    ProjectDocument doc;
    DatasetPage page(&doc);
    DatasetSpec spec;
    spec.kind = "text";
    spec.path = writeFile(dir, QStringLiteral("t.txt"), QStringLiteral("ab\ncd\tef").repeated(10))
                    .toStdString();
    spec.context = 8;
    spec.validation_fraction = 0.2;
    page.setSpec(spec);
    QCOMPARE(page.spec().kind, std::string("text"));
    QCOMPARE(page.spec().context, 8);
    QSignalSpy done(&page, &DatasetPage::loaded);
    page.load();
    QVERIFY(done.wait(10000));
    QCOMPARE(page.previewTable()->columnCount(), 1);
    QCOMPARE(page.previewTable()->item(0, 0)->text(), QStringLiteral("ab⏎cd⇥ef"));
    QCOMPARE(page.previewTable()->item(1, 0)->text(), QStringLiteral("ab⏎cd⇥ef"));
    QCOMPARE(page.split()->train.num_classes, 256);
  }

  void loadsSpirals() {
    ProjectDocument doc;
    DatasetPage page(&doc);
    DatasetSpec spec;
    spec.kind = "spirals";
    spec.samples = 300;
    spec.classes = 2;
    spec.noise = 0.1;
    spec.seed = 7;
    spec.validation_fraction = 0.2;
    page.setSpec(spec);
    QSignalSpy done(&page, &DatasetPage::loaded);
    page.load();
    QVERIFY(page.isLoading());
    QVERIFY(done.wait(10000));
    QVERIFY(page.split() != nullptr);
    const DatasetSplit expected = load_dataset(spec);
    QCOMPARE(page.split()->train.num_classes, 2);
    QCOMPARE(page.split()->train.size(), expected.train.size());
    QCOMPARE(page.split()->validation.size(), expected.validation.size());
    QCOMPARE(page.split()->train.size() + page.split()->validation.size(), 300);
    QVERIFY(page.summaryText().contains(QStringLiteral("Classes: 2")));
    QVERIFY(page.summaryText().contains(
        QStringLiteral("Validation: %1").arg(expected.validation.size())));
    QVERIFY(page.errorText().isEmpty());
    QCOMPARE(page.previewTable()->rowCount(), 50);

    const std::string kindBefore = doc.project().dataset.kind;
    QVERIFY(!doc.isModified());
    page.apply();
    QCOMPARE(doc.project().dataset.kind, std::string("spirals"));
    QCOMPARE(doc.project().dataset.samples, 300);
    // An ordinary edit: undoable, and the document is unsaved until saved.
    QVERIFY(doc.isModified());
    doc.undoStack()->undo();
    QCOMPARE(doc.project().dataset.kind, kindBefore);
    QVERIFY(!doc.isModified());
  }

  void finishedWorkersAreJoinedWhenTheNextStarts() {
    WorkerThreads workers;
    std::atomic<int> ran{0};
    for (int i = 0; i < 5; ++i) workers.start([&ran] { ++ran; });
    QTRY_COMPARE(ran.load(), 5);
    // Each start joins the finished threads first: the five go, however late
    // a thread gets to mark itself done. Without reaping, size() only grows.
    bool reaped = false;
    for (int i = 0; i < 500 && !reaped; ++i) {
      QTest::qWait(10);
      workers.start([] {});
      reaped = workers.size() < 6;
    }
    QVERIFY(reaped);
  }

  void aNewerLoadWins() {
    DatasetPage page(nullptr);
    DatasetSpec first;
    first.kind = "moons";
    first.samples = 200;
    DatasetSpec second;
    second.kind = "blobs";
    second.samples = 120;
    second.classes = 3;
    page.setSpec(first);
    page.load();
    page.setSpec(second);
    QSignalSpy done(&page, &DatasetPage::loaded);
    page.load();
    QVERIFY(done.wait(10000));
    QTest::qWait(50);  // the older result, if it arrives later, is dropped
    QCOMPARE(done.count(), 1);
    QCOMPARE(page.split()->train.num_classes, 3);
    QCOMPARE(page.split()->train.size() + page.split()->validation.size(), 120);
  }

  void imageDataShowsThumbnails() {
    QTemporaryDir dir;
    const auto [images, labels] = writeIdx(dir);
    DatasetPage page(nullptr);
    DatasetSpec spec;
    spec.kind = "idx";
    spec.images = images.toStdString();
    spec.labels = labels.toStdString();
    spec.validation_fraction = 0.25;
    page.setSpec(spec);
    QSignalSpy done(&page, &DatasetPage::loaded);
    page.load();
    QVERIFY2(done.wait(10000), qPrintable(page.errorText()));
    QCOMPARE(page.split()->train.size(), 30);
    QCOMPARE(page.split()->validation.size(), 10);
    QCOMPARE(page.split()->train.num_classes, 4);
    QCOMPARE(page.previewImages()->count(), 30);
    QVERIFY(page.summaryText().contains(QStringLiteral("1×28×28")));
    QVERIFY(!sampleThumbnail(page.split()->train, 0).isNull());
  }

  // A folder of class folders: RGB thumbnails named by class, and, with crop
  // and flip asked for, the preview shows the pictures augmented exactly as
  // the loader thread will in the first epoch.
  void imageFoldersPreviewTheAugmentedTrainingPictures() {
    QTemporaryDir dir;
    for (const QString& cls : {QStringLiteral("arrows"), QStringLiteral("bars")}) {
      QVERIFY(QDir(dir.path()).mkpath(cls));
      for (int i = 0; i < 6; ++i) {
        // Left half red, right half blue: a flip or a shift changes the picture.
        QImage img(12, 12, QImage::Format_RGB888);
        for (int y = 0; y < 12; ++y)
          for (int x = 0; x < 12; ++x)
            img.setPixelColor(x, y, x < 6 ? QColor(255, 0, i * 40) : QColor(0, 0, 255));
        QVERIFY(img.save(dir.filePath(cls + QStringLiteral("/%1.png").arg(i))));
      }
    }
    ProjectDocument doc;
    DatasetPage page(&doc);
    DatasetSpec spec;
    spec.kind = "images";
    spec.path = dir.path().toStdString();
    spec.channels = 3;
    spec.height = 8;
    spec.width = 8;
    spec.validation_fraction = 0.0;
    page.setSpec(spec);
    QCOMPARE(page.spec().kind, std::string("images"));
    QCOMPARE(page.spec().height, 8);
    QVERIFY(!page.cropPaddingBox()->isHidden());
    QSignalSpy done(&page, &DatasetPage::loaded);
    page.load();
    QVERIFY2(done.wait(10000), qPrintable(page.errorText()));
    const Dataset& train = page.split()->train;
    QCOMPARE(train.size(), 12);
    QCOMPARE(train.sample_shape, (std::vector<std::int64_t>{3, 8, 8}));
    QCOMPARE(page.previewImages()->count(), 12);
    QCOMPARE(page.previewImages()->item(0)->text(), QStringLiteral("arrows"));
    QCOMPARE(page.previewImages()->item(11)->text(), QStringLiteral("bars"));
    const QImage plain = sampleThumbnail(train, 0);
    QVERIFY(plain.format() == QImage::Format_RGB888 || plain.isGrayscale() == false);

    page.cropPaddingBox()->setValue(2);
    page.flipBox()->setChecked(true);
    QCOMPARE(page.spec().crop_padding, 2);
    QVERIFY(page.spec().flip);
    page.load();
    QVERIFY2(done.wait(10000), qPrintable(page.errorText()));
    const Dataset shown = previewSamples(page.split()->train, page.spec(),
                                         doc.project().training.seed, 32);
    int changed = 0;
    for (int i = 0; i < 12; ++i) {
      const QImage icon = page.previewImages()->item(i)->icon().pixmap(56, 56).toImage();
      const QImage augmented = sampleThumbnail(shown, i).convertToFormat(icon.format());
      QCOMPARE(icon, augmented);
      changed += sampleThumbnail(train, i).convertToFormat(icon.format()) != icon;
    }
    QVERIFY2(changed >= 6, qPrintable(QStringLiteral("%1 of 12 changed").arg(changed)));

    page.apply();
    QCOMPARE(doc.project().dataset.kind, std::string("images"));
    QCOMPARE(doc.project().dataset.crop_padding, 2);
    QVERIFY(doc.project().dataset.flip);
  }

  void raggedCsvShowsTheRow() {
    QTemporaryDir dir;
    const QString csv = writeFile(dir, QStringLiteral("ragged.csv"),
                                  QStringLiteral("a,b,label\n1,2,0\n3,4,1\n5,6\n7,8,1\n"));
    ProjectDocument doc;
    DatasetPage page(&doc);
    QSignalSpy filled(&page, &DatasetPage::labelColumnsFilled);
    page.fillLabelColumns(csv);
    QVERIFY(filled.wait(10000));  // the header is read on the dataset service's worker
    QVERIFY(page.labelColumnCombo()->findText(QStringLiteral("label")) >= 0);
    DatasetSpec spec;
    spec.kind = "csv";
    spec.path = csv.toStdString();
    page.setSpec(spec);
    QSignalSpy failed(&page, &DatasetPage::loadFailed);
    page.load();
    QVERIFY(failed.wait(10000));
    QVERIFY2(page.errorText().contains(QStringLiteral("row 4")), qPrintable(page.errorText()));
    QVERIFY(page.split() == nullptr);
  }

  void mainWindowOpensTheDatasetPage() {
    QTemporaryDir dir;
    StudioOptions o = studioIn(dir);
    MainWindow w(o);
    auto* data = w.findChild<QAction*>(QStringLiteral("datasetAction"));
    QVERIFY(data);
    QVERIFY(w.findChild<QAction*>(QStringLiteral("evaluateRunAction")));
    QVERIFY(w.findChild<QAction*>(QStringLiteral("sampleRunAction")));
    data->trigger();
    auto* page = w.findChild<DatasetPage*>();
    QVERIFY(page);
    QCOMPARE(page->spec().kind, std::string("spirals"));
    QCOMPARE(page->spec().samples, 256);
  }

  void choosingACsvFileNamesItsColumnsAndChecksTheModel() {
    QTemporaryDir dir;
    MainWindow w(studioIn(dir));
    DatasetPage* page = openDatasetWindow(w);
    QVERIFY(page);
    const QString csv = writeFile(dir, QStringLiteral("three.csv"),
                                  QStringLiteral("width,height,depth,kind\n1,2,3,a\n4,5,6,b\n"));
    QSignalSpy filled(page, &DatasetPage::labelColumnsFilled);
    chooseCsv(page, csv);
    QCOMPARE(page->spec().kind, std::string("csv"));
    // The header is read once the file is named, before any Load.
    QVERIFY(filled.wait(10000));
    for (const char* name : {"width", "height", "depth", "kind"})
      QVERIFY2(page->labelColumnCombo()->findText(QString::fromLatin1(name)) >= 0, name);
    // Next to Apply: the misfit, before anything is applied.
    QTRY_VERIFY_WITH_TIMEOUT(page->fitIsProblem(), 10000);
    QCOMPARE(page->fitText(),
             QStringLiteral("the dataset 'three.csv' has 3 features per sample; this Input "
                            "expects 2"));
    auto* canvas = w.modelCanvas();
    QVERIFY(canvas && canvas->node(QStringLiteral("input")));
    QVERIFY(!canvas->node(QStringLiteral("input"))->hasError());

    // Apply: the Input node shows it in red, and Undo takes it away.
    QTest::mouseClick(page->buttonBox()->button(QDialogButtonBox::Apply), Qt::LeftButton);
    QCOMPARE(w.document()->project().dataset.path.string(), csv.toStdString());
    QVERIFY(page->window()->isVisible());  // Apply keeps the window open
    QVERIFY2(canvas->node(QStringLiteral("input"))->errorMessage().contains(
                 QStringLiteral("'three.csv' has 3 features per sample")),
             qPrintable(canvas->node(QStringLiteral("input"))->errorMessage()));
    w.document()->undoStack()->undo();
    QVERIFY(!canvas->node(QStringLiteral("input"))->hasError());
    QCOMPARE(page->spec().kind, std::string("spirals"));  // the page follows the undo
    QTRY_VERIFY_WITH_TIMEOUT(page->fitText().startsWith(QStringLiteral("Fits")), 10000);
  }

  void theLoadedDatasetsClassesAreCheckedAgainstTheHead() {
    QTemporaryDir dir;
    MainWindow w(studioIn(dir));
    DatasetPage* page = openDatasetWindow(w);
    QVERIFY(page);
    // Two features fit the Input; three classes do not fit fc2's two outputs.
    const QString csv = writeFile(dir, QStringLiteral("three-classes.csv"),
                                  QStringLiteral("x,y,label\n1,2,0\n3,4,1\n5,6,2\n7,8,0\n"));
    chooseCsv(page, csv);
    QTRY_VERIFY_WITH_TIMEOUT(page->fitText().startsWith(QStringLiteral("Fits")), 10000);
    QSignalSpy loaded(page, &DatasetPage::loaded);
    QTest::mouseClick(page->findChild<QPushButton*>(QStringLiteral("datasetLoad")),
                      Qt::LeftButton);
    QVERIFY2(loaded.wait(10000), qPrintable(page->errorText()));
    QVERIFY(page->fitIsProblem());
    QVERIFY2(page->fitText().contains(QStringLiteral("3 classes")), qPrintable(page->fitText()));
    // The preview names the columns as the header does.
    QTRY_COMPARE(page->previewTable()->horizontalHeaderItem(0)->text(), QStringLiteral("x"));
    QCOMPARE(page->previewTable()->horizontalHeaderItem(1)->text(), QStringLiteral("y"));
    QCOMPARE(page->previewTable()->horizontalHeaderItem(2)->text(), QStringLiteral("label"));

    // OK applies what was loaded, classes included, and closes the window.
    QTest::mouseClick(page->buttonBox()->button(QDialogButtonBox::Ok), Qt::LeftButton);
    QVERIFY(!page->window()->isVisible());
    QVERIFY(w.document()->datasetShape().has_value());
    QCOMPARE(w.document()->datasetShape()->num_classes, 3);
    auto* canvas = w.modelCanvas();
    QVERIFY2(canvas->node(QStringLiteral("fc2"))->errorMessage().contains(
                 QStringLiteral("3 classes")),
             qPrintable(canvas->node(QStringLiteral("fc2"))->errorMessage()));
  }

  void theWindowOpensOnTheProjectsDataset() {
    QTemporaryDir dir;
    MainWindow w(studioIn(dir));
    DatasetPage* page = openDatasetWindow(w);
    QVERIFY(page);
    chooseCsv(page, dir.filePath(QStringLiteral("tried.csv")));
    QCOMPARE(page->spec().kind, std::string("csv"));
    // Escape closes without applying.
    QTest::keyClick(page->csvPathEdit(), Qt::Key_Escape);
    QVERIFY(!page->window()->isVisible());
    QCOMPARE(w.document()->project().dataset.kind, std::string("spirals"));
    // Reopened, it shows the project's dataset, not the file last tried.
    QCOMPARE(openDatasetWindow(w), page);
    QCOMPARE(page->spec().kind, std::string("spirals"));
    QVERIFY(page->csvPathEdit()->text().isEmpty());

    // Cancel closes without applying too.
    chooseCsv(page, dir.filePath(QStringLiteral("tried.csv")));
    QTest::mouseClick(page->buttonBox()->button(QDialogButtonBox::Cancel), Qt::LeftButton);
    QVERIFY(!page->window()->isVisible());
    QCOMPARE(w.document()->project().dataset.kind, std::string("spirals"));

    // Enter is OK: applied and closed. While closed, the page follows undo.
    QCOMPARE(openDatasetWindow(w), page);
    page->kindCombo()->setFocus();
    QTest::keyClick(page->kindCombo(), Qt::Key_Home);  // Built-in MNIST
    QTest::keyClick(page->kindCombo(), Qt::Key_Down);  // Built-in Fashion-MNIST
    QCOMPARE(page->spec().kind, std::string("fashion-mnist"));
    QTest::keyClick(page->kindCombo(), Qt::Key_Down);  // Built-in text
    QCOMPARE(page->spec().kind, std::string("fortunes"));
    QTest::keyClick(page->kindCombo(), Qt::Key_Down);  // Spirals
    QTest::keyClick(page->kindCombo(), Qt::Key_Down);  // Moons
    QCOMPARE(page->spec().kind, std::string("moons"));
    QTest::keyClick(page->kindCombo(), Qt::Key_Return);
    QVERIFY(!page->window()->isVisible());
    QCOMPARE(w.document()->project().dataset.kind, std::string("moons"));
    w.document()->undoStack()->undo();
    QCOMPARE(openDatasetWindow(w), page);
    QCOMPARE(page->spec().kind, std::string("spirals"));
  }
};

}  // namespace

int runDatasetPageTests(int argc, char** argv) {
  DatasetPageTest t;
  return QTest::qExec(&t, argc, argv);
}

#include "DatasetPageTest.moc"
