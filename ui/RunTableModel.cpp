#include "RunTableModel.hpp"

#include <QColor>
#include <exception>

#include "Format.hpp"
#include "PolicyColors.hpp"

namespace mantissa::ui {

namespace {

QString statusLabel(RunStatus s) {
  const QString name = fromView(run_status_name(s));
  return name.isEmpty() ? name : name.left(1).toUpper() + name.mid(1);
}

}  // namespace

mantissa::Policy recordPolicy(const RunRecord& run) {
  try {
    return parse_policy(run.policy);
  } catch (const std::exception&) {
    return mantissa::Policy::Float32;
  }
}

RunTableModel::RunTableModel(QObject* parent) : QAbstractTableModel(parent) {}

void RunTableModel::setRuns(std::vector<RunRecord> runs) {
  beginResetModel();
  rows_.clear();
  rows_.reserve(runs.size());
  for (RunRecord& r : runs) {
    Row row;
    row.policy = recordPolicy(r);
    row.record = std::move(r);
    rows_.push_back(std::move(row));
  }
  endResetModel();
}

int RunTableModel::rowOfRun(qint64 id) const {
  for (std::size_t i = 0; i < rows_.size(); ++i)
    if (rows_[i].record.id == id) return int(i);
  return -1;
}

void RunTableModel::updateRun(const RunRecord& record) {
  const int row = rowOfRun(record.id);
  if (row < 0) return;
  Row& r = rows_[std::size_t(row)];
  r.record = record;
  r.policy = recordPolicy(record);
  emit dataChanged(index(row, 0), index(row, ColumnCount - 1));
}

int RunTableModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : int(rows_.size());
}

int RunTableModel::columnCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : ColumnCount;
}

QVariant RunTableModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= int(rows_.size())) return {};
  const Row& row = rows_[std::size_t(index.row())];
  const RunRecord& r = row.record;
  const StoredSummary& s = r.summary;
  // Only a run that validated has an accuracy: one that failed before its
  // first validation shows none (not "0.0 %").
  const std::optional<double> accuracy = !r.best_val_accuracy   ? std::nullopt
                                         : s.final_val_accuracy ? s.final_val_accuracy
                                                                : r.best_val_accuracy;
  const qint64 skipped = s.skipped_steps.value_or(r.skipped_total);

  if (role == RunIdRole) return qint64(r.id);
  if (role == FilterRole)
    return QStringList{fromView(r.name), fromView(r.project_name), fromView(r.policy),
                       policyLabel(row.policy), fromView(run_status_name(r.status))}
        .join(QLatin1Char(' '));
  if (role == SortRole) {
    switch (index.column()) {
      case Id:
        return qint64(r.id);
      case Policy:
        return int(row.policy);
      case Status:
        return int(r.status);
      case Steps:
        return qint64(r.last_step);
      case ValAccuracy:
        return accuracy.value_or(-1.0);
      case SamplesPerS:
        return s.samples_per_s.value_or(-1.0);
      case Skipped:
        return skipped;
      case Disk:
        return qint64(r.disk_bytes());
      default:
        return data(index, Qt::DisplayRole);
    }
  }
  if (role == Qt::DecorationRole && index.column() == Policy) return policyColor(row.policy);
  if (role == Qt::ToolTipRole) {
    if (index.column() == Policy) return fromView(r.policy);
    if (index.column() == Name && !r.notes.empty()) return fromView(r.notes);
    if (index.column() == Status && !r.error.empty()) return fromView(r.error);
    if (index.column() == Disk)
      return tr("Checkpoints %1, metrics about %2")
          .arg(formatBytes(double(r.checkpoint_bytes)), formatBytes(double(r.metrics_bytes)));
    return {};
  }
  if (role == Qt::TextAlignmentRole) {
    switch (index.column()) {
      case Id:
      case Steps:
      case ValAccuracy:
      case SamplesPerS:
      case Skipped:
      case Disk:
        return int(Qt::AlignRight | Qt::AlignVCenter);
      default:
        return int(Qt::AlignLeft | Qt::AlignVCenter);
    }
  }
  if (role != Qt::DisplayRole && role != Qt::EditRole) return {};
  switch (index.column()) {
    case Id:
      return qint64(r.id);
    case Name:
      return fromView(r.name);
    case Project:
      return fromView(r.project_name);
    case Policy:
      return policyLabel(row.policy);
    case Status:
      return statusLabel(r.status);
    case Created: {
      QString t = fromView(r.created_at);
      t.replace(QLatin1Char('T'), QLatin1Char(' '));
      return t.left(19);
    }
    case Steps:
      return formatCount(r.last_step);
    case ValAccuracy:
      return accuracy ? QStringLiteral("%1 %").arg(*accuracy * 100.0, 0, 'f', 1) : QString();
    case SamplesPerS:
      return s.samples_per_s ? formatCount(std::int64_t(*s.samples_per_s + 0.5)) : QString();
    case Skipped:
      return formatCount(skipped);
    case Disk:
      return formatBytes(double(r.disk_bytes()));
    default:
      return {};
  }
}

QVariant RunTableModel::headerData(int section, Qt::Orientation o, int role) const {
  if (o != Qt::Horizontal || role != Qt::DisplayRole) return {};
  switch (section) {
    case Id:
      return tr("Id");
    case Name:
      return tr("Name");
    case Project:
      return tr("Project");
    case Policy:
      return tr("Policy");
    case Status:
      return tr("Status");
    case Created:
      return tr("Created (UTC)");
    case Steps:
      return tr("Steps");
    case ValAccuracy:
      return tr("Val accuracy");
    case SamplesPerS:
      return tr("Samples/s");
    case Skipped:
      return tr("Skipped");
    case Disk:
      return tr("Disk");
    default:
      return {};
  }
}

Qt::ItemFlags RunTableModel::flags(const QModelIndex& index) const {
  Qt::ItemFlags f = QAbstractTableModel::flags(index);
  if (index.isValid() && index.column() == Name && editable_) f |= Qt::ItemIsEditable;
  return f;
}

bool RunTableModel::setData(const QModelIndex& index, const QVariant& value, int role) {
  if (!index.isValid() || index.column() != Name || role != Qt::EditRole || !editable_)
    return false;
  const QString name = value.toString().trimmed();
  if (name.isEmpty()) return false;
  Row& row = rows_[std::size_t(index.row())];
  row.record.name = name.toStdString();
  emit dataChanged(index, index);
  emit renameRequested(row.record.id, name);
  return true;
}

}  // namespace mantissa::ui
