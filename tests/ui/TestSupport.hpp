#pragma once
// Small projects and helpers shared by the studio's test suites.
#include <QFile>
#include <QString>
#include <QTemporaryDir>
#include <QTest>

#include "mantissa/model.hpp"

namespace mantissa::ui::testing {

// A tiny MLP on two spirals: hundreds of steps per second on one core.
// `dataset` replaces the dataset object; `extraTraining` is spliced into the
// training object (e.g. "\"loss_scale\": {...},").
inline QString spiralsJson(qint64 steps, const QString& policy = QStringLiteral("float32"),
                           const QString& extraTraining = QString(),
                           const QString& dataset = QString()) {
  const QString data =
      dataset.isEmpty()
          ? QStringLiteral(
                R"({"kind": "spirals", "samples": 256, "classes": 2, "noise": 0.05, "seed": 3})")
          : dataset;
  return QStringLiteral(R"({
  "format": "mantissa-project", "version": 1, "name": "tiny-spirals",
  "dataset": %1,
  "model": {"nodes": [
    {"id": "input", "type": "Input", "params": {"shape": [2]}},
    {"id": "fc1", "type": "Linear", "inputs": ["input"], "params": {"out_features": 16}},
    {"id": "act1", "type": "Tanh", "inputs": ["fc1"]},
    {"id": "fc2", "type": "Linear", "inputs": ["act1"], "params": {"out_features": 2}},
    {"id": "loss", "type": "SoftmaxCrossEntropy", "inputs": ["fc2"]}]},
  "training": {%2"policy": "%3", "batch_size": 32, "epochs": 1, "steps": %4, "seed": 5,
               "optimizer": {"type": "sgd", "lr": 0.1, "momentum": 0.9}}
})")
      .arg(data, extraTraining, policy)
      .arg(steps);
}

inline QString missingCsvDataset() {
  return QStringLiteral(R"({"kind": "csv", "path": "missing-data.csv"})");
}

// fp16 with a loss scale far above what fp16 gradients can hold: the first
// steps overflow and are skipped.
inline QString overflowingScale() {
  return QStringLiteral(R"("loss_scale": {"mode": "dynamic", "init_scale": 16777216}, )");
}

inline QString writeFile(const QTemporaryDir& dir, const QString& name, const QString& text) {
  const QString path = dir.filePath(name);
  QFile f(path);
  if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate)) return {};
  f.write(text.toUtf8());
  return path;
}

inline mantissa::Project parseProject(const QString& json, const QString& fileForMessages) {
  return mantissa::parse_project(json.toStdString(), fileForMessages.toStdString());
}

// Generous: the build machine is shared, and a timeout only bounds a hang.
constexpr int kRunTimeoutMs = 120000;

}  // namespace mantissa::ui::testing
