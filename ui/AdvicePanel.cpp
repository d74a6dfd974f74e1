#include "AdvicePanel.hpp"

#include <QFrame>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QScrollArea>
#include <QVBoxLayout>

#include "PolicyColors.hpp"
#include "mantissa/store.hpp"
#include "mantissa/train_job.hpp"

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
  database_ = database;
  findings_.clear();
  buttons_.clear();
  trials_.clear();
  decideButtons_.clear();
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
  addTrials();
  return true;
}

void AdvicePanel::addTrials() {
  std::vector<std::pair<FixTrial, QString>> shown;
  try {
    RunStore store(database_, StoreOptions::reading());
    for (const FixTrial& t : store.fix_trials(runId_)) {
      QString outcome;
      try {
        outcome = QString::fromStdString(compare_fix(store, t.run_id).sentence());
      } catch (const std::exception&) {
        outcome = tr("not trained yet");
      }
      shown.emplace_back(t, outcome);
    }
  } catch (const std::exception& e) {
    message_ = QString::fromStdString(e.what());
    return;
  }
  if (shown.empty()) return;
  auto* heading = new QLabel(tr("<b>Tried for run %1</b> (against its own record over the same "
                                "steps, the control):")
                                 .arg(runId_));
  list_->addWidget(heading);
  for (const auto& [t, outcome] : shown) {
    trials_.push_back(t);
    auto* card = new QFrame;
    card->setFrameShape(QFrame::StyledPanel);
    auto* layout = new QVBoxLayout(card);
    auto* text = new QLabel(QStringLiteral("Run %1: %2 [%3]. %4")
                                .arg(t.run_id)
                                .arg(QString::fromStdString(t.fix).toHtmlEscaped())
                                .arg(QString::fromStdString(t.rule))
                                .arg(outcome.toHtmlEscaped()),
                            card);
    text->setWordWrap(true);
    text->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(text);
    if (!t.decision.empty()) {
      layout->addWidget(new QLabel(tr("%1 %2").arg(QString::fromStdString(t.decision))
                                       .arg(QString::fromStdString(t.decided_at)),
                                   card));
      decideButtons_.push_back({t.run_id, {nullptr, nullptr}});
    } else {
      auto* row = new QHBoxLayout;
      auto* accept = new QPushButton(tr("Accept"), card);
      auto* reject = new QPushButton(tr("Reject"), card);
      accept->setToolTip(tr("Keep this fix: stored with its outcome, and cited by later advice"));
      reject->setToolTip(tr("Drop this fix: stored with its outcome, and cited by later advice"));
      const qint64 id = t.run_id;
      connect(accept, &QPushButton::clicked, this, [this, id] { decide(id, true); });
      connect(reject, &QPushButton::clicked, this, [this, id] { decide(id, false); });
      row->addWidget(accept);
      row->addWidget(reject);
      row->addStretch(1);
      layout->addLayout(row);
      decideButtons_.push_back({t.run_id, {accept, reject}});
    }
    list_->addWidget(card);
  }
}

QPushButton* AdvicePanel::decideButton(qint64 trialRun, bool accept) const {
  for (const auto& [id, buttons] : decideButtons_)
    if (id == trialRun) return accept ? buttons.first : buttons.second;
  return nullptr;
}

bool AdvicePanel::decide(qint64 trialRun, bool accept) {
  try {
    RunStore store(database_);
    const FixComparison c = compare_fix(store, trialRun);
    store.decide_fix(trialRun, accept ? "accepted" : "rejected", c.sentence());
  } catch (const std::exception& e) {
    message_ = QString::fromStdString(e.what());
    title_->setText(message_);
    return false;
  }
  return loadRun(database_, runId_);
}

QPushButton* AdvicePanel::fixButton(int finding, int fix) const {
  if (finding < 0 || finding >= int(buttons_.size())) return nullptr;
  const auto& row = buttons_[std::size_t(finding)];
  return fix >= 0 && fix < int(row.size()) ? row[std::size_t(fix)] : nullptr;
}

void AdvicePanel::tryFixAt(int finding, int fix) {
  const Finding& f = findings_.at(std::size_t(finding));
  const Fix& x = f.fixes.at(std::size_t(fix));
  BranchPlan plan;
  try {
    RunStore store(database_, StoreOptions::reading());
    plan = fix_request(store, runId_, f, x);  // the parent's length: they compare step for step
  } catch (const std::exception& e) {
    message_ = QString::fromStdString(e.what());
    title_->setText(message_);
    return;
  }
  RunLink link;
  link.parent = runId_;
  link.name = plan.request.new_run.name;
  link.notes = plan.request.new_run.notes;
  link.fix_rule = f.rule;
  link.fix_title = x.title;
  link.resume_from = std::move(plan.request.options.resume_from);
  link.scaler_state = plan.request.options.scaler_state;
  emit tryFix(plan.request.project, link);
}

}  // namespace mantissa::ui
