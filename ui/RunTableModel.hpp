#pragma once
// The History table's rows: one stored run each, with the figures of its
// summary parsed once. Sorting uses SortRole (numbers as numbers), filtering
// FilterRole (name, project, policy and status in one string).
#include <QAbstractTableModel>
#include <QVector>
#include <optional>
#include <vector>

#include "mantissa/precision.hpp"
#include "mantissa/store.hpp"

namespace mantissa::ui {

// The policy of a record; Float32 when the name is not known.
mantissa::Policy recordPolicy(const mantissa::RunRecord& run);

class RunTableModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum Column {
    Id,
    Name,
    Project,
    Policy,
    Status,
    Created,
    Steps,
    ValAccuracy,
    SamplesPerS,
    Skipped,
    Disk,  // checkpoints and metrics it keeps in the database
    ColumnCount
  };
  enum Role { SortRole = Qt::UserRole + 1, FilterRole, RunIdRole };

  explicit RunTableModel(QObject* parent = nullptr);

  // Whether the name column can be edited (the database can be written).
  void setEditable(bool editable) { editable_ = editable; }
  void setRuns(std::vector<mantissa::RunRecord> runs);
  const mantissa::RunRecord& run(int row) const { return rows_[std::size_t(row)].record; }
  int rowOfRun(qint64 id) const;  // -1 when not shown
  // Updates the row of `id` from the record without a reload.
  void updateRun(const mantissa::RunRecord& record);

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation o, int role = Qt::DisplayRole) const override;
  Qt::ItemFlags flags(const QModelIndex& index) const override;
  bool setData(const QModelIndex& index, const QVariant& value, int role = Qt::EditRole) override;

 signals:
  // The name was edited in the table: the row shows it at once, and the
  // owner writes it to the store (and sets the row back if that fails).
  void renameRequested(qint64 runId, const QString& name);

 private:
  struct Row {
    mantissa::RunRecord record;
    mantissa::Policy policy = mantissa::Policy::Float32;
  };
  std::vector<Row> rows_;
  bool editable_ = false;
};

}  // namespace mantissa::ui
