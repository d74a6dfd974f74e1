// Stored runs for the History and Compare suites: three finished runs under
// float32, mixed float16 and mixed bfloat16, and a run killed before its
// summary, written with RunStore directly.
#pragma once

#include <QSignalSpy>
#include <QString>
#include <QVector>
#include <string_view>

#include "HistoryPage.hpp"
#include "TestSupport.hpp"
#include "mantissa/recorder.hpp"
#include "mantissa/store.hpp"

namespace mantissa::ui::testing {

struct SampleRun {
  const char* name;
  const char* policy;
  double samplesPerS;
  std::int64_t peakMemory;
};

constexpr SampleRun kRuns[] = {
    {"alpha", "float32", 1000.0, 4000},
    {"beta", "mixed_float16", 1500.0, 3000},
    {"gamma", "mixed_bfloat16", 2000.0, 2500},
};
constexpr int kSteps = 20;

// The three runs; returns their ids in kRuns order.
inline QVector<qint64> writeRuns(const QString& db) {
  RunStore store(db.toStdString());
  QVector<qint64> ids;
  for (const SampleRun& s : kRuns) {
    NewRun n;
    n.name = s.name;
    n.project_name = "tiny-spirals";
    n.project_json = spiralsJson(kSteps, QString::fromLatin1(s.policy)).toStdString();
    n.policy = s.policy;
    n.loss_scale_json = R"({"mode":"none"})";
    n.backend = "cpu";
    const std::int64_t id = store.create_run(n);
    // The fp16 run ends at 2^22, which the summary must not write as 4.1943e+06.
    const double finalScale = std::string_view(s.policy) == "mixed_float16" ? 4194304.0 : 1.0;
    for (int step = 1; step <= kSteps; ++step) {
      StepMetrics m;
      m.step = step;
      m.loss = 1.0 / step;
      m.loss_scale = finalScale;
      m.samples_per_s = s.samplesPerS;
      m.memory_in_use = s.peakMemory / 2;
      m.memory_peak = s.peakMemory;
      m.wall_time_s = step * 0.01;
      store.append_step(id, m);
    }
    EpochMetrics e;
    e.epoch = 0;
    e.step = kSteps;
    e.train_loss = 0.2;
    e.val_loss = 0.25;
    e.val_accuracy = 0.9;
    store.append_epoch(id, e);
    RunSummary summary;
    summary.steps = kSteps;
    summary.final_val_accuracy = 0.9;
    summary.final_train_loss = 0.05;
    summary.wall_time_s = 0.2;
    summary.samples_per_s = s.samplesPerS;
    summary.peak_memory = s.peakMemory;
    summary.final_loss_scale = finalScale;
    store.set_status(id, RunStatus::Finished);
    store.set_summary(id, run_summary_json(summary));
    ids << id;
  }
  return ids;
}

// A run killed before its summary was written: steps only, 0.01 s apart.
inline qint64 writeUnfinishedRun(const QString& db, const char* name, const char* policy) {
  RunStore store(db.toStdString());
  NewRun n;
  n.name = name;
  n.project_name = "tiny-spirals";
  n.project_json = spiralsJson(kSteps, QString::fromLatin1(policy)).toStdString();
  n.policy = policy;
  n.loss_scale_json = R"({"mode":"none"})";
  n.backend = "cpu";
  const std::int64_t id = store.create_run(n);
  for (int step = 1; step <= kSteps; ++step) {
    StepMetrics m;
    m.step = step;
    m.loss = 2.0 / step;
    m.loss_scale = 1;
    m.samples_per_s = 800;
    m.wall_time_s = step * 0.15;
    store.append_step(id, m);
  }
  return id;
}

// History reads its list on the run library's worker: waits for the answer
// to the read the page asked for last.
inline bool listed(HistoryPage& page) {
  QSignalSpy spy(&page, &HistoryPage::runsListed);
  return spy.wait(10000);
}

}  // namespace mantissa::ui::testing
