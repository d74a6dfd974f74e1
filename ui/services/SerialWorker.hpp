#pragma once
// One worker thread that runs jobs in the order they were posted: a store
// write and the reads after it see each other (a rename, then the run list
// read again, shows the new name). A context object living on a QThread
// receives each job as a queued call. Destruction runs the jobs already
// posted, then joins, so a write asked for just before the window closes is
// not lost.
#include <QMetaObject>
#include <QObject>
#include <QThread>
#include <functional>
#include <memory>

namespace mantissa::ui {

class SerialWorker {
 public:
  SerialWorker() : context_(std::make_unique<QObject>()) {
    context_->moveToThread(&thread_);
    thread_.start();
  }
  SerialWorker(const SerialWorker&) = delete;
  SerialWorker& operator=(const SerialWorker&) = delete;
  ~SerialWorker() {
    // Behind every job posted so far.
    QMetaObject::invokeMethod(context_.get(), [this] { thread_.quit(); }, Qt::QueuedConnection);
    thread_.wait();
    // context_ is deleted here: its thread has finished, so nothing else uses it.
  }

  void post(std::function<void()> job) {
    QMetaObject::invokeMethod(context_.get(), std::move(job), Qt::QueuedConnection);
  }

 private:
  QThread thread_;
  std::unique_ptr<QObject> context_;
};

}  // namespace mantissa::ui
