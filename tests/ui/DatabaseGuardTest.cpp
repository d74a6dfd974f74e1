// The run database survives what a desktop process does around it: a file
// dialog browsing its folder (icons, MIME sniffing) while another process
// lists runs and trains into the same database. Without the open guard
// (store/file_guard.hpp) the dialog's file model opens runs.db, runs.db-wal and
// runs.db-shm read-only to guess their types and closes them again; the
// process loses its SQLite locks, the CLI deletes the WAL under it, and the
// next commits fail ("disk I/O error", "database disk image is malformed").
#include <sqlite3.h>

#include <QDir>
#include <QFile>
#include <QFileDialog>
#include <QFileIconProvider>
#include <QFileSystemModel>
#include <QMimeDatabase>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include "TestSupport.hpp"
#include "mantissa/store.hpp"

using namespace mantissa;
using namespace mantissa::ui::testing;

namespace {

StepMetrics stepAt(std::int64_t step) {
  StepMetrics m;
  m.step = step;
  m.loss = 1.0 / double(step);
  m.loss_scale = 65536;
  m.step_time_s = 0.001;
  m.samples_per_s = 32000;
  m.wall_time_s = 0.001 * double(step);
  return m;
}

NewRun studioRun(const std::string& name) {
  NewRun r;
  r.name = name;
  r.project_name = "tiny-spirals";
  r.policy = "float32";
  r.backend = "cpu";
  return r;
}

// What the CLI prints and returns, run as a user would in a terminal.
struct CliResult {
  int exitCode = -1;
  QString output;
};

CliResult cli(const QStringList& args) {
  QProcess p;
  p.setProcessChannelMode(QProcess::MergedChannels);
  p.start(QStringLiteral(MANTISSA_CLI), args);
  p.waitForFinished(120000);
  return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1,
          QString::fromUtf8(p.readAll())};
}

QString integrityCheck(const QString& path) {
  sqlite3* db = nullptr;
  QString result = QStringLiteral("(cannot open)");
  if (sqlite3_open_v2(path.toUtf8().constData(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* q = nullptr;
    if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &q, nullptr) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW) {
      result = QString::fromUtf8(reinterpret_cast<const char*>(sqlite3_column_text(q, 0)));
    } else {
      result = QString::fromUtf8(sqlite3_errmsg(db));
    }
    sqlite3_finalize(q);
  }
  sqlite3_close(db);
  return result;
}

// Everything a file dialog and the widgets around it may do with the files of
// a folder: list it, draw each file's icon (which sniffs content for its MIME
// type), and read the files outright.
void browseLikeAFileDialog(const QString& folder) {
  QFileDialog dialog(nullptr, QStringLiteral("Open Project"), folder);
  dialog.setOption(QFileDialog::DontUseNativeDialog);
  dialog.show();
  auto* model = dialog.findChild<QFileSystemModel*>();
  QVERIFY(model != nullptr);
  QTRY_VERIFY_WITH_TIMEOUT(model->rowCount(model->index(folder)) >= 3, 10000);
  const QModelIndex root = model->index(folder);
  for (int row = 0; row < model->rowCount(root); ++row) {
    (void)model->data(model->index(row, 0, root), Qt::DecorationRole);
  }
  QTest::qWait(300);  // the icon gatherer runs on its own thread

  QFileIconProvider icons;
  QMimeDatabase mimes;
  for (const QFileInfo& info : QDir(folder).entryInfoList(QDir::Files)) {
    (void)icons.icon(info);
    (void)mimes.mimeTypeForFile(info, QMimeDatabase::MatchContent);
    QFile file(info.absoluteFilePath());
    if (file.open(QIODevice::ReadOnly)) (void)file.read(16);
  }
  dialog.reject();
}

class DatabaseGuardTest : public QObject {
  Q_OBJECT

 private slots:
  void otherCodeCannotOpenTheFilesOfAnOpenDatabase() {
    QTemporaryDir dir;
    const QString db = dir.filePath(QStringLiteral("runs.db"));
    {
      RunStore store(db.toStdString());
      store.append_step(store.create_run(studioRun("held")), stepAt(1));
      store.flush();
      for (const QString& name : {db, db + "-wal", db + "-shm"}) {
        QVERIFY2(QFile::exists(name), qPrintable(name));
        QFile file(name);
        QVERIFY2(!file.open(QIODevice::ReadOnly), qPrintable(name + " was opened"));
        QVERIFY(std::fopen(name.toUtf8().constData(), "rb") == nullptr);
      }
      // A second connection of this process is SQLite's own and still opens.
      RunStore second(db.toStdString());
      QCOMPARE(second.list_runs().size(), std::size_t(1));
    }
    // Nothing holds the database any more: it is an ordinary file again.
    QFile file(db);
    QVERIFY(file.open(QIODevice::ReadOnly));
    QCOMPARE(file.read(15), QByteArray("SQLite format 3"));
  }

  void aFileDialogOnTheFolderWhileTheCliWritesLosesNothing() {
    try {
      browseWhileTheCliWrites();
    } catch (const std::exception& e) {
      QFAIL(e.what());  // e.g. "runs.db: database is damaged (database disk image is malformed)"
    }
  }

 private:
  void browseWhileTheCliWrites() {
    QTemporaryDir dir;
    const QString db = dir.filePath(QStringLiteral("runs.db"));
    const QString project = writeFile(dir, QStringLiteral("project.json"), spiralsJson(40));
    QVERIFY(!project.isEmpty());

    // The studio trained once and keeps the database open (History).
    RunStore studio(db.toStdString());
    const std::int64_t first = studio.create_run(studioRun("studio 1"));
    for (int s = 1; s <= 50; ++s) studio.append_step(first, stepAt(s));
    studio.set_status(first, RunStatus::Finished);

    browseLikeAFileDialog(dir.path());

    // A terminal lists the runs and trains into the same database.
    CliResult list = cli({QStringLiteral("runs"), QStringLiteral("list"), QStringLiteral("--db"), db});
    QVERIFY2(list.exitCode == 0, qPrintable(list.output));
    CliResult train = cli({QStringLiteral("train"), project, QStringLiteral("--db"), db});
    QVERIFY2(train.exitCode == 0, qPrintable(train.output));

    // The studio trains again, and browses again.
    const std::int64_t second = studio.create_run(studioRun("studio 2"));
    for (int s = 1; s <= 50; ++s) studio.append_step(second, stepAt(s));
    studio.set_status(second, RunStatus::Finished);
    browseLikeAFileDialog(dir.path());
    list = cli({QStringLiteral("runs"), QStringLiteral("list"), QStringLiteral("--db"), db});
    QVERIFY2(list.exitCode == 0, qPrintable(list.output));
    const std::int64_t third = studio.create_run(studioRun("studio 3"));
    for (int s = 1; s <= 50; ++s) studio.append_step(third, stepAt(s));
    studio.set_status(third, RunStatus::Finished);

    // Every run is there, whole, seen from both processes.
    const std::vector<RunRecord> runs = studio.list_runs();
    QCOMPARE(runs.size(), std::size_t(4));
    for (const RunRecord& r : runs) {
      QCOMPARE(r.status, RunStatus::Finished);
      QCOMPARE(r.steps_recorded, r.name == "studio 1" || r.name == "studio 2" ||
                                         r.name == "studio 3"
                                     ? std::int64_t(50)
                                     : std::int64_t(40));
    }
    list = cli({QStringLiteral("runs"), QStringLiteral("list"), QStringLiteral("--db"), db});
    QVERIFY2(list.exitCode == 0, qPrintable(list.output));
    for (const char* name : {"studio 1", "studio 2", "studio 3"}) {
      QVERIFY2(list.output.contains(QLatin1String(name)), qPrintable(list.output));
    }
    QCOMPARE(integrityCheck(db), QStringLiteral("ok"));
  }
};

}  // namespace

int runDatabaseGuardTests(int argc, char** argv) {
  DatabaseGuardTest t;
  return QTest::qExec(&t, argc, argv);
}

#include "DatabaseGuardTest.moc"
