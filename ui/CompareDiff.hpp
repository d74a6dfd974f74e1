#pragma once
// Field-by-field comparison of project snapshots: the JSON flattened to
// dotted paths ("training.optimizer.lr", "model.nodes[1].params.out_features")
// and the paths whose values are not all equal.
#include <QByteArray>
#include <QMap>
#include <QString>
#include <QStringList>
#include <QVector>

namespace mantissa::ui {

// Leaves of the JSON document as path → compact text. Invalid JSON gives nothing.
QMap<QString, QString> flattenJson(const QByteArray& json);

struct SettingsDifference {
  QString field;
  QStringList values;  // one per snapshot, in order; empty where the field is absent
};

// The fields whose values differ between the snapshots, sorted by path; node
// positions (canvas layout) are left out.
QVector<SettingsDifference> settingsDiff(const QVector<QMap<QString, QString>>& snapshots);

// The numerically relevant differences between runs' numerics manifests
// (flattened like the snapshots), each with what it does to the numbers:
// differing data, seeds, precision, BatchNorm across ranks, kernels, ranks,
// ISA, flush-to-zero, threads, library versions. Fields every run has the same are left out; so is the
// device's description when the CPU model and features already say it.
struct NumericsDifference {
  QString field;
  QString consequence;
  QStringList values;
};
QVector<NumericsDifference> numericsDiff(const QVector<QMap<QString, QString>>& manifests);

}  // namespace mantissa::ui
