#include "SamplePanel.hpp"

#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPointer>
#include <QTextCursor>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

#include "mantissa/sample.hpp"
#include "mantissa/store.hpp"

namespace mantissa::ui {

SamplePanel::SamplePanel(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  auto* form = new QFormLayout;
  prompt_ = new QLineEdit(this);
  prompt_->setObjectName(QStringLiteral("samplePrompt"));
  prompt_->setPlaceholderText(tr("Text to continue (empty: start a new line)"));
  form->addRow(tr("Prompt"), prompt_);
  auto* knobs = new QHBoxLayout;
  tokens_ = new QSpinBox(this);
  tokens_->setRange(1, int(kMaxSampleTokens));
  tokens_->setValue(300);
  tokens_->setToolTip(tr("Bytes to generate"));
  temperature_ = new QDoubleSpinBox(this);
  temperature_->setRange(0.0, 5.0);
  temperature_->setSingleStep(0.1);
  temperature_->setValue(0.8);
  temperature_->setToolTip(tr("0 always takes the most likely byte; higher is more adventurous"));
  seed_ = new QSpinBox(this);
  seed_->setRange(0, 2147483647);
  seed_->setToolTip(tr("The same seed, prompt and checkpoint give the same text"));
  knobs->addWidget(new QLabel(tr("Tokens"), this));
  knobs->addWidget(tokens_);
  knobs->addWidget(new QLabel(tr("Temperature"), this));
  knobs->addWidget(temperature_);
  knobs->addWidget(new QLabel(tr("Seed"), this));
  knobs->addWidget(seed_);
  knobs->addStretch(1);
  form->addRow(QString(), knobs);
  layout->addLayout(form);

  output_ = new QPlainTextEdit(this);
  output_->setObjectName(QStringLiteral("sampleOutput"));
  output_->setReadOnly(true);
  output_->setFont(QFont(QStringLiteral("monospace")));
  output_->setPlaceholderText(tr("The continuation appears here as it is generated."));
  layout->addWidget(output_, 1);

  auto* row = new QHBoxLayout;
  status_ = new QLabel(this);
  status_->setWordWrap(true);
  status_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  generate_ = new QPushButton(tr("Generate"), this);
  generate_->setObjectName(QStringLiteral("sampleGenerate"));
  generate_->setDefault(true);
  stopButton_ = new QPushButton(tr("Stop"), this);
  stopButton_->setEnabled(false);
  row->addWidget(status_, 1);
  row->addWidget(stopButton_);
  row->addWidget(generate_);
  layout->addLayout(row);

  connect(generate_, &QPushButton::clicked, this, &SamplePanel::generate);
  connect(prompt_, &QLineEdit::returnPressed, this, &SamplePanel::generate);
  connect(stopButton_, &QPushButton::clicked, this, &SamplePanel::stop);
}

SamplePanel::~SamplePanel() {
  stop();  // the worker ends at its next byte; workers_ then joins it
}

void SamplePanel::setRun(const QString& databasePath, qint64 runId) {
  database_ = databasePath;
  runId_ = runId;
  status_->setText(tr("Run %1: its newest checkpoint").arg(runId));
}

void SamplePanel::stop() {
  if (stop_) stop_->store(true);
}

void SamplePanel::finish(const QString& status) {
  stop_.reset();
  stopButton_->setEnabled(false);
  generate_->setEnabled(true);
  status_->setText(status);
  emit finished();
}

void SamplePanel::generate() {
  if (runId_ <= 0) {
    status_->setText(tr("Select a run of a language model in History first."));
    return;
  }
  stop();  // an older generation is abandoned
  const quint64 request = ++request_;
  auto stopFlag = std::make_shared<std::atomic<bool>>(false);
  stop_ = stopFlag;
  SampleOptions options;
  options.prompt = prompt_->text().toStdString();
  options.tokens = tokens_->value();
  options.temperature = temperature_->value();
  options.seed = std::uint64_t(seed_->value());
  shownPrompt_ = prompt_->text();
  output_->setPlainText(shownPrompt_);
  generated_.clear();
  generate_->setEnabled(false);
  stopButton_->setEnabled(true);
  status_->setText(tr("Generating from run %1…").arg(runId_));
  const QString database = database_;
  const qint64 runId = runId_;
  // The worker posts to `panel`, which outlives it: the destructor stops and
  // joins it first. `self` turns to null when the panel is gone by the time a
  // posted call would run.
  SamplePanel* panel = this;
  QPointer<SamplePanel> self(this);
  workers_.start([panel, self, database, runId, request, options, stopFlag]() mutable {
    // Bytes reach the panel in small batches, as the user reads them.
    auto pending = std::make_shared<std::string>();
    const auto flush = [panel, self, request, pending] {
      if (pending->empty()) return;
      const QByteArray piece(pending->data(), qsizetype(pending->size()));
      pending->clear();
      QMetaObject::invokeMethod(
          panel,
          [self, request, piece] {
            if (!self || request != self->request_) return;
            // Decoded whole each time: a character split between pieces, or
            // bytes that are no UTF-8, read as they would in one piece.
            self->generated_ += piece;
            self->output_->setPlainText(self->shownPrompt_ + QString::fromUtf8(self->generated_));
            self->output_->moveCursor(QTextCursor::End);
          },
          Qt::QueuedConnection);
    };
    options.on_token = [stopFlag, pending, flush](char c) {
      pending->push_back(c);
      if (pending->size() >= 4) flush();
      return !stopFlag->load();
    };
    QString error;
    std::int64_t step = 0;
    try {
      RunStore store(database.toStdString(), StoreOptions::reading());
      step = sample_run(store, runId, options).step;
    } catch (const std::exception& e) {
      error = QString::fromUtf8(e.what());
    }
    flush();
    const bool stopped = stopFlag->load();
    QMetaObject::invokeMethod(
        panel,
        [self, request, error, step, stopped, runId] {
          if (!self || request != self->request_) return;
          if (!error.isEmpty())
            self->finish(error);
          else
            self->finish((stopped ? tr("Stopped; run %1 at step %2") : tr("Run %1 at step %2"))
                             .arg(runId)
                             .arg(step));
        },
        Qt::QueuedConnection);
  });
}

}  // namespace mantissa::ui
