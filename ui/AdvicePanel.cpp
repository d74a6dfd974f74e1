#include "AdvicePanel.hpp"

#include <QFrame>
#include <QLabel>
#include <QPushButton>
#include <QScrollArea>
#include <QVBoxLayout>

#include "PolicyColors.hpp"
#include "mantissa/store.hpp"

namespace mantissa::ui {

AdvicePanel::AdvicePanel(QWidget* parent) : QWidget(parent), title_(new QLabel(this)) {
  auto* layout = new QVBoxLayout(this);
  title_->setWordWrap(true);
  layout->addWidget(title_);
  auto* scroll = new QScrollArea(this);
  scroll->setWidgetResizable(true);
  auto* body = new QWidget(scroll);
  list_ = new QVBoxLayout(body);
  list_->setAlignment(Qt::AlignTop);
  scroll->setWidget(body);
  layout->addWidget(scroll, 1);
}

bool AdvicePanel::loadRun(const std::filesystem::path& database, qint64 runId) {
  runId_ = runId;
  findings_.clear();
  buttons_.clear();
  message_.clear();
  while (QLayoutItem* item = list_->takeAt(0)) {
    delete item->widget();
    delete item;
  }
  try {
    RunStore store(database, StoreOptions::reading());
    evidence_ = read_run_evidence(store, runId);
    findings_ = advise(evidence_);
  } catch (const std::exception& e) {
    message_ = QString::fromStdString(e.what());
    title_->setText(message_);
    return false;
  }
  title_->setText(
      findings_.empty()
          ? tr("Run %1: nothing to fix that its record shows (no overflow the scale cannot help, "
               "no burst of early skips, little underflow).")
                .arg(runId)
          : tr("Run %1: %n finding(s). A fix runs as a new run linked to this one, from the same "
               "initial weights and batches; compare the two in History.",
               nullptr, int(findings_.size()))
                .arg(runId));
  for (int i = 0; i < int(findings_.size()); ++i) {
    const Finding& f = findings_[std::size_t(i)];
    auto* card = new QFrame;
    card->setFrameShape(QFrame::StyledPanel);
    card->setObjectName(QStringLiteral("finding%1").arg(i));
    auto* cardLayout = new QVBoxLayout(card);
    auto* evidence = new QLabel(QStringLiteral("<b>%1.</b> %2")
                                    .arg(i + 1)
                                    .arg(QString::fromStdString(f.evidence).toHtmlEscaped()),
                                card);
    evidence->setWordWrap(true);
    evidence->setTextInteractionFlags(Qt::TextSelectableByMouse);
    evidence->setToolTip(QString::fromStdString(f.rule));
    cardLayout->addWidget(evidence);
    std::vector<QPushButton*> row;
    for (int k = 0; k < int(f.fixes.size()); ++k) {
      const Fix& fix = f.fixes[std::size_t(k)];
      auto* button = new QPushButton(tr("Try: %1").arg(QString::fromStdString(fix.title)), card);
      button->setToolTip(QString::fromStdString(fix.why));
      auto* why = new QLabel(QString::fromStdString(fix.why), card);
      why->setWordWrap(true);
      QFont italic = why->font();
      italic.setItalic(true);
      why->setFont(italic);
      why->setIndent(12);
      connect(button, &QPushButton::clicked, this, [this, i, k] { tryFixAt(i, k); });
      cardLayout->addWidget(button, 0, Qt::AlignLeft);
      cardLayout->addWidget(why);
      row.push_back(button);
    }
    buttons_.push_back(row);
    list_->addWidget(card);
  }
  return true;
}

QPushButton* AdvicePanel::fixButton(int finding, int fix) const {
  if (finding < 0 || finding >= int(buttons_.size())) return nullptr;
  const auto& row = buttons_[std::size_t(finding)];
  return fix >= 0 && fix < int(row.size()) ? row[std::size_t(fix)] : nullptr;
}

void AdvicePanel::tryFixAt(int finding, int fix) {
  const Finding& f = findings_.at(std::size_t(finding));
  const Fix& x = f.fixes.at(std::size_t(fix));
  Project child;
  try {
    child = apply_fix(evidence_.project, x);
  } catch (const std::exception& e) {
    message_ = QString::fromStdString(e.what());
    title_->setText(message_);
    return;
  }
  // The parent's length: the two compare step for step.
  child.training.steps = std::int64_t(evidence_.steps.size());
  RunLink link;
  link.parent = runId_;
  link.name = "run " + std::to_string(runId_) + " + " + x.title;
  link.notes = "Fix tried for run " + std::to_string(runId_) + " [" + f.rule + "]: " + f.evidence +
               ". Fix: " + x.title + ".";
  emit tryFix(child, link);
}

}  // namespace mantissa::ui
