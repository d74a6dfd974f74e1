// The History page's view of one opened run: its settings, curves, model
// (as the run stored it) and the events traced to an op on the graph
// (HistoryPage.cpp has the list of runs and what can be done with them).
#include "HistoryPage.hpp"

#include <QFormLayout>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QTextDocument>
#include <algorithm>
#include <exception>
#include <set>

#include "CompareDiff.hpp"
#include "Format.hpp"
#include "LivePlots.hpp"
#include "ModelCanvas.hpp"
#include "ModelTable.hpp"
#include "PolicyColors.hpp"
#include "ProjectDocument.hpp"
#include "RunTableModel.hpp"
#include "mantissa/graph.hpp"

namespace mantissa::ui {

namespace {

QString errorText(const std::exception& e) {
  return QString::fromUtf8(e.what());
}

// "mode: dynamic, init_scale: 2¹⁶" from a flat JSON object; scales read as
// powers of two, as everywhere else.
QString describeJson(const QByteArray& json) {
  const QMap<QString, QString> flat = flattenJson(json);
  QStringList parts;
  for (auto it = flat.begin(); it != flat.end(); ++it) {
    bool number = false;
    const double v = it.value().toDouble(&number);
    const bool scale = it.key().endsWith(QLatin1String("scale"));
    parts << QStringLiteral("%1: %2").arg(it.key(), number && scale ? formatScale(v) : it.value());
  }
  return parts.isEmpty() ? QStringLiteral("—") : parts.join(QStringLiteral(", "));
}

}  // namespace

void HistoryPage::addSetting(const QString& label, const QString& value) {
  auto* v = new QLabel(value.isEmpty() ? QStringLiteral("—") : value);
  v->setWordWrap(true);
  v->setTextInteractionFlags(Qt::TextSelectableByMouse);
  settingsForm_->addRow(label, v);
}

QStringList HistoryPage::openedRunSettings() const {
  QStringList lines;
  for (int i = 0; i < settingsForm_->rowCount(); ++i) {
    auto* l = settingsForm_->itemAt(i, QFormLayout::LabelRole);
    auto* f = settingsForm_->itemAt(i, QFormLayout::FieldRole);
    if (!l || !f) continue;
    auto* label = qobject_cast<QLabel*>(l->widget());
    auto* field = qobject_cast<QLabel*>(f->widget());
    if (label && field) lines << label->text() + QStringLiteral(": ") + field->text();
  }
  return lines;
}

void HistoryPage::clearRunView() {
  openedRun_ = 0;
  eventCard_->hide();
  while (settingsForm_->rowCount() > 0) settingsForm_->removeRow(0);
  runView_->hide();
}

QString HistoryPage::openedRunTitle() const {
  if (openedRun_ == 0) return {};
  QTextDocument doc;
  doc.setHtml(runTitle_->text());
  return doc.toPlainText();
}

bool HistoryPage::openRun(qint64 runId) {
  if (databasePath_.isEmpty()) return false;
  openingRun_ = runId;
  openRequest_ = library_->load(databasePath_, {runId});
  return true;
}

void HistoryPage::showRun(const StoredRun& loaded) {
  const StoredRun* run = &loaded;
  const qint64 runId = run->record.id;
  clearRunView();
  openedRun_ = runId;
  const RunRecord& r = run->record;
  const Policy policy = recordPolicy(r);
  const QString name = fromView(r.name);
  runTitle_->setText(
      tr("<b>Run %1</b> · %2 · %3").arg(r.id).arg(name.toHtmlEscaped(), policyLabel(policy)));
  plots_->beginRun(policy, tr("Run %1 · %2").arg(r.id).arg(name));
  plots_->setStoredRun(databasePath_, r.id);
  plots_->appendSteps(run->steps);
  plots_->appendEpochs(run->epochs);
  plots_->showAll();

  showRunModel(r, policy);
  showTracedEvents(run->provenance);

  const QJsonObject project =
      QJsonDocument::fromJson(QByteArray::fromStdString(r.project_json)).object();
  const QJsonObject training = project.value(QStringLiteral("training")).toObject();
  addSetting(tr("Status"), fromView(run_status_name(r.status)));
  addSetting(tr("Policy"), fromView(r.policy));
  addSetting(tr("Loss scaling"), describeJson(QByteArray::fromStdString(r.loss_scale_json)));
  addSetting(tr("Optimizer"),
             describeJson(QJsonDocument(training.value(QStringLiteral("optimizer")).toObject())
                              .toJson(QJsonDocument::Compact)));
  addSetting(tr("Batch size"), training.value(QStringLiteral("batch_size")).toVariant().toString());
  addSetting(tr("Seed"), QString::number(r.seed));
  addSetting(tr("Device"), fromView(r.device.empty() ? r.backend : r.device));
  if (run->ranks)
    addSetting(tr("Ranks"), tr("%1 (%2, %3 order): %4")
                                .arg(run->ranks->world_size)
                                .arg(fromView(run->ranks->engine), fromView(run->ranks->reduce_order))
                                .arg(QString::fromStdString([&] {
                                  std::string all;
                                  for (const std::string& d : run->ranks->devices)
                                    all += (all.empty() ? "" : "; ") + d;
                                  return all;
                                }())));
  addSetting(tr("Notes"), fromView(r.notes));
  runView_->show();
  emit runOpened(runId);
}

void HistoryPage::showRunModel(const RunRecord& r, Policy policy) {
  try {
    const Project p =
        parse_project(r.project_json, "run " + std::to_string(r.id) + " (project snapshot)");
    std::optional<ModelSummary> summary;
    QString error;
    try {
      summary = analyze_model(p.model, p.file);
    } catch (const std::exception& e) {
      error = errorText(e);
    }
    runModel_->setModel(p.model, summary, error, policy);
    runGraph_->showOverflow({}, {}, {});
    runDocument_->reset(p, {});
  } catch (const std::exception& e) {
    runModel_->setModel({}, std::nullopt, errorText(e), policy);
    runGraph_->showOverflow({}, {}, {});
    runDocument_->reset(Project{}, {});
  }
}

// Every traced event on the loss-scale plot; the first one that found its
// op on the graph and in the card, with how many more there are.
void HistoryPage::showTracedEvents(const std::vector<Provenance>& events) {
  const Provenance* first = nullptr;
  for (const Provenance& p : events) {
    plots_->markTracedEvent(p.step, QString::fromStdString(p.sentence()));
    if (!first && p.first) first = &p;
  }
  if (events.empty()) {
    eventCard_->hide();
    return;
  }
  const Provenance& shown = first ? *first : events.front();
  QString text = QString::fromStdString(shown.sentence());
  if (events.size() > 1)
    text += tr(" (%n traced event(s) in all; each is marked on the loss-scale plot.)", nullptr,
               int(events.size()));
  eventCard_->setText(text);
  eventCard_->show();
  if (!first) return;
  QStringList path;
  for (const std::string& l : first->path) path << QString::fromStdString(l);
  runGraph_->showOverflow(QString::fromStdString(first->first->layer), path,
                          tr("Step %1: overflowed first (%2), %3")
                              .arg(first->step)
                              .arg(QString::fromStdString(first->first->what))
                              .arg(QString::fromStdString(first->classification())));
}

}  // namespace mantissa::ui
