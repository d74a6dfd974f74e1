// Overflow provenance (numerics.hpp, trace_step.cpp): a skipped step or a
// non-finite loss is run again with every op watched, the first op whose
// inputs are finite and whose output is not is named, forward or backward,
// scale-induced or not; and the numerics manifest a run stores.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "mantissa/backend.hpp"
#include "mantissa/graph.hpp"
#include "mantissa/manifest.hpp"
#include "mantissa/numerics.hpp"
#include "mantissa/recorder.hpp"
#include "mantissa/store.hpp"
#include "mantissa/train_step.hpp"
#include "numerics_fixtures.hpp"
#include "recording_backend.hpp"
#include "test_data_util.hpp"
#include "train_fixtures.hpp"

namespace mantissa {
namespace {

using test_data::TempDir;
using test_data::write_text;
using testing::blowup_project;
using testing::RecordingSink;
using testing::set_fc1_weight;

// Must hold: fc1's forward output exceeds 65,504 under mixed_float16. The
// re-run names fc1, forward, scale-independent, from finite inputs whose
// largest value is its 16-bit weight (1000); the bad values then reach the
// later layers. The run keeps the record and the event says it.
TEST(Provenance, ForwardOverflowIsNamedAndScaleIndependent) {
  TempDir dir;
  auto be = create_backend("cpu");
  Trainer t(blowup_project(dir.path(), 100.0f, 2), *be);
  set_fc1_weight(t, *be, 1000.0f);
  RecordingSink sink;
  TrainControl c;
  ASSERT_EQ(t.run(sink, c).outcome, RunOutcome::Finished);
  ASSERT_FALSE(sink.provenance.empty());
  const Provenance& p = sink.provenance.front();
  EXPECT_EQ(p.step, 1);
  EXPECT_TRUE(p.reproduced) << p.not_reproduced;
  ASSERT_TRUE(p.first.has_value());
  EXPECT_EQ(p.first->layer, "fc1");
  EXPECT_EQ(p.first->what, "output");
  EXPECT_FALSE(p.first->backward());
  EXPECT_EQ(p.first->dtype, DType::F16);
  EXPECT_EQ(p.first->stats.pos_inf, 16u);
  EXPECT_EQ(p.classification(), "scale-independent");
  EXPECT_FALSE(p.measured_at_scale_one);
  EXPECT_EQ(p.input_amax, 1000.0f);
  EXPECT_NE(p.input.find("fc1 input 0 cast to f16"), std::string::npos) << p.input;
  // On towards the loss, in the forward pass.
  EXPECT_EQ(p.path, (std::vector<std::string>{"act", "fc2", "loss"}));
  EXPECT_NE(p.sentence().find("forward pass overflows whatever the loss scale"), std::string::npos)
      << p.sentence();
  ASSERT_FALSE(sink.events.empty());
  EXPECT_NE(sink.events.front().message.find("fc1 output (activation), scale-independent"),
            std::string::npos)
      << sink.events.front().message;
}

// An overflow further down (fc2's output): the path goes on to the loss and
// not back up through the layers whose gradients then turn non-finite.
TEST(Provenance, TheForwardPathLeadsToTheLossNotBackThroughGradients) {
  TempDir dir;
  auto be = create_backend("cpu");
  Trainer t(blowup_project(dir.path(), 100.0f, 1), *be);
  for (Param* prm : t.graph().params())
    if (prm->name == "fc2.weight") be->fill(prm->master, 1000.0f);
  set_fc1_weight(t, *be, 1.0f);
  RecordingSink sink;
  TrainControl c;
  ASSERT_EQ(t.run(sink, c).outcome, RunOutcome::Finished);
  ASSERT_EQ(sink.provenance.size(), 1u);
  const Provenance& p = sink.provenance.front();
  ASSERT_TRUE(p.first.has_value());
  EXPECT_EQ(p.first->layer, "fc2");
  EXPECT_FALSE(p.first->backward());
  EXPECT_EQ(p.path, (std::vector<std::string>{"loss"}));
}

// A layer read twice (here both inputs of an Add): its gradient is the sum of
// two 16-bit gradients, a tensor of its own with a slot of its own. Each term
// is 61,440 at S = 2^14; their sum overflows fp16, and the trace names it.
TEST(Provenance, AGradientSumThatOverflowsIsNamed) {
  TempDir dir;
  write_text(dir.path() / "ones.csv", "x,y\n1,0.5\n1,0.5\n1,0.5\n1,0.5\n");
  Project p = parse_project(R"({"format": "mantissa-project", "version": 1, "name": "twice",
    "dataset": {"kind": "csv", "path": "ones.csv", "normalize": false, "validation_fraction": 0},
    "model": {"nodes": [
      {"id": "input", "type": "Input", "params": {"shape": [1]}},
      {"id": "fc1", "type": "Linear", "inputs": ["input"], "params": {"out_features": 4}},
      {"id": "twice", "type": "Add", "inputs": ["fc1", "fc1"]},
      {"id": "fc2", "type": "Linear", "inputs": ["twice"], "params": {"out_features": 1}},
      {"id": "loss", "type": "MSE", "inputs": ["fc2"]}]},
    "training": {"policy": "mixed_float16", "batch_size": 4, "steps": 2,
                 "loss_scale": {"mode": "dynamic", "init_scale": 16384},
                 "optimizer": {"type": "sgd", "lr": 1e-30, "momentum": 0},
                 "numerics": {"sample_every": 1}}})",
                            dir.path() / "twice.json");
  auto be = create_backend("cpu");
  Trainer t(p, *be);
  for (Param* prm : t.graph().params()) be->fill(prm->master, prm->name.ends_with(".bias") ? 0.0f : 1.0f);
  const std::vector<NumericsSlot>& slots = t.graph().numerics_slots();
  int sum_slot = -1, term_slot = -1;
  for (std::size_t i = 0; i < slots.size(); ++i) {
    if (slots[i].label() == "fc1 gradient of output (summed over its readers)") sum_slot = int(i);
    if (slots[i].label() == "twice gradient of input 0") term_slot = int(i);
  }
  ASSERT_GE(sum_slot, 0);
  ASSERT_GE(term_slot, 0);
  EXPECT_GT(sum_slot, term_slot);  // made after both terms
  RecordingSink sink;
  TrainControl c;
  ASSERT_EQ(t.run(sink, c).outcome, RunOutcome::Finished);
  ASSERT_EQ(sink.numerics.size(), 2u);
  // Step 1 (S = 2^14): out = 8, dL/dout = 2 (8 - 0.5) / 4 = 3.75, so each term
  // is 3.75 S = 61,440 and the sum 122,880: +inf in fp16.
  EXPECT_EQ(sink.numerics[0].stats[std::size_t(term_slot)].amax, 61440.0f);
  EXPECT_EQ(sink.numerics[0].stats[std::size_t(sum_slot)].pos_inf, 16u);  // 4 samples x 4
  // Step 2 (S = 2^13): the sum is exactly twice the term.
  EXPECT_EQ(sink.numerics[1].stats[std::size_t(term_slot)].amax, 30720.0f);
  EXPECT_EQ(sink.numerics[1].stats[std::size_t(sum_slot)].amax, 61440.0f);
  ASSERT_EQ(sink.provenance.size(), 1u);
  const Provenance& pr = sink.provenance.front();
  ASSERT_TRUE(pr.first.has_value());
  EXPECT_EQ(pr.first->label(), "fc1 gradient of output (summed over its readers)");
  EXPECT_TRUE(pr.first->backward());
  EXPECT_EQ(pr.classification(), "scale-induced");
  EXPECT_EQ(pr.input_amax, 61440.0f);
}

// On a backend that runs ahead of the host, a step is read after the next
// one was enqueued: its batch is kept for the trace. Every step of this run
// skips, so the weights never change and each trace reproduces its step.
TEST(Provenance, LateReadStepsAreTracedFromTheirKeptBatches) {
  TempDir dir;
  auto rec = std::make_unique<testing::RecordingBackend>(create_backend("cpu"));
  rec->runs_ahead = true;
  Project p = blowup_project(dir.path(), 100.0f, 4);
  p.training.capture_graphs = false;
  Trainer t(p, *rec);
  set_fc1_weight(t, *rec, 1000.0f);
  RecordingSink sink;
  TrainControl c;
  ASSERT_EQ(t.run(sink, c).outcome, RunOutcome::Finished);
  ASSERT_EQ(sink.provenance.size(), 4u);
  for (const Provenance& pr : sink.provenance) {
    EXPECT_TRUE(pr.reproduced) << "step " << pr.step << ": " << pr.not_reproduced;
    ASSERT_TRUE(pr.first.has_value());
    EXPECT_EQ(pr.first->layer, "fc1");
    EXPECT_EQ(pr.first->stats.pos_inf, 16u);
  }
}

// Must hold: only the scaled gradient overflows. MSE against a target 10.5
// away, at S = 65,536, makes the loss's gradient 2 * 10.5 / 4 * 65,536 =
// 344,064 in fp16: inf. The re-run names the loss's backward output, finds
// the step finite at S = 1 (scale-induced), and the scale backs off as before.
TEST(Provenance, ScaledGradientOverflowIsScaleInduced) {
  TempDir dir;
  std::string csv = "x,y\n";
  for (int i = 0; i < 8; ++i) csv += "0.5,10.5\n";
  write_text(dir / "far.csv", csv);
  Project p = parse_project(R"({"format": "mantissa-project", "version": 1, "name": "far",
    "dataset": {"kind": "csv", "path": "far.csv", "normalize": false, "validation_fraction": 0},
    "model": {"nodes": [
      {"id": "input", "type": "Input", "params": {"shape": [1]}},
      {"id": "fc", "type": "Linear", "inputs": ["input"], "params": {"out_features": 1}},
      {"id": "loss", "type": "MSE", "inputs": ["fc"]}]},
    "training": {"policy": "mixed_float16", "batch_size": 4, "steps": 2,
                 "loss_scale": {"mode": "dynamic", "init_scale": 65536},
                 "optimizer": {"type": "sgd", "lr": 0.001, "momentum": 0}}})",
                            dir / "far.json");
  auto be = create_backend("cpu");
  Trainer t(p, *be);
  for (Param* prm : t.graph().params()) be->fill(prm->master, 0.0f);
  RecordingSink sink;
  TrainControl c;
  ASSERT_EQ(t.run(sink, c).outcome, RunOutcome::Finished);
  ASSERT_EQ(sink.steps.size(), 2u);
  EXPECT_TRUE(sink.steps[0].skipped);
  EXPECT_EQ(sink.steps[0].loss_scale, 65536.0);
  EXPECT_EQ(sink.steps[1].loss_scale, 32768.0) << "the scale backs off as before";
  ASSERT_FALSE(sink.provenance.empty());
  const Provenance& pr = sink.provenance.front();
  ASSERT_TRUE(pr.first.has_value());
  EXPECT_EQ(pr.first->layer, "loss");
  EXPECT_EQ(pr.first->what, "gradient of input 0");
  EXPECT_TRUE(pr.first->backward());
  EXPECT_TRUE(pr.measured_at_scale_one);
  EXPECT_TRUE(pr.finite_at_scale_one);
  EXPECT_EQ(pr.classification(), "scale-induced");
  EXPECT_TRUE(pr.reproduced) << pr.not_reproduced;
  EXPECT_NE(pr.sentence().find("scale-induced"), std::string::npos) << pr.sentence();
  // The record survives the store.
  const Provenance back = parse_provenance_json(provenance_json(pr));
  EXPECT_EQ(back.sentence(), pr.sentence());
  EXPECT_EQ(back.first->stats, pr.first->stats);
}



}  // namespace
}  // namespace mantissa
