#include "CompareDiff.hpp"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QSet>

namespace mantissa::ui {

namespace {

void flatten(const QJsonValue& v, const QString& path, QMap<QString, QString>& out) {
  if (v.isObject()) {
    const QJsonObject o = v.toObject();
    if (o.isEmpty()) out.insert(path, QStringLiteral("{}"));
    for (auto it = o.begin(); it != o.end(); ++it)
      flatten(it.value(), path.isEmpty() ? it.key() : path + QLatin1Char('.') + it.key(), out);
  } else if (v.isArray()) {
    const QJsonArray a = v.toArray();
    if (a.isEmpty()) out.insert(path, QStringLiteral("[]"));
    for (qsizetype i = 0; i < a.size(); ++i)
      flatten(a.at(i), path + QStringLiteral("[%1]").arg(i), out);
  } else if (v.isString()) {
    out.insert(path, v.toString());
  } else if (v.isDouble()) {
    out.insert(path, QString::number(v.toDouble(), 'g', 12));
  } else if (v.isBool()) {
    out.insert(path, v.toBool() ? QStringLiteral("true") : QStringLiteral("false"));
  } else if (v.isNull()) {
    out.insert(path, QStringLiteral("null"));
  }
}

}  // namespace

QMap<QString, QString> flattenJson(const QByteArray& json) {
  QMap<QString, QString> out;
  QJsonParseError error{};
  const QJsonDocument doc = QJsonDocument::fromJson(json, &error);
  if (error.error != QJsonParseError::NoError) return out;
  if (doc.isObject())
    flatten(doc.object(), QString(), out);
  else if (doc.isArray())
    flatten(doc.array(), QString(), out);
  return out;
}

QVector<SettingsDifference> settingsDiff(const QVector<QMap<QString, QString>>& snapshots) {
  QSet<QString> keys;
  for (const auto& s : snapshots)
    for (auto it = s.keyBegin(); it != s.keyEnd(); ++it) keys.insert(*it);
  QStringList sorted(keys.begin(), keys.end());
  sorted.sort();
  QVector<SettingsDifference> out;
  // Where a layer is drawn on the canvas changes nothing a run computes.
  static const QRegularExpression kLayout(QStringLiteral(R"(^model\.nodes\[\d+\]\.position)"));
  for (const QString& key : sorted) {
    if (kLayout.match(key).hasMatch()) continue;
    SettingsDifference d{key, {}};
    bool differs = false;
    for (const auto& s : snapshots) {
      const auto it = s.constFind(key);
      const QString value = it == s.constEnd() ? QString() : *it;
      const bool present = it != s.constEnd();
      if (!d.values.isEmpty() &&
          (value != d.values.front() || present != snapshots.front().contains(key)))
        differs = true;
      d.values.push_back(value);
    }
    if (differs) out.push_back(std::move(d));
  }
  return out;
}

QVector<NumericsDifference> numericsDiff(const QVector<QMap<QString, QString>>& manifests) {
  // Most consequential first; a prefix matches a whole group of fields.
  struct Rule {
    const char* prefix;
    const char* consequence;
  };
  static const Rule kRules[] = {
      {"dataset_fingerprint", "trained on different data"},
      {"seeds", "different initial weights, data order or dropout draws"},
      {"policy", "a different precision policy"},
      {"tf32", "float32 matmuls with 10-bit mantissa products in one run"},
      {"data_parallel.batch_norm",
       "BatchNorm normalised each rank's rows in one run and the whole batch in the other"},
      {"backend", "a different device: different kernels and summation orders"},
      {"op_paths", "different kernels chose different algorithms: last-bit differences that grow"},
      {"data_parallel.ranks", "a different number of ranks: the gradients add in another order"},
      {"data_parallel.virtual_ranks",
       "the batch cut into shards summed in order: the gradients add in another order"},
      {"data_parallel.reduce_order", "ring or rank-ordered gradient sums: last-bit differences"},
      {"data_parallel.engine", "another collective engine: the gradients add in another order"},
      {"onednn.effective_isa", "oneDNN used different instructions: last-bit differences"},
      {"onednn.fpmath_mode", "oneDNN may compute float32 in lower precision in one run"},
      {"cpu.features", "a different instruction set (native or emulated bf16 and fp16)"},
      {"flush_to_zero", "values below 2^-126 become 0 in one run"},
      {"denormals_are_zero", "subnormal inputs read as 0 in one run"},
      {"cpu.threads", "a different thread count: reductions add in another order"},
      {"cpu.model", "a different CPU"},
      {"libraries", "different library versions: kernels may differ"},
      {"mantissa_version", "a different Mantissa build"},
  };
  const QVector<SettingsDifference> all = settingsDiff(manifests);
  QVector<NumericsDifference> out;
  for (const Rule& rule : kRules) {
    const QString prefix = QString::fromLatin1(rule.prefix);
    for (const SettingsDifference& d : all) {
      if (!d.field.startsWith(prefix)) continue;
      out.push_back({d.field, QString::fromLatin1(rule.consequence), d.values});
      // Kernel lists differ in many places at once: one row says so.
      if (prefix == QLatin1String("op_paths")) {
        out.back().field = QStringLiteral("op_paths");
        break;
      }
    }
  }
  return out;
}

}  // namespace mantissa::ui
