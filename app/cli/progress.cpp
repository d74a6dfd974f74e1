// The training commands' shared machinery: text formatting, tables, the
// progress feed and display, and run_job() (worker thread + Ctrl-C).
#include "cli/progress.hpp"

#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <exception>
#include <iostream>
#include <memory>
#include <thread>

#include "mantissa/backend.hpp"
#include "mantissa/error.hpp"
#include "mantissa/recorder.hpp"

namespace mantissa::cli {

// ---- text -------------------------------------------------------------------

std::string with_thousands(std::int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string fixed(double v, int decimals) {
  if (!std::isfinite(v)) return std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf");
  std::array<char, 64> buf{};
  std::snprintf(buf.data(), buf.size(), "%.*f", decimals, v);
  return buf.data();
}

std::string val_loss_text(double loss, double accuracy) {
  return std::isnan(loss) && std::isnan(accuracy) ? "-" : fixed(loss, 4);
}

std::string duration_text(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "-";
  if (seconds < 60) return fixed(seconds, seconds < 10 ? 2 : 1) + " s";
  const auto total = std::int64_t(std::llround(seconds));
  std::array<char, 32> buf{};
  if (total < 3600)
    std::snprintf(buf.data(), buf.size(), "%d:%02d", int(total / 60), int(total % 60));
  else
    std::snprintf(buf.data(), buf.size(), "%lld:%02d:%02d", static_cast<long long>(total / 3600),
                  int(total / 60 % 60), int(total % 60));
  return buf.data();
}

std::string percent_text(double fraction, int decimals) {
  if (!std::isfinite(fraction)) return "-";
  return fixed(100.0 * fraction, decimals) + "%";
}

std::string scale_text(double scale) {
  std::array<char, 32> buf{};
  std::snprintf(buf.data(), buf.size(), "%g", scale);
  return buf.data();
}

Policy parse_policy_flag(const std::string& flag, const std::string& text) {
  try {
    return parse_policy(text);
  } catch (const InputError& e) {
    throw InputError(flag + ": " + e.what());
  }
}

std::vector<Policy> parse_policy_list(const std::string& flag, const std::string& text) {
  std::vector<Policy> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, comma - start);
    if (!item.empty()) {
      const Policy p = parse_policy_flag(flag, item);
      if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
    }
    start = comma + 1;
  }
  if (out.empty())
    throw InputError(flag + ": name at least one policy, e.g. float32,mixed_bfloat16");
  return out;
}

namespace {

// '×' and '→' are one column wide but several bytes long.
std::size_t display_width(const std::string& s) {
  std::size_t w = 0;
  for (unsigned char c : s) w += (c & 0xC0) != 0x80;
  return w;
}

}  // namespace

Table::Table(std::vector<std::string> header, std::vector<bool> right_aligned)
    : right_(std::move(right_aligned)) {
  rows_.push_back(std::move(header));
}

void Table::add(std::vector<std::string> row) {
  rows_.push_back(std::move(row));
}

void Table::rule() {
  rows_.emplace_back();
}

void Table::print(std::ostream& out) const {
  std::vector<std::size_t> width(rows_.front().size(), 0);
  for (const auto& row : rows_)
    for (std::size_t c = 0; c < row.size() && c < width.size(); ++c)
      width[c] = std::max(width[c], display_width(row[c]));
  for (const auto& row : rows_) {
    std::string line;
    for (std::size_t c = 0; c < width.size(); ++c) {
      const std::string cell = row.empty()      ? std::string(width[c], '-')
                               : c < row.size() ? row[c]
                                                : "";
      const std::string pad(width[c] - display_width(cell), ' ');
      line += c ? "  " : "";
      line += right_[c] ? pad + cell : cell + pad;
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << "\n";
  }
}

// ---- ProgressFeed -----------------------------------------------------------

void ProgressFeed::run_started(const RunStart& s) {
  std::lock_guard lock(mutex_);
  pending_.start = s;
  session_step0_ = -1;
  cv_.notify_one();
}

void ProgressFeed::step_recorded(const StepMetrics& m) {
  const double samples = m.samples_per_s * m.step_time_s;
  std::lock_guard lock(mutex_);
  if (session_step0_ < 0) {  // the session's clock starts where its first step began
    session_step0_ = m.step - 1;
    session_wall0_ = m.wall_time_s - m.step_time_s;
  }
  const double elapsed = m.wall_time_s - session_wall0_;
  pending_.steps_per_s = elapsed > 0 ? double(m.step - session_step0_) / elapsed : 0;
  pending_.last = m;
  pending_.recent_samples += samples;
  pending_.recent_step_time += m.step_time_s;
  epoch_samples_ += samples;
  epoch_step_time_ += m.step_time_s;
}

void ProgressFeed::epoch_recorded(const EpochMetrics& m) {
  std::lock_guard lock(mutex_);
  pending_.epochs.emplace_back(m, epoch_step_time_ > 0 ? epoch_samples_ / epoch_step_time_ : 0.0);
  epoch_samples_ = epoch_step_time_ = 0;
  cv_.notify_one();
}

void ProgressFeed::event_recorded(const RunEvent& e) {
  std::lock_guard lock(mutex_);
  pending_.events.push_back(e);
  cv_.notify_one();
}

void ProgressFeed::mark_done() {
  std::lock_guard lock(mutex_);
  pending_.done = true;
  cv_.notify_one();
}

void ProgressFeed::wait(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  cv_.wait_for(lock, timeout, [&] {
    return pending_.done || !pending_.epochs.empty() || !pending_.events.empty();
  });
}

ProgressFeed::Snapshot ProgressFeed::take() {
  std::lock_guard lock(mutex_);
  Snapshot out = pending_;
  pending_.epochs.clear();
  pending_.events.clear();
  pending_.recent_samples = pending_.recent_step_time = 0;
  return out;
}

// ---- ProgressDisplay --------------------------------------------------------

namespace {

constexpr auto kRedrawInterval = std::chrono::milliseconds(100);
constexpr int kOverflowLinesShown = 20;

std::size_t terminal_columns() {
  winsize ws{};
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 100;
}

std::int64_t epochs_in(const RunStart& s) {
  return s.steps_per_epoch > 0 ? (s.total_steps + s.steps_per_epoch - 1) / s.steps_per_epoch : 0;
}

std::string rate_text(double samples_per_s) {
  return with_thousands(std::llround(samples_per_s)) + " samples/s";
}

}  // namespace

ProgressDisplay::ProgressDisplay(bool quiet)
    : quiet_(quiet), live_(!quiet && isatty(STDERR_FILENO) != 0) {}

ProgressDisplay::~ProgressDisplay() {
  clear_live();
}

void ProgressDisplay::begin_run(bool classify) {
  classify_ = classify;
  start_.reset();
  last_.reset();
  samples_per_s_ = steps_per_s_ = 0;
  overflow_lines_ = 0;
}

void ProgressDisplay::clear_live() {
  if (!line_drawn_) return;
  std::cerr << "\r\033[K" << std::flush;
  line_drawn_ = false;
}

// Appending piece by piece (rather than "literal" + string) also keeps GCC 12's
// -Wrestrict false positive away.
std::string ProgressDisplay::status_text() const {
  const StepMetrics& m = *last_;
  std::string s = "step ";
  s += with_thousands(m.step);
  if (start_) {
    s += '/';
    s += with_thousands(start_->total_steps);
    s += "  epoch ";
    s += std::to_string(m.epoch + 1);
    s += '/';
    s += std::to_string(epochs_in(*start_));
  }
  s += "  loss ";
  s += fixed(m.loss, 4);
  s += "  scale ";
  s += loss_scale_text(m.loss_scale);
  s += "  skipped ";
  s += with_thousands(m.skipped_total);
  s += "  ";
  s += rate_text(samples_per_s_);
  if (start_ && steps_per_s_ > 0) {
    s += "  ETA ";
    s += duration_text(double(start_->total_steps - m.step) / steps_per_s_);
  }
  return s;
}

void ProgressDisplay::print_epoch(const EpochMetrics& m, double samples_per_s) {
  std::string s = "epoch ";
  s += std::to_string(m.epoch + 1);
  if (start_) {
    s += '/';
    s += std::to_string(epochs_in(*start_));
  }
  s += "  step ";
  s += with_thousands(m.step);
  if (start_) {
    s += '/';
    s += with_thousands(start_->total_steps);
  }
  s += "  train loss ";
  s += fixed(m.train_loss, 4);
  s += "  val loss ";
  s += val_loss_text(m.val_loss, m.val_accuracy);
  if (classify_) {
    s += "  val acc ";
    s += percent_text(m.val_accuracy);
  }
  if (last_) {
    s += "  scale ";
    s += loss_scale_text(last_->loss_scale);
    s += "  skipped ";
    s += with_thousands(last_->skipped_total);
  }
  s += "  ";
  s += rate_text(samples_per_s);
  s += "  ";
  s += duration_text(m.wall_time_s);
  note(s);
}

void ProgressDisplay::print_event(const RunEvent& e) {
  switch (e.kind) {
    case EventKind::Overflow:
      ++overflow_lines_;
      if (overflow_lines_ <= kOverflowLinesShown) note("  " + e.message);
      if (overflow_lines_ == kOverflowLinesShown)
        note("  (further skipped steps are counted, not listed; `mantissa runs show` lists them)");
      break;
    case EventKind::Warning:
      note("warning: " + e.message);
      break;
    case EventKind::Error:
      note("error: " + e.message);
      break;
    case EventKind::Info:
      note(e.message);
      break;
  }
}

void ProgressDisplay::note(const std::string& line) {
  if (quiet_) return;
  clear_live();
  std::cerr << line << "\n" << std::flush;
}

void ProgressDisplay::show(ProgressFeed::Snapshot snap) {
  if (quiet_) return;
  if (snap.start) start_ = snap.start;
  if (snap.recent_step_time > 0) {
    const double now = snap.recent_samples / snap.recent_step_time;
    samples_per_s_ = samples_per_s_ > 0 ? 0.7 * samples_per_s_ + 0.3 * now : now;
  }
  steps_per_s_ = snap.steps_per_s;
  // Events first: a skip of the epoch's last step belongs above the epoch line.
  for (const RunEvent& e : snap.events) print_event(e);
  if (snap.last) last_ = snap.last;
  for (const auto& [m, rate] : snap.epochs) print_epoch(m, rate);
  if (!live_ || !last_ || snap.done) return;
  const auto now = std::chrono::steady_clock::now();
  if (line_drawn_ && now - last_draw_ < kRedrawInterval) return;
  std::string text = status_text();
  const std::size_t columns = terminal_columns();
  if (text.size() >= columns) text.resize(columns - 1);  // a wrapped line cannot be redrawn
  std::cerr << "\r\033[K" << text << std::flush;
  line_drawn_ = true;
  last_draw_ = now;
}

void ProgressDisplay::finish() {
  clear_live();
}

// ---- run_job ----------------------------------------------------------------

namespace {

std::atomic<bool> g_interrupt{false};
static_assert(std::atomic<bool>::is_always_lock_free, "set from a signal handler");
bool g_last_interrupted = false;

extern "C" void on_interrupt(int) {
  g_interrupt.store(true);
}

// Routes SIGINT to a flag for the lifetime of a job.
class InterruptGuard {
 public:
  InterruptGuard() {
    g_interrupt.store(false);
    struct sigaction sa {};
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &previous_);
  }
  ~InterruptGuard() { sigaction(SIGINT, &previous_, nullptr); }
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

  bool pressed() const { return g_interrupt.load(); }
  // The next Ctrl-C ends the process the usual way.
  void release() {
    struct sigaction sa {};
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
  }

 private:
  struct sigaction previous_ {};
};

bool is_classification(const Project& p) {
  return std::any_of(p.model.layers.begin(), p.model.layers.end(),
                     [](const LayerSpec& l) { return l.kind == LayerKind::SoftmaxCrossEntropy; });
}

std::string header_text(const TrainJob& job, std::int64_t run_id, const RunStart& s) {
  std::string h = run_id ? "run " + std::to_string(run_id) : std::string("run (not stored)");
  h += ": " + job.project.name + ", " + std::string(policy_name(job.project.training.policy)) +
       ", " + s.backend + " (" + s.device + "), ";
  if (s.first_step > 1)
    h +=
        "resuming at step " + with_thousands(s.first_step) + " of " + with_thousands(s.total_steps);
  else
    h += with_thousands(s.total_steps) + " steps";
  return h + ", " + with_thousands(s.steps_per_epoch) + " per epoch";
}

}  // namespace

bool interrupted() {
  return g_last_interrupted;
}

JobResult run_job(const TrainJob& job, ProgressDisplay& display) {
  // On this thread, so that a device that cannot be used fails before a run exists.
  std::unique_ptr<Backend> backend =
      create_backend(job.backend, {.allow_tf32 = job.project.training.allow_tf32});
  JobResult result;
  result.device = backend->description();
  display.begin_run(is_classification(job.project));

  ProgressFeed feed;
  TrainControl control;
  std::atomic<std::int64_t> run_id{0};
  std::exception_ptr error;
  InterruptGuard interrupt;
  std::thread worker([&] {
    try {
      result.summary = run_training(job, *backend, feed, control,
                                    [&](std::int64_t id) { run_id = id; });
    } catch (...) {
      error = std::current_exception();
    }
    feed.mark_done();
  });

  bool header_shown = false, stopping = false;
  for (;;) {
    feed.wait(kRedrawInterval);
    if (!stopping && interrupt.pressed()) {
      stopping = true;
      control.request_stop();
      interrupt.release();
      display.note("stopping after the current step (Ctrl-C again to quit at once)");
    }
    ProgressFeed::Snapshot snap = feed.take();
    if (!header_shown && snap.start) {
      display.note(header_text(job, run_id.load(), *snap.start));
      result.total_steps = snap.start->total_steps;
      header_shown = true;
    }
    const bool done = snap.done;
    display.show(std::move(snap));
    if (done) break;
  }
  worker.join();
  display.finish();
  g_last_interrupted = stopping;
  if (error) std::rethrow_exception(error);
  result.run_id = run_id.load();
  return result;
}

}  // namespace mantissa::cli
