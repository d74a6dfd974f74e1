#include "ModelTable.hpp"

#include <QHeaderView>
#include <QLabel>
#include <QTableWidget>
#include <QVBoxLayout>

#include "Format.hpp"
#include "PolicyColors.hpp"

namespace mantissa::ui {

namespace {

enum Column { kId, kType, kInputs, kOutput, kDtype, kParams, kFlops, kKept, kColumns };

QTableWidgetItem* cell(const QString& text, bool number = false) {
  auto* item = new QTableWidgetItem(text);
  item->setFlags(Qt::ItemIsSelectable | Qt::ItemIsEnabled);
  if (number) item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
  return item;
}

}  // namespace

ModelTable::ModelTable(QWidget* parent)
    : QWidget(parent), message_(new QLabel(this)), table_(new QTableWidget(0, kColumns, this)) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  message_->setWordWrap(true);
  message_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  message_->setMargin(6);
  layout->addWidget(message_);
  table_->setHorizontalHeaderLabels({tr("Layer"), tr("Type"), tr("Inputs"), tr("Output shape"),
                                     tr("Output dtype"), tr("Parameters"), tr("FLOPs / sample"),
                                     tr("Kept for backward / sample")});
  table_->horizontalHeaderItem(kDtype)->setToolTip(tr("Under the policy chosen in the toolbar"));
  table_->horizontalHeaderItem(kKept)->setToolTip(
      tr("What the layer keeps from the forward pass for the backward pass, under the policy "
         "chosen in the toolbar; a tensor two layers keep (a Linear's output its ReLU and the "
         "next Linear read) is counted at the first, so the column adds up to the forward "
         "pass's end"));
  table_->verticalHeader()->setVisible(false);
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_->setAlternatingRowColors(true);
  table_->horizontalHeader()->setStretchLastSection(true);
  layout->addWidget(table_, 1);
}

void ModelTable::setModel(const ModelSpec& spec, const std::optional<ModelSummary>& summary,
                          const QString& error, Policy policy) {
  message_->setVisible(!error.isEmpty());
  message_->setText(error);
  table_->setRowCount(0);
  const auto slot = summary_index(policy);
  if (summary) {
    table_->setRowCount(int(summary->layers.size()));
    int row = 0;
    for (const LayerInfo& l : summary->layers) {
      const LayerSpec* ls = nullptr;
      for (const LayerSpec& s : spec.layers)
        if (s.id == l.id) ls = &s;
      QStringList inputs;
      if (ls)
        for (const std::string& in : ls->inputs) inputs << QString::fromStdString(in);
      const bool pinned = ls && ls->pin_fp32;
      QString dtype = fromView(dtype_name(l.output_dtype[slot]));
      if (pinned) dtype += tr(" (pinned fp32)");
      table_->setItem(row, kId, cell(QString::fromStdString(l.id)));
      table_->setItem(row, kType, cell(fromView(layer_kind_name(l.kind))));
      table_->setItem(row, kInputs, cell(inputs.join(QStringLiteral(", "))));
      table_->setItem(row, kOutput, cell(QString::fromStdString(l.output_shape.str())));
      table_->setItem(row, kDtype, cell(dtype));
      table_->setItem(row, kParams, cell(formatCount(l.params), true));
      table_->setItem(row, kFlops, cell(formatFlops(double(l.forward_flops)), true));
      table_->setItem(row, kKept,
                      cell(formatBytes(double(l.kept_bytes[slot])), true));
      ++row;
    }
  } else {
    // The model does not validate: still list what the file declares.
    table_->setRowCount(int(spec.layers.size()));
    int row = 0;
    for (const LayerSpec& s : spec.layers) {
      QStringList inputs;
      for (const std::string& in : s.inputs) inputs << QString::fromStdString(in);
      table_->setItem(row, kId, cell(QString::fromStdString(s.id)));
      table_->setItem(row, kType, cell(fromView(layer_kind_name(s.kind))));
      table_->setItem(row, kInputs, cell(inputs.join(QStringLiteral(", "))));
      ++row;
    }
  }
  table_->resizeColumnsToContents();
}

}  // namespace mantissa::ui
