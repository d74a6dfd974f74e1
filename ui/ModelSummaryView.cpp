#include "ModelSummaryView.hpp"

#include <QFormLayout>
#include <QGridLayout>
#include <QLabel>
#include <QVBoxLayout>

#include "Format.hpp"
#include "PolicyColors.hpp"

namespace mantissa::ui {

ModelSummaryView::ModelSummaryView(QWidget* parent)
    : QWidget(parent),
      params_(new QLabel(this)),
      flops_(new QLabel(this)),
      error_(new QLabel(this)) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  auto* form = new QFormLayout;
  form->addRow(tr("Parameters:"), params_);
  form->addRow(tr("Forward FLOPs:"), flops_);
  params_->setToolTip(tr("Trainable parameters (weights and biases)"));
  flops_->setToolTip(tr("Per sample, 2 per multiply-add of linear and convolution layers"));
  layout->addLayout(form);

  table_ = new QWidget(this);
  grid_ = new QGridLayout(table_);
  grid_->setContentsMargins(0, 4, 0, 0);
  grid_->setHorizontalSpacing(12);
  auto* head = new QLabel(tr("Activation memory"), table_);
  head->setToolTip(
      tr("Output activations of every layer, as the forward pass keeps them "
         "for backward"));
  grid_->addWidget(head, 0, 0);
  grid_->addWidget(new QLabel(tr("per sample"), table_), 0, 1, Qt::AlignRight);
  grid_->addWidget(new QLabel(tr("per batch"), table_), 0, 2, Qt::AlignRight);
  for (int i = 0; i < 3; ++i) {
    const Policy p = kSummaryPolicies[std::size_t(i)];
    auto* name = new QLabel(QStringLiteral("<span style='color:%1'>●</span> %2")
                                .arg(policyColor(p).name(), policyLabel(p)),
                            table_);
    grid_->addWidget(name, i + 1, 0);
    for (int j = 0; j < 2; ++j) {
      activation_[i][j] = new QLabel(table_);
      grid_->addWidget(activation_[i][j], i + 1, j + 1, Qt::AlignRight);
    }
  }
  layout->addWidget(table_);
  error_->setWordWrap(true);
  error_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  QPalette pal = error_->palette();
  pal.setColor(QPalette::WindowText, skippedStepColor());
  error_->setPalette(pal);
  layout->addWidget(error_);
  setSummary(std::nullopt, QString(), 0);
}

void ModelSummaryView::setSummary(const std::optional<ModelSummary>& summary, const QString& error,
                                  std::int64_t batchSize) {
  error_->setText(error);
  error_->setVisible(!error.isEmpty());
  table_->setVisible(summary.has_value());
  if (!summary) {
    params_->setText(QStringLiteral("–"));
    flops_->setText(QStringLiteral("–"));
    return;
  }
  params_->setText(formatCount(summary->total_params));
  flops_->setText(tr("%1 / sample").arg(formatFlops(double(summary->total_forward_flops))));
  for (int i = 0; i < 3; ++i) {
    const double perSample = double(summary->total_activation_bytes[std::size_t(i)]);
    activation_[i][0]->setText(formatBytes(perSample));
    activation_[i][1]->setText(
        formatBytes(perSample * double(std::max<std::int64_t>(batchSize, 1))));
  }
}

QString ModelSummaryView::paramsText() const {
  return params_->text();
}

}  // namespace mantissa::ui
