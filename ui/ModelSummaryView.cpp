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
      tr("What a training step holds at its peak besides the weights, their gradients "
         "and the optimizer state: the tensors each layer keeps from the forward pass "
         "for the backward pass, and the gradients the backward pass holds (estimated)"));
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
  // (A line of its own: "so far" after every figure widened the table past
  // a narrow inspector.)
  partialNote_ = new QLabel(tr("so far: the layers built until now"), table_);
  partialNote_->setEnabled(false);  // a quieter grey
  grid_->addWidget(partialNote_, 4, 0, 1, 3);
  layout->addWidget(table_);
  error_->setObjectName(QStringLiteral("modelProblems"));
  error_->setWordWrap(true);
  error_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  QPalette pal = error_->palette();
  pal.setColor(QPalette::WindowText, skippedStepColor());
  error_->setPalette(pal);
  layout->addWidget(error_);
  setSummary(ModelDiagnosis{}, 0, true);
}

void ModelSummaryView::setSummary(const ModelDiagnosis& diagnosis, std::int64_t batchSize,
                                  bool modelComplete) {
  // Totals over the layers whose shapes are known: the whole model once it is
  // complete, the part built so far while it is not.
  std::int64_t params = 0, flops = 0;
  std::array<std::int64_t, 3> bytes{};
  for (const LayerInfo& l : diagnosis.layers) {
    params += l.params;
    flops += l.forward_flops;
    for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] += l.kept_bytes[i];
  }
  // A step's peak once every layer is known; until then what the layers
  // built so far keep for the backward pass.
  const bool whole = diagnosis.training_activation_bytes[0] > 0;
  if (whole) bytes = diagnosis.training_activation_bytes;
  // What is wrong, in words: the model's own problems, then how many layers
  // are marked on the canvas.
  QStringList notes;
  int errors = 0, warnings = 0;
  for (const ModelProblem& p : diagnosis.problems) {
    if (p.layer_id.empty())
      notes << QString::fromStdString(p.message);
    else
      ++(p.warning ? warnings : errors);
  }
  if (errors > 0)
    notes << (errors == 1 ? tr("1 problem marked on the layers")
                          : tr("%1 problems marked on the layers").arg(errors));
  if (warnings > 0)
    notes << (warnings == 1 ? tr("1 layer not leading to the loss")
                            : tr("%1 layers not leading to the loss").arg(warnings));
  error_->setText(notes.join(QLatin1Char('\n')));
  error_->setVisible(!notes.isEmpty());

  const bool known = !diagnosis.layers.empty();
  table_->setVisible(known);
  if (!known) {
    params_->setText(QStringLiteral("–"));
    flops_->setText(QStringLiteral("–"));
    return;
  }
  const QString sofar = modelComplete ? QString() : tr(" so far");
  params_->setText(formatCount(params) + sofar);
  flops_->setText(tr("%1 / sample").arg(formatFlops(double(flops))) + sofar);
  partialNote_->setHidden(whole);
  for (int i = 0; i < 3; ++i) {
    const double perSample = double(bytes[std::size_t(i)]);
    activation_[i][0]->setText(formatBytes(perSample));
    activation_[i][1]->setText(
        formatBytes(perSample * double(std::max<std::int64_t>(batchSize, 1))));
  }
}

QString ModelSummaryView::activationText(int policy, bool perBatch) const {
  return activation_[policy][perBatch ? 1 : 0]->text();
}

bool ModelSummaryView::activationIsPartial() const {
  return !partialNote_->isHidden();
}

QString ModelSummaryView::paramsText() const {
  return params_->text();
}

}  // namespace mantissa::ui
