// Guided fixes (advice.hpp): findings over a run's record, and a fix tried.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <string>

#include "mantissa/advice.hpp"
#include "mantissa/divergence.hpp"
#include "mantissa/error.hpp"
#include "mantissa/numerics_bits.hpp"
#include "mantissa/recorder.hpp"
#include "mantissa/store.hpp"
#include "mantissa/train_job.hpp"
#include "test_data_util.hpp"
#include "train_fixtures.hpp"

namespace mantissa {
namespace {

using testing::RecordingSink;
using testing::run_on_cpu;

// 8 features; every 8th row has all of them at 60,000 (fp16 holds that), so
// fc1's 16 outputs on those rows reach past 65,504 in fp16. A LayerNorm
// (fp32) follows fc1 and brings its output back to unit scale.
Project overflowing_layer_project(const std::filesystem::path& dir, Policy policy) {
  std::string csv = "a,b,c,d,e,f,g,h,label\n";
  for (int i = 0; i < 256; ++i) {
    const bool big = i % 8 == 3;
    for (int k = 0; k < 8; ++k)
      csv += (big ? std::string("60000") : std::to_string(0.1 * ((i * 7 + k * 3) % 11) - 0.5)) + ",";
    csv += std::to_string(i % 2) + "\n";
  }
  test_data::write_text(dir / "rows.csv", csv);
  Project p = parse_project(R"({"format": "mantissa-project", "version": 1, "name": "one-layer",
    "dataset": {"kind": "csv", "path": "rows.csv", "normalize": false, "validation_fraction": 0},
    "model": {"nodes": [
      {"id": "input", "type": "Input", "params": {"shape": [8]}},
      {"id": "fc1", "type": "Linear", "inputs": ["input"], "params": {"out_features": 16}},
      {"id": "norm", "type": "LayerNorm", "inputs": ["fc1"]},
      {"id": "fc2", "type": "Linear", "inputs": ["norm"], "params": {"out_features": 2}},
      {"id": "loss", "type": "SoftmaxCrossEntropy", "inputs": ["fc2"]}]},
    "training": {"policy": "mixed_float16", "batch_size": 32, "steps": 24, "seed": 4,
                 "optimizer": {"type": "sgd", "lr": 0.01, "momentum": 0.9}}})",
                            dir / "one-layer.json");
  p.training.policy = policy;
  return p;
}

RunEvidence evidence_of(const Project& p, const RecordingSink& sink) {
  RunEvidence e;
  e.project = p;
  e.steps = sink.steps;
  e.provenance = sink.provenance;
  e.tensor_slots = sink.numerics_slots;
  for (const NumericsSample& s : sink.numerics)
    if (!s.histograms.empty()) e.samples.push_back(s);
  return e;
}

double tail_loss(const std::vector<StepMetrics>& steps) {
  double sum = 0;
  int n = 0;
  for (std::size_t i = steps.size() - 10; i < steps.size(); ++i)
    if (!steps[i].skipped) sum += steps[i].loss, ++n;
  return n ? sum / n : std::nan("");
}

// Must hold: on a model built to overflow in one layer, the advisor proposes
// pinning that layer; the child run with the pin takes no skips, and its loss
// tracks the fp32 run of the same project (same weights, same batches).
TEST(Advice, AnOverflowingLayerIsPinnedAndTheChildRunTakesNoSkips) {
  test_data::TempDir dir;
  const Project p = overflowing_layer_project(dir.path(), Policy::MixedFloat16);
  RecordingSink run;
  ASSERT_EQ(run_on_cpu(p, run).outcome, RunOutcome::Finished);
  ASSERT_GE(run.summary.skipped_steps, 3);  // every batch holds big rows
  const std::vector<Finding> findings = advise(evidence_of(p, run));
  ASSERT_FALSE(findings.empty());
  const Finding& f = findings.front();
  EXPECT_EQ(f.rule, "forward-overflow");
  EXPECT_NE(f.evidence.find("fc1 output (f16) went non-finite first at step 1"), std::string::npos)
      << f.evidence;
  ASSERT_GE(f.fixes.size(), 2u);
  EXPECT_EQ(f.fixes[0].pin, std::vector<std::string>{"fc1"});
  EXPECT_EQ(f.fixes[0].title, "pin fc1 to fp32");
  EXPECT_EQ(f.fixes.back().policy, std::optional<Policy>(Policy::MixedBFloat16));
  // bf16 goes with bf16's own default scaling (none), not fp16's scaler.
  Project explicit_scaler = p;
  explicit_scaler.training.loss_scale.mode = LossScaleMode::Dynamic;
  const Project as_bf16 = apply_fix(explicit_scaler, f.fixes.back());
  EXPECT_EQ(effective_mode(as_bf16.training.policy, as_bf16.training.loss_scale),
            LossScaleMode::None);

  const Project child = apply_fix(p, f.fixes[0]);
  EXPECT_TRUE(child.model.layers[1].pin_fp32);
  EXPECT_EQ(child.training.policy, Policy::MixedFloat16);
  RecordingSink fixed;
  ASSERT_EQ(run_on_cpu(child, fixed).outcome, RunOutcome::Finished);
  EXPECT_EQ(fixed.summary.skipped_steps, 0);
  RecordingSink control;
  ASSERT_EQ(run_on_cpu(overflowing_layer_project(dir.path(), Policy::Float32), control).outcome,
            RunOutcome::Finished);
  const double want = tail_loss(control.steps), got = tail_loss(fixed.steps);
  std::cout << "[ advice   ] skips " << run.summary.skipped_steps << " -> "
            << fixed.summary.skipped_steps << "; loss over the last 10 steps " << got
            << " (fp32 " << want << ", unfixed " << tail_loss(run.steps) << ")\n";
  EXPECT_NEAR(got, want, 0.02 * want);
  // And step by step: against the fp32 run and its noise twin, the child's
  // loss stays within the noise band (divergence.hpp) for every step.
  RecordingSink twin;
  {
    auto backend = create_backend("cpu");
    TrainOptions o;
    o.noise_twin = true;
    Trainer t(overflowing_layer_project(dir.path(), Policy::Float32), *backend, o);
    TrainControl c;
    ASSERT_EQ(t.run(twin, c).outcome, RunOutcome::Finished);
  }
  const Divergence d = divergence(fixed.steps, control.steps, twin.steps);
  EXPECT_EQ(d.steps.size(), fixed.steps.size());
  EXPECT_FALSE(d.first_divergent.has_value()) << "left the band at step " << *d.first_divergent;
  // Nothing left to fix in the child.
  for (const Finding& g : advise(evidence_of(child, fixed)))
    EXPECT_NE(g.rule, "forward-overflow") << g.evidence;
}

// A float32 run that goes past fp32's range (a learning rate of 1e300) has
// no precision fix: pinning fc1 "to fp32" changes nothing. The advisor says
// the training diverges, names the learning rate, and offers no fix to try.
TEST(Advice, AFloat32RunPastFp32sRangeGetsNoPrecisionFix) {
  test_data::TempDir dir;
  Project p = overflowing_layer_project(dir.path(), Policy::Float32);
  p.training.optimizer.lr = 1e300;
  p.training.optimizer.momentum = 0;
  p.training.steps = 6;
  RecordingSink sink;
  run_on_cpu(p, sink);
  ASSERT_FALSE(sink.provenance.empty()) << "the run was meant to overflow";
  const std::vector<Finding> findings = advise(evidence_of(p, sink));
  ASSERT_FALSE(findings.empty());
  for (const Finding& f : findings) {
    EXPECT_EQ(f.rule, "overflow-in-fp32") << f.evidence;
    EXPECT_TRUE(f.fixes.empty()) << f.fixes.front().title;
    EXPECT_NE(f.evidence.find("learning rate (1e+300)"), std::string::npos) << f.evidence;
  }
}

// A burst of skips at the start from a scale far too large: an initial scale
// from the what-if, which predicts fewer skips.
TEST(Advice, EarlySkipsGetAnInitialScaleFromTheWhatIf) {
  Project p = testing::spirals_project(Policy::MixedFloat16, 40);
  p.training.loss_scale.mode = LossScaleMode::Dynamic;
  p.training.loss_scale.init_scale = std::ldexp(1.0, 30);
  RecordingSink run;
  ASSERT_EQ(run_on_cpu(p, run).outcome, RunOutcome::Finished);
  ASSERT_GE(run.summary.skipped_steps, 3);
  const std::vector<Finding> findings = advise(evidence_of(p, run));
  const Finding* early = nullptr;
  for (const Finding& f : findings)
    if (f.rule == "early-skips") early = &f;
  ASSERT_NE(early, nullptr);
  ASSERT_EQ(early->fixes.size(), 1u);
  ASSERT_TRUE(early->fixes[0].scaler.has_value());
  const double init = early->fixes[0].scaler->init_scale;
  EXPECT_LT(init, std::ldexp(1.0, 30));
  RecordingSink fixed;
  ASSERT_EQ(run_on_cpu(apply_fix(p, early->fixes[0]), fixed).outcome, RunOutcome::Finished);
  EXPECT_LT(fixed.summary.skipped_steps, run.summary.skipped_steps) << early->fixes[0].why;
}

TEST(Advice, AFixNamingAMissingLayerIsRefused) {
  Fix f;
  f.title = "pin ghost";
  f.pin = {"ghost"};
  try {
    apply_fix(testing::spirals_project(Policy::MixedFloat16, 4), f);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("no layer 'ghost'"), std::string::npos) << e.what();
  }
}

const Finding* finding(const std::vector<Finding>& fs, const std::string& rule) {
  for (const Finding& f : fs)
    if (f.rule == rule) return &f;
  return nullptr;
}

// Pure fp16 masters at a small learning rate: the typical update is below
// fp16's unit roundoff relative to the weights, so most of it rounds away.
// Measured on real runs from their weight fingerprints; the fix is fp32
// masters, and a mixed policy's run gets no such finding.
TEST(Advice, StaleUpdatesUnderPure16BitMastersAskForFp32Masters) {
  RecordingSink pure, mixed;
  Project p = testing::spirals_project(Policy::Float16, 60);
  p.training.optimizer.lr = 0.001;
  p.training.optimizer.momentum = 0;
  ASSERT_EQ(testing::run_on_cpu(p, pure).outcome, RunOutcome::Finished);
  const std::vector<Finding> fs = advise(evidence_of(p, pure));
  const Finding* stale = finding(fs, "stale-updates");
  ASSERT_NE(stale, nullptr);
  EXPECT_NE(stale->evidence.find("below fp16's unit roundoff"), std::string::npos) << stale->evidence;
  ASSERT_EQ(stale->fixes.size(), 1u);
  EXPECT_EQ(apply_fix(p, stale->fixes[0]).training.policy, Policy::MixedFloat16);
  // The same with fp32 masters: no finding.
  Project q = p;
  q.training.policy = Policy::MixedFloat16;
  ASSERT_EQ(testing::run_on_cpu(q, mixed).outcome, RunOutcome::Finished);
  EXPECT_EQ(finding(advise(evidence_of(q, mixed)), "stale-updates"), nullptr);
  // A large learning rate moves fp16 weights by more than their roundoff.
  RecordingSink big;
  p.training.optimizer.lr = 0.5;
  ASSERT_EQ(testing::run_on_cpu(p, big).outcome, RunOutcome::Finished);
  EXPECT_EQ(finding(advise(evidence_of(p, big)), "stale-updates"), nullptr);
}

// Adam under pure fp16: weight gradients below sqrt(2^-24 / (1 - beta2))
// flush to zero in the second moment; fixed by fp32 masters or a larger
// epsilon. Made-up evidence: one weight gradient slot, its values in binade
// 2^-10 (below the limit of about 7.7e-3) and 2^-3 (above).
TEST(Advice, AdamsSecondMomentFlushingInFp16GetsMastersOrEpsilon) {
  namespace nb = numerics_bits;
  RunEvidence e;
  e.project = testing::spirals_project(Policy::Float16, 10);
  e.project.training.optimizer.kind = OptimizerKind::Adam;
  NumericsSlot slot;
  slot.layer = "fc1";
  slot.role = TensorRole::WeightGrad;
  slot.param = "fc1.weight";
  e.tensor_slots = {slot};
  NumericsSample s;
  s.step = 50;
  Histogram h{};
  h[std::size_t(nb::kFirstBinade + (-10 - nb::kLowExponent))] = 30;
  h[std::size_t(nb::kFirstBinade + (-3 - nb::kLowExponent))] = 70;
  s.histograms = {h};
  s.stats = {TensorStats{}};
  e.samples = {s};
  std::vector<Finding> fs = advise(e);
  const Finding* flush = finding(fs, "adam-moment-flush");
  ASSERT_NE(flush, nullptr);
  EXPECT_NE(flush->evidence.find("30.0 %"), std::string::npos) << flush->evidence;
  ASSERT_EQ(flush->fixes.size(), 2u);
  EXPECT_EQ(apply_fix(e.project, flush->fixes[1]).training.optimizer.eps, 1e-4);
  // SGD keeps no second moment; bf16's range holds it.
  e.project.training.optimizer.kind = OptimizerKind::Sgd;
  EXPECT_EQ(finding(advise(e), "adam-moment-flush"), nullptr);
  e.project.training.optimizer.kind = OptimizerKind::AdamW;
  e.project.training.policy = Policy::BFloat16;
  EXPECT_EQ(finding(advise(e), "adam-moment-flush"), nullptr);
}

// A norm that reads 16-bit values whose largest is below 2^-12 (variance
// below 2^-24): pin its producer, or raise its eps.
TEST(Advice, ANormFedVanishingValuesGetsItsProducerPinnedOrItsEpsRaised) {
  RunEvidence e;
  e.project = parse_project(R"({"format": "mantissa-project", "version": 1, "name": "ln",
    "dataset": {"kind": "spirals", "samples": 64, "classes": 2},
    "model": {"nodes": [
      {"id": "input", "type": "Input", "params": {"shape": [2]}},
      {"id": "fc1", "type": "Linear", "inputs": ["input"], "params": {"out_features": 8}},
      {"id": "ln", "type": "LayerNorm", "inputs": ["fc1"]},
      {"id": "fc2", "type": "Linear", "inputs": ["ln"], "params": {"out_features": 2}},
      {"id": "loss", "type": "SoftmaxCrossEntropy", "inputs": ["fc2"]}]},
    "training": {"policy": "mixed_float16", "batch_size": 8, "steps": 2}})",
                            "ln.json");
  NumericsSlot fc1;
  fc1.layer = "fc1";
  fc1.dtype = DType::F16;
  e.tensor_slots = {fc1};
  NumericsSample s;
  s.step = 7;
  TensorStats st;
  st.count = 64;
  st.amax = 1.5e-4f;
  s.stats = {st};
  e.samples = {s};
  const std::vector<Finding> fs = advise(e);
  const Finding* f = finding(fs, "norm-input-underflow");
  ASSERT_NE(f, nullptr);
  EXPECT_NE(f->evidence.find("ln reads fc1's f16 output"), std::string::npos) << f->evidence;
  EXPECT_NE(f->evidence.find("at step 7"), std::string::npos) << f->evidence;
  ASSERT_EQ(f->fixes.size(), 2u);
  EXPECT_EQ(f->fixes[0].pin, (std::vector<std::string>{"fc1"}));
  const Project raised = apply_fix(e.project, f->fixes[1]);
  EXPECT_EQ(raised.model.layers[2].eps, 1e-3f);
  // Values of ordinary size: nothing to say.
  e.samples[0].stats[0].amax = 0.5f;
  EXPECT_EQ(finding(advise(e), "norm-input-underflow"), nullptr);
}

// A fix tried as a child run is stored as a trial of its parent; compared
// with the control (the parent's own record), accepted, and cited when the
// same fix is offered for the same finding again, also after the parent is
// deleted.
TEST(Advice, AnAcceptedFixIsStoredAndCitedByLaterAdvice) {
  test_data::TempDir dir;
  const Project p = overflowing_layer_project(dir.path(), Policy::MixedFloat16);
  RunStore store(dir.path() / "runs.db");
  auto backend = create_backend("cpu");
  const auto train = [&](const Project& project, NewRun n) {
    RunRecorder rec(store, n);
    Trainer t(project, *backend);
    TrainControl c;
    EXPECT_EQ(t.run(rec, c).outcome, RunOutcome::Finished);
    return rec.run_id();
  };
  const std::int64_t parent = train(p, new_run_record(p, "parent"));
  const std::vector<Finding> findings = advise(read_run_evidence(store, parent));
  ASSERT_FALSE(findings.empty());
  const Finding& f = findings.front();
  NewRun n = new_run_record(apply_fix(p, f.fixes[0]), "child");
  n.parent_run_id = parent;
  n.fix_rule = f.rule;
  n.fix_title = f.fixes[0].title;
  const std::int64_t child = train(apply_fix(p, f.fixes[0]), n);
  const std::vector<FixTrial> trials = store.fix_trials(parent);
  ASSERT_EQ(trials.size(), 1u);
  EXPECT_EQ(trials[0].run_id, child);
  EXPECT_EQ(trials[0].fix, "pin fc1 to fp32");
  EXPECT_TRUE(trials[0].decision.empty());
  const FixComparison c = compare_fix(store, child);
  EXPECT_EQ(c.child_skips, 0);
  EXPECT_GE(c.control_skips, 3);
  EXPECT_EQ(c.steps, 24);
  EXPECT_EQ(c.tail_from, 20);
  EXPECT_TRUE(std::isfinite(c.child_loss));
  EXPECT_THROW(store.decide_fix(parent, "accepted", ""), InputError);  // no trial
  EXPECT_THROW(store.decide_fix(child, "maybe", ""), InputError);
  store.decide_fix(child, "accepted", c.sentence());
  EXPECT_EQ(store.fix_trials()[0].decision, "accepted");
  const std::vector<Finding> again = advise(read_run_evidence(store, parent));
  ASSERT_FALSE(again.empty());
  EXPECT_NE(again.front().fixes[0].why.find("Tried before here: accepted for run " +
                                            std::to_string(child)),
            std::string::npos)
      << again.front().fixes[0].why;
  EXPECT_EQ(again.front().fixes[1].why.find("Tried before"), std::string::npos);
  // A new run of the same project, after the parent is gone, hears of it too.
  store.delete_run(parent);
  const std::int64_t later = train(p, new_run_record(p, "later"));
  const std::vector<Finding> later_findings = advise(read_run_evidence(store, later));
  ASSERT_FALSE(later_findings.empty());
  EXPECT_NE(later_findings.front().fixes[0].why.find("Tried before here: accepted"),
            std::string::npos);
}

// A fix that keeps the policy starts from the run's last good checkpoint:
// the newest before its first skipped step. Here the scale grows every 3
// clean steps from 2^10 until it overflows, some steps in.
TEST(Advice, AFixStartsFromTheLastGoodCheckpoint) {
  test_data::TempDir dir;
  Project p = testing::spirals_project(Policy::MixedFloat16, 60);
  p.training.loss_scale.mode = LossScaleMode::Dynamic;
  p.training.loss_scale.init_scale = 1024;
  p.training.loss_scale.growth_interval = 3;
  p.training.checkpoint_every = 5;
  StoreOptions keep;
  keep.checkpoints_kept = 20;
  RunStore store(dir.path() / "runs.db", keep);
  auto backend = create_backend("cpu");
  std::int64_t id = 0;
  {
    RunRecorder rec(store, new_run_record(p, "grows"));
    id = rec.run_id();
    Trainer t(p, *backend);
    TrainControl c;
    ASSERT_EQ(t.run(rec, c).outcome, RunOutcome::Finished);
  }
  std::int64_t first_bad = 0;
  for (const StepMetrics& m : store.step_metrics(id))
    if (m.skipped) {
      first_bad = m.step;
      break;
    }
  ASSERT_GT(first_bad, 5) << "the scale should grow for a while before it overflows";
  Finding f;
  f.rule = "early-skips";
  f.evidence = "made up";
  Fix fix;
  fix.title = "a smaller scale";
  fix.scaler = p.training.loss_scale;
  fix.scaler->growth_interval = 1000000;  // no more growth
  const BranchPlan plan = fix_request(store, id, f, fix);
  EXPECT_EQ(plan.from_step, (first_bad - 1) / 5 * 5);
  ASSERT_TRUE(plan.request.options.resume_from.has_value());
  ASSERT_TRUE(plan.request.options.scaler_state.has_value());
  EXPECT_EQ(plan.request.options.scaler_state->scale, 1024.0);  // the fix's scaler, afresh
  TrainRequest request = plan.request;
  request.database = dir.path() / "runs.db";
  testing::RecordingSink sink;
  TrainControl control;
  std::int64_t child = 0;
  ASSERT_EQ(run_training(request, *backend, sink, control, [&](std::int64_t c) { child = c; }).outcome,
            RunOutcome::Finished);
  ASSERT_FALSE(sink.steps.empty());
  EXPECT_EQ(sink.steps.front().step, plan.from_step + 1);
  EXPECT_EQ(sink.steps.front().loss_scale, 1024.0);
  const FixComparison c = compare_fix(store, child);
  EXPECT_EQ(c.steps, 60 - plan.from_step);
  EXPECT_EQ(c.child_skips, 0);  // 2^10 never overflows here
  EXPECT_GT(c.control_skips, 0);
  ASSERT_EQ(store.fix_trials(id).size(), 1u);
  // A policy change starts over.
  Fix policy;
  policy.title = "bf16";
  policy.policy = Policy::MixedBFloat16;
  EXPECT_EQ(fix_request(store, id, f, policy).from_step, 0);
}

}  // namespace
}  // namespace mantissa
