// The training loop around TrainingStep (train_step.cpp: upload, cast
// weights, forward, loss × S, backward, unscale + finite check, gradient norm,
// optimizer skipped on device when a gradient was non-finite, scaler update).
// The step's scalars come back with one asynchronous read that is collected
// after the next step has been enqueued, so a GPU never waits for the host;
// steps that end an epoch, take a checkpoint or end the run, and the last one
// before a pause or stop, are collected at once, because what follows them
// needs the state they leave.
#include "mantissa/trainer.hpp"

#include <thread>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>

#include "core/rng.hpp"
#include "mantissa/backend.hpp"
#include "mantissa/data.hpp"
#include "mantissa/error.hpp"
#include "mantissa/graph.hpp"
#include "mantissa/manifest.hpp"
#include "mantissa/optim.hpp"
#include "mantissa/train_step.hpp"
#include "mantissa/units.hpp"
#include "mantissa/weights_io.hpp"
#include "train/checkpoint.hpp"
#include "train/fault.hpp"
#include "train/validation.hpp"
#include "train/memory_fit.hpp"
#include "train/numerics_record.hpp"
#include "train/rank_agreement.hpp"
#include "train/step_events.hpp"

namespace mantissa {

namespace {
using Clock = std::chrono::steady_clock;

// A checkpoint's name for an optimizer state slot: "moment1/fc1.weight"
// (SGD's momentum buffer, Adam's first moment), "moment2/...".
std::string slot_entry(int slot, const std::string& param) {
  return "moment" + std::to_string(slot + 1) + "/" + param;
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

struct Trainer::Impl {
  Project project;
  Backend& backend;
  TrainOptions options;
  DatasetSplit data;
  std::unique_ptr<Graph> graph;
  std::unique_ptr<TrainingStep> stepper;
  std::unique_ptr<DataLoader> loader;
  std::int64_t steps_per_epoch = 0;
  std::int64_t total_steps = 0;
  std::int64_t step = 0;  // steps completed
  double epoch_loss_sum = 0;
  std::int64_t epoch_loss_count = 0;
  double elapsed_before = 0;  // wall time of earlier sessions of a resumed run
  Clock::time_point session_start = Clock::now();
  StepEvents events;  // and whether its once-per-run warnings were given
  RankLayout ranks;  // data parallel: filled by join_ranks()
  std::uint64_t data_fingerprint = 0;  // of the training split, kept in checkpoints
  std::unique_ptr<NumericsRecord> numerics;  // what is kept of per-tensor numerics

  Impl(const Project& p, Backend& b, TrainOptions o)
      : project(p), backend(b), options(std::move(o)) {}

  void build() {
    const TrainingSpec& t = project.training;
    try {
      data = load_dataset(project.dataset, project.dataset_dir());
    } catch (const std::bad_alloc&) {
      throw OutOfMemoryError("dataset '" + project.dataset.kind +
                             "' does not fit in memory (" +
                             bytes_text(double(available_memory(backend))) + " available)");
    }
    if (data.train.size() == 0)
      throw InputError("dataset '" + data.train.name + "' has no training samples");
    data_fingerprint = dataset_fingerprint(data.train);
    check_model_fits(analyze_model(project.model, project.file), t,
                     std::min<std::int64_t>(t.batch_size, std::int64_t(data.train.size())),
                     backend);
    graph = std::make_unique<Graph>(project.model, backend, t.policy, t.seed, project.file);
    if (options.init_weights) load_weights(*graph, *options.init_weights);  // --init-weights
    if (options.noise_twin) {
      if (t.policy != Policy::Float32)
        throw InputError("a noise twin is a float32 run (this one is " +
                         std::string(policy_name(t.policy)) + ")");
      for (Param* p : graph->params()) {
        std::vector<float> w = p->master.to_host();
        for (float& v : w) v = std::nextafter(v, std::numeric_limits<float>::infinity());
        p->master.copy_from_host(w.data());
      }
    }
    check_input_shape(data.train, graph->input_shape().dims(), graph->summary().layers[0].id);
    check_dataset_fits(data, project.model);
    check_token_ids(data.train, project.model);
    check_token_ids(data.validation, project.model);

    LoaderOptions lo;
    lo.batch_size = t.batch_size;
    lo.seed = t.seed;
    if (augments(project.dataset)) {
      // An empty batch checks that the samples are images before the first
      // step, rather than from the loader's first batch.
      Batch none;
      augment_batch(none, data.train.sample_shape, project.dataset, t.seed);
      lo.transform = [shape = data.train.sample_shape, spec = project.dataset,
                      seed = t.seed](Batch& b) { augment_batch(b, shape, spec, seed); };
    }
    loader = std::make_unique<DataLoader>(data.train, lo);
    steps_per_epoch = loader->batches_per_epoch();
    total_steps = t.steps ? *t.steps : std::int64_t(t.epochs) * steps_per_epoch;
    stepper = std::make_unique<TrainingStep>(*graph, backend, t, total_steps,
                                             StepOptions{.capture = t.capture_graphs,
                                                         .numerics = t.numerics.enabled,
                                                         .collective = options.collective,
                                                         .reduce_order = options.reduce_order,
                                                         .bucket_bytes = options.bucket_bytes});
    numerics = std::make_unique<NumericsRecord>(*stepper, *graph, t.numerics, lead(),
                                                dropout_seed());

    if (options.resume_from) restore(*options.resume_from);
    if (options.collective != nullptr && options.collective->world() > 1) join_ranks();
    if (options.resume_from && options.scaler_state) {
      StepState s = stepper->read_state();
      s.scale = float(options.scaler_state->scale);
      s.growth_tracker = options.scaler_state->growth_tracker;
      s.consecutive_skips = options.scaler_state->consecutive_skips;
      stepper->write_state(s);
    }
  }

  // Data parallel: what this rank asks of the others in a step's agreement
  // (the largest word wins; a rank's stop ends its own pause).
  static constexpr float kStopWord = 1, kPauseWord = 2;
  static float control_word(const TrainControl& control) {
    if (control.stop_requested()) return kStopWord;
    return control.paused() ? kPauseWord : 0.0f;
  }

  // Every rank holds at the same step boundary while any rank is paused: a
  // one-float MAX every 50 ms (well inside the collective timeout) until no
  // rank says pause. Returns whether a rank asked to stop meanwhile.
  bool pause_together(TrainControl& control) {
    for (;;) {
      std::vector<float> word{control_word(control)};
      options.collective->max(word);
      if (word[0] < kPauseWord) return word[0] >= kStopWord;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  bool lead() const { return options.collective == nullptr || options.collective->rank() == 0; }

  // Every rank's settings against rank 0's (PRECISION.md: the run refuses to
  // start and names the field and the ranks), then rank 0's weights, moments,
  // buffers and step state to every rank, as a checkpoint.
  void join_ranks() {
    Collective& c = *options.collective;
    check_ranks_agree(c, project, backend, graph->params(), total_steps, options.reduce_order,
                      data_fingerprint);
    ranks.world_size = c.world();
    ranks.engine = stepper->join_device_sum();
    ranks.reduce_order = reduce_order_name(options.reduce_order);
    ranks.devices = c.all_gather(backend.name() + " " + backend.description());
    std::vector<std::uint8_t> state;
    if (c.rank() == 0) state = checkpoint();
    c.broadcast(state, 0);
    if (c.rank() != 0) restore(state, /*check_data=*/false);  // agreed above
  }

  // The run's; the backend mixes in the step counter (StepState::steps_taken).
  std::uint64_t dropout_seed() const { return seed_for(project.training.seed, "dropout"); }

  // A step whose scalars are still on their way back.
  struct InFlight {
    std::uint64_t ticket = 0;
    std::int64_t step = 0;  // 1-based: the count of steps once it is done
    std::int64_t epoch = 0;
    std::int64_t batch = 0;
    Clock::time_point begun;                   // before its batch was fetched
    std::optional<Clock::time_point> done_at;  // when known to have run
    bool checkpoint_due = false;               // safety checkpoint by wall time
    // Its batch (with numerics on), to run the step again if it skips: the
    // loader's own while the step is read at once, else a copy (`kept`),
    // since the loader has moved on by the time a late read arrives.
    std::span<const float> x, y;
    std::vector<float> x_kept, y_kept;
    StepBatch inputs() const { return {step, batch, x, y}; }
  };

  // The step's events, its first non-finite value named by the numerics when
  // they are on (the first tensor in execution order, which may be an
  // activation), else the first gradient in the table; a re-run names casts
  // between layers too, and says whether the overflow needs the loss scale.
  void emit_step_events(const StepState& s, std::int64_t at_step, MetricsSink& sink, double wall,
                        const std::optional<Provenance>& prov) {
    if (s.found_inf <= 0) return;
    const std::vector<Param*>& params = stepper->params();
    const std::size_t idx = std::size_t(s.found_inf) - 1;
    std::string tensor = numerics->first_nonfinite_tensor();
    if (tensor.empty()) tensor = idx < params.size() ? params[idx]->name : "?";
    std::string cause;
    if (prov && prov->first) {
      tensor = prov->first->label() + " (" + std::string(role_name(prov->first->role)) + ")";
      cause = ", " + prov->classification();
    }
    for (const RunEvent& e : events.raise(s, at_step, wall, tensor, cause, stepper->scaler().mode))
      sink.event_recorded(e);
  }

  // Validation loss and accuracy over the whole validation split (the
  // evaluate job runs the same pass, train/validation.hpp).
  std::pair<double, double> evaluate() {
    const Dataset& v = data.validation;
    if (v.size() == 0) return {NAN, NAN};  // no validation split: nothing to report, not 0
    const ValidationResult r = validate(*graph, backend, v, project.training.batch_size);
    const bool classify = graph->loss_kind() == LayerKind::SoftmaxCrossEntropy;
    return {r.loss, classify ? double(r.correct) / double(v.size() * graph->positions()) : 0.0};
  }

  std::vector<std::uint8_t> checkpoint() const {
    CheckpointWriter w;
    const std::vector<Param*>& params = stepper->params();
    const std::vector<Tensor>& slots = stepper->slots();
    for (std::size_t i = 0; i < params.size(); ++i) {
      w.add_tensor("param/" + params[i]->name, params[i]->master);
      for (int k = 0; k < stepper->slots_per_param(); ++k)
        w.add_tensor(slot_entry(k, params[i]->name), slots[std::size_t(k) * params.size() + i]);
    }
    for (Buffer* b : graph->buffers()) w.add_tensor("buffer/" + b->name, b->value);
    w.add_step_state(stepper->read_state());
    w.add_int("step", step);
    w.add_int("steps_per_epoch", steps_per_epoch);
    w.add_double("epoch_loss_sum", epoch_loss_sum);
    w.add_int("epoch_loss_count", epoch_loss_count);
    w.add_int("warned_small_scale", events.warned_small_scale);
    w.add_int("warned_consecutive", events.warned_consecutive);
    w.add_double("wall_time_s", elapsed_before + seconds_since(session_start));
    w.add_int("data_fingerprint", std::bit_cast<std::int64_t>(data_fingerprint));
    return w.finish();
  }

  // `check_data`: refuse a checkpoint of other training data (a resume);
  // ranks joining a run compared their data in check_ranks_agree instead.
  void restore(const std::vector<std::uint8_t>& blob, bool check_data = true) {
    CheckpointReader r(blob);
    const std::vector<Param*>& params = stepper->params();
    std::vector<Tensor>& slots = stepper->slots();
    for (std::size_t i = 0; i < params.size(); ++i) {
      r.read_tensor("param/" + params[i]->name, params[i]->master);
      for (int k = 0; k < stepper->slots_per_param(); ++k)
        r.read_tensor(slot_entry(k, params[i]->name), slots[std::size_t(k) * params.size() + i]);
    }
    for (Buffer* b : graph->buffers()) r.read_tensor("buffer/" + b->name, b->value);
    stepper->write_state(r.read_step_state());
    // A run continues on the data it started with (checkpoints from before
    // the fingerprint was kept are taken as they are).
    if (check_data && r.has("data_fingerprint") &&
        std::bit_cast<std::uint64_t>(r.read_int("data_fingerprint")) != data_fingerprint)
      throw InputError("dataset '" + data.train.name +
                       "' is not the data this run was trained on (its values changed since the "
                       "checkpoint): resume continues a run on its own data; to train these "
                       "weights on other data, export them and start a run with --init-weights");
    step = r.read_int("step");
    if (r.read_int("steps_per_epoch") != steps_per_epoch)
      throw InputError(
          "checkpoint was taken with " + std::to_string(r.read_int("steps_per_epoch")) +
          " steps per epoch, the project now gives " + std::to_string(steps_per_epoch));
    epoch_loss_sum = r.read_double("epoch_loss_sum");
    epoch_loss_count = r.read_int("epoch_loss_count");
    events.warned_small_scale = r.read_int("warned_small_scale") != 0;
    events.warned_consecutive = r.read_int("warned_consecutive") != 0;
    elapsed_before = r.read_double("wall_time_s");
    loader->seek(step / steps_per_epoch, step % steps_per_epoch);
  }

  // An epoch-end safety checkpoint keeps the time spent writing them under
  // TrainOptions::safety_checkpoint_share of the run.
  bool epoch_checkpoint_affordable(Clock::time_point last, double last_cost) const {
    const double share = options.safety_checkpoint_share;
    if (share <= 0 || share >= 1) return true;
    return seconds_since(last) * share >= last_cost;
  }

  // Whatever follows this step needs the state it leaves (evaluation, a
  // checkpoint, the run's end), so it is collected before the next is enqueued.
  bool ends_a_stretch(std::int64_t s) const {
    const std::int64_t every = project.training.checkpoint_every;
    return s % steps_per_epoch == 0 || s == total_steps || (every > 0 && s % every == 0);
  }

  RunSummary run(MetricsSink& sink, TrainControl& control) {
    RunSummary summary;
    const auto t0 = Clock::now();
    session_start = t0;
    const std::int64_t first = step + 1;
    std::int64_t timed_steps = 0;
    double timed_seconds = 0, timed_samples = 0;
    double all_seconds = 0, all_samples = 0;  // warm-up included, for a run too short to time
    RunStart start{total_steps, steps_per_epoch, first, backend.name(), backend.description(), {}};
    for (const Param* p : graph->params()) start.weights.push_back(p->name);
    start.ranks = ranks;
    sink.run_started(start);
    // PRECISION.md: the run says which BatchNorm statistics it keeps.
    if (ranks.world_size > 1) {
      std::string norms;
      for (const std::string& id : project.model.batch_norm_ids())
        norms += (norms.empty() ? "" : ", ") + id;
      if (!norms.empty())
        sink.event_recorded(
            {first, EventKind::Info,
             project.training.sync_batch_norm
                 ? "BatchNorm statistics are synchronised over the " +
                       std::to_string(ranks.world_size) +
                       " ranks (every rank's rows together, as one process with the whole "
                       "batch): " + norms
                 : "BatchNorm statistics are per rank (not synchronised), so this run is not "
                   "the same as one process with the whole batch; the running statistics kept "
                   "are rank 0's: " + norms,
             0, 0, "", 0});
    }
    if (stepper->numerics_on()) sink.numerics_layout(graph->numerics_slots());
    // What the model state holds (weights, gradients, moments, state vector);
    // the peak above it is what activations and temporaries took.
    const auto state_bytes = std::int64_t(backend.memory_stats().in_use);
    // A step's own interval runs from when it could start (its batch was
    // asked for, and the step before it had run: one stream runs them in
    // order) to when it had run. Pauses, evaluation and checkpoints fall
    // between steps, so they are in no step's time.
    Clock::time_point previous_done = t0;
    Clock::time_point last_checkpoint = t0;
    double last_checkpoint_cost = 0;  // seconds the last one took
    const double checkpoint_seconds = project.training.checkpoint_seconds;
    double checkpoint_time_since_epoch = 0;
    // The step whose enqueue recorded the step (or found it cannot be).
    std::int64_t capture_step = -1;

    const auto write_checkpoint = [&](CheckpointKind kind) {
      if (!lead()) return;  // rank 0's are the run's
      const auto c0 = Clock::now();
      sink.checkpoint_written(step, step / std::max<std::int64_t>(steps_per_epoch, 1), kind,
                              checkpoint());
      last_checkpoint = Clock::now();
      const double seconds = std::chrono::duration<double>(last_checkpoint - c0).count();
      last_checkpoint_cost = seconds;
      checkpoint_time_since_epoch += seconds;
      summary.checkpoint_time_s += seconds;
    };

    auto collect = [&](const InFlight& f) {
      const StepState s = stepper->finish_read(f.ticket);
      const auto done = f.done_at.value_or(Clock::now());
      const double dt =
          std::chrono::duration<double>(done - std::max(f.begun, previous_done)).count();
      previous_done = done;
      const double wall = elapsed_before + std::chrono::duration<double>(done - t0).count();
      const MemoryStats mem = backend.memory_stats();

      StepMetrics m;
      m.step = f.step;
      m.epoch = f.epoch;
      m.loss = s.loss;
      m.loss_scale = s.scale_used;
      m.skipped = s.skipped_this_step != 0;
      m.skipped_total = s.skipped_total;
      m.growth_tracker = s.growth_tracker;
      m.grad_norm = std::sqrt(double(s.grad_sum_squares));
      m.lr = s.learning_rate;
      m.step_time_s = dt;
      m.samples_per_s = dt > 0 ? double(f.batch) / dt : 0;
      m.memory_in_use = std::int64_t(mem.in_use);
      m.memory_peak = std::int64_t(mem.peak);
      m.driver_memory_in_use = std::int64_t(mem.driver_in_use);
      m.wall_time_s = wall;
      const StepFingerprint& fp = stepper->fingerprint();
      m.update_norm = fp.update_norm;
      m.weight_norm = fp.weight_norm();
      m.weights_checksum = std::int64_t(fp.checksum);
      m.weight_norms = fp.weight_norms;
      if (stepper->data_parallel()) {
        m.slowest_rank_s = stepper->agreed().slowest_pass_s;
        m.reduce_time_s = stepper->agreed().reduce_s;
      }
      // The step's statistics, decoded once for the scaler record and the store.
      const std::vector<TensorStats> stats =
          stepper->numerics_on() ? stepper->numerics().decoded() : std::vector<TensorStats>{};
      numerics->scaler_record(s, f.inputs(), step, stats, m);
      sink.step_recorded(m);
      std::optional<Provenance> prov = numerics->trace_if_event(s, f.inputs(), step, sink);
      emit_step_events(s, f.step, sink, wall, prov);
      numerics->record(s, f.step, stats, sink);
      if (f.step == capture_step) {
        sink.event_recorded({f.step, stepper->captured() ? EventKind::Info : EventKind::Warning,
                             stepper->captured()
                                 ? "step " + std::to_string(f.step) +
                                       " captured as one graph; full-size steps replay it"
                                 : stepper->capture_note(),
                             0, 0, "", wall});
      }
      // A skipped step changed nothing and is left out; an applied step whose
      // loss was not finite (no loss scaling to skip it) makes the epoch's
      // mean NaN rather than hiding among the finite ones.
      if (!m.skipped) {
        epoch_loss_sum += m.loss;
        ++epoch_loss_count;
      }
      all_seconds += dt;
      all_samples += double(f.batch);
      if (f.step - first >= options.warmup_steps_excluded) {
        ++timed_steps;
        timed_seconds += dt;
        timed_samples += double(f.batch);
      }
      summary.final_train_loss = m.loss;
      summary.final_loss_scale = s.scale;
      summary.skipped_steps = m.skipped_total;

      if (!ends_a_stretch(f.step) && !f.checkpoint_due) return;
      MANTISSA_ASSERT(f.step == step, "step " + std::to_string(f.step) + " collected after step " +
                                          std::to_string(step) + " was enqueued");
      const bool epoch_end = step % steps_per_epoch == 0;
      if (epoch_end || step == total_steps) {
        EpochMetrics em;
        em.epoch = f.epoch;
        em.step = step;
        em.train_loss = epoch_loss_count ? epoch_loss_sum / double(epoch_loss_count) : NAN;
        if (options.evaluate && lead()) {
          const auto e0 = Clock::now();
          std::tie(em.val_loss, em.val_accuracy) = evaluate();
          em.eval_time_s = seconds_since(e0);
          summary.eval_time_s += em.eval_time_s;
        }
        em.wall_time_s = elapsed_before + seconds_since(t0);
        // Checkpoints written since the previous epoch's row (the one at
        // this epoch's end follows the row, so it counts in the next).
        em.checkpoint_time_s = checkpoint_time_since_epoch;
        checkpoint_time_since_epoch = 0;
        epoch_loss_sum = 0;
        epoch_loss_count = 0;
        summary.final_val_loss = em.val_loss;
        summary.final_val_accuracy = em.val_accuracy;
        sink.epoch_recorded(em);
      }
      if (step < total_steps) {
        const std::int64_t every = project.training.checkpoint_every;
        if (every > 0 && step % every == 0) {
          write_checkpoint(CheckpointKind::Kept);
        } else if (f.checkpoint_due || (epoch_end && project.training.checkpoint_each_epoch &&
                                         epoch_checkpoint_affordable(last_checkpoint,
                                                                     last_checkpoint_cost))) {
          write_checkpoint(CheckpointKind::Safety);
        }
      }
    };

    std::optional<InFlight> pending;
    // Data parallel: a stop takes effect after the step whose agreement
    // carried it, on every rank at once; no rank waits alone.
    const bool data_parallel = stepper->data_parallel();
    bool agreed_stop = false;
    try {
      backend.reset_peak_memory();
      // Weights from a file are not in the project: a run killed before its
      // first checkpoint could not start over without them.
      if (step == 0 && options.init_weights && !options.resume_from &&
          (checkpoint_seconds > 0 || project.training.checkpoint_each_epoch))
        write_checkpoint(CheckpointKind::Safety);
      while (step < total_steps) {
        if (pending && (control.paused() || control.stop_requested() || agreed_stop)) {
          collect(*pending);
          pending.reset();
        }
        if (data_parallel ? agreed_stop : !control.wait_if_paused()) {
          summary.outcome = RunOutcome::Stopped;
          break;
        }
        const auto begun = Clock::now();
        const Batch& batch = loader->next();
        const std::int64_t epoch = step / steps_per_epoch;
        stepper->set_histograms(numerics->histograms_for(step + 1));
        std::vector<float> targets = loss_targets(*graph, batch, data.train.num_classes);
        if (options.probe_step && step + 1 == *options.probe_step) {
          if (pending) collect(*pending);  // the weights are those the step starts from
          pending.reset();
          sink.probe_recorded(stepper->probe(batch.x, targets, batch.size, dropout_seed(), step + 1,
                                             project.model, project.training.seed, project.file));
          summary.outcome = RunOutcome::Stopped;
          break;
        }
        if (options.fault.kind != TrainOptions::Fault::Kind::None && options.fault.step == step + 1 &&
            options.fault.rank == (options.collective ? options.collective->rank() : 0))
          inject_fault(options.fault, *stepper);
        if (data_parallel) stepper->set_control(control_word(control));
        stepper->enqueue(batch.x, targets, batch.size, dropout_seed());
        Clock::duration held{0};  // a pause is in no step's time
        if (data_parallel && stepper->agreed().control >= kPauseWord) {
          const auto p0 = Clock::now();
          agreed_stop = pause_together(control);
          held = Clock::now() - p0;
        }
        else if (data_parallel && stepper->agreed().control >= kStopWord)
          agreed_stop = true;
        ++step;
        if (capture_step < 0 && (stepper->captured() || stepper->capture_failed()))
          capture_step = step;
        InFlight current{stepper->begin_read(), step, epoch, batch.size, begun + held};
        if (stepper->read_ready(current.ticket)) current.done_at = Clock::now();
        current.checkpoint_due =
            checkpoint_seconds > 0 &&
            std::chrono::duration<double>(Clock::now() - last_checkpoint).count() >=
                checkpoint_seconds;
        if (pending) collect(*pending);
        pending.reset();
        // A step that has already run (always, on a backend whose ops finish
        // when they return) is read before the next is enqueued: then a
        // skipped step's weights are still those it ran with, for its trace.
        const bool now = ends_a_stretch(step) || current.checkpoint_due || current.done_at;
        if (stepper->numerics_on()) {
          if (!now) {
            current.x_kept = batch.x;
            current.y_kept = std::move(targets);
            current.x = current.x_kept;
            current.y = current.y_kept;
          } else {
            current.x = batch.x;
            current.y = targets;
          }
        }
        if (now)
          collect(current);
        else
          pending = std::move(current);
      }
      // Before the last checkpoint, whose commit takes it along.
      sink.manifest_recorded(
          numerics_manifest_json(backend, project, data_fingerprint, dropout_seed(), ranks));
      write_checkpoint(CheckpointKind::Kept);
    } catch (const Error& e) {
      summary.outcome = RunOutcome::Failed;
      summary.error = e.what();
    } catch (const std::bad_alloc&) {
      summary.outcome = RunOutcome::Failed;
      summary.error = "out of memory at step " + std::to_string(step + 1) + " (" +
                      memory_report(backend) + ")";
    } catch (const std::exception& e) {
      summary.outcome = RunOutcome::Failed;
      summary.error = std::string("unexpected error: ") + e.what();
    }
    summary.steps = step;
    summary.wall_time_s = elapsed_before + seconds_since(t0);
    // A run no longer than its warm-up has no steps past it: its rate is over
    // every step (warm-up included, so lower) rather than none.
    summary.samples_per_s = timed_seconds > 0 ? timed_samples / timed_seconds
                            : all_seconds > 0 ? all_samples / all_seconds
                                              : 0;
    const MemoryStats mem = backend.memory_stats();
    summary.peak_memory = std::int64_t(mem.peak);
    summary.peak_activation_memory = std::max<std::int64_t>(0, summary.peak_memory - state_bytes);
    sink.run_finished(summary);
    return summary;
  }
};

Trainer::Trainer(const Project& project, Backend& backend, TrainOptions options)
    : impl_(std::make_unique<Impl>(project, backend, std::move(options))) {
  impl_->build();
}

Trainer::~Trainer() = default;

RunSummary Trainer::run(MetricsSink& sink, TrainControl& control) {
  return impl_->run(sink, control);
}
Graph& Trainer::graph() {
  return *impl_->graph;
}
std::int64_t Trainer::total_steps() const {
  return impl_->total_steps;
}
std::int64_t Trainer::steps_per_epoch() const {
  return impl_->steps_per_epoch;
}
std::vector<std::uint8_t> Trainer::checkpoint() const {
  return impl_->checkpoint();
}

}  // namespace mantissa
