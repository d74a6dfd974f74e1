// Provenance records: their sentence and their JSON form (provenance.hpp).
#include "mantissa/provenance.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

#include "mantissa/error.hpp"
#include "mantissa/units.hpp"

namespace mantissa {

namespace {

using Json = nlohmann::ordered_json;

std::string amount(float v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", double(v));
  return buf;
}

std::string nonfinite_text(const TensorStats& s) {
  std::string out;
  const auto add = [&](std::uint32_t n, const char* what) {
    if (n == 0) return;
    out += (out.empty() ? "" : ", ") + std::to_string(n) + " " + what;
  };
  add(s.pos_inf, "+inf");
  add(s.neg_inf, "-inf");
  add(s.nan, "NaN");
  return out;
}

Json stats_to_json(const TensorStats& s) {
  return {{"amax", s.amax},       {"pos_inf", s.pos_inf},   {"neg_inf", s.neg_inf},
          {"nan", s.nan},         {"zeros", s.zeros},       {"flush_f16", s.flush_f16},
          {"flush_bf16", s.flush_bf16}, {"subnormal_f16", s.subnormal_f16},
          {"saturate_f16", s.saturate_f16}, {"count", s.count}};
}

TensorStats stats_from_json(const Json& j) {
  TensorStats s;
  s.amax = j.value("amax", 0.0f);
  s.pos_inf = j.value("pos_inf", 0u);
  s.neg_inf = j.value("neg_inf", 0u);
  s.nan = j.value("nan", 0u);
  s.zeros = j.value("zeros", 0u);
  s.flush_f16 = j.value("flush_f16", 0u);
  s.flush_bf16 = j.value("flush_bf16", 0u);
  s.subnormal_f16 = j.value("subnormal_f16", 0u);
  s.saturate_f16 = j.value("saturate_f16", 0u);
  s.count = j.value("count", 0u);
  return s;
}

}  // namespace

std::string TracedTensor::label() const {
  return layer + " " + what;
}

std::string Provenance::classification() const {
  if (!first) return "none";
  return scale_induced() ? "scale-induced" : "scale-independent";
}

std::string Provenance::sentence() const {
  const std::string at = "Step " + std::to_string(step) + " (scale " + loss_scale_text(scale) + ")";
  if (!first) return at + ": the re-run found no non-finite tensor" +
                     (reproduced ? "." : " (" + not_reproduced + ").");
  const TracedTensor& f = *first;
  std::string s = at + ": " + f.label() + " (" + std::string(role_name(f.role)) + ", " +
                  std::string(dtype_name(f.dtype)) + ", " + (f.backward() ? "backward" : "forward") +
                  ") was the first to go non-finite (" + nonfinite_text(f.stats) + ")";
  if (!input.empty()) s += " from finite inputs (" + input + ", largest |x| " + amount(input_amax) + ")";
  s += ". ";
  if (!f.backward()) {
    s += "The forward pass overflows whatever the loss scale: a real " +
         std::string(dtype_name(f.dtype)) + " range problem.";
  } else if (scale_induced()) {
    s += "At scale 1 the step is finite: the overflow is scale-induced, and the scaler backs off.";
  } else if (measured_at_scale_one) {
    s += "It stays non-finite at scale 1: a real range problem in the backward pass, not the "
         "loss scale's.";
  }
  if (!reproduced) s += " (Not reproduced: " + not_reproduced + ".)";
  return s;
}

std::string provenance_json(const Provenance& p) {
  Json j = {{"step", p.step},
            {"scale", p.scale},
            {"loss", std::isfinite(p.loss) ? Json(p.loss) : Json(nullptr)},
            {"reproduced", p.reproduced},
            {"not_reproduced", p.not_reproduced},
            {"classification", p.classification()},
            {"input", p.input},
            {"input_amax", p.input_amax},
            {"measured_at_scale_one", p.measured_at_scale_one},
            {"finite_at_scale_one", p.finite_at_scale_one},
            {"path", p.path},
            {"sentence", p.sentence()}};
  if (p.first) {
    const TracedTensor& f = *p.first;
    j["first"] = {{"layer", f.layer},   {"role", role_key(f.role)}, {"slot", f.slot},
                  {"input", f.input},   {"what", f.what},           {"dtype", dtype_name(f.dtype)},
                  {"backward", f.backward()}, {"stats", stats_to_json(f.stats)}};
  } else {
    j["first"] = nullptr;
  }
  return j.dump();
}

Provenance parse_provenance_json(const std::string& text) {
  const Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw Error("not a provenance record: " + text.substr(0, 60));
  Provenance p;
  try {
    p.step = j.value("step", std::int64_t(0));
    p.scale = j.value("scale", 1.0);
    p.loss = j["loss"].is_number() ? j["loss"].get<float>() : NAN;
    p.reproduced = j.value("reproduced", true);
    p.not_reproduced = j.value("not_reproduced", "");
    p.input = j.value("input", "");
    p.input_amax = j.value("input_amax", 0.0f);
    p.measured_at_scale_one = j.value("measured_at_scale_one", false);
    p.finite_at_scale_one = j.value("finite_at_scale_one", false);
    p.path = j.value("path", std::vector<std::string>{});
    if (j.contains("first") && j["first"].is_object()) {
      const Json& f = j["first"];
      TracedTensor t;
      t.layer = f.value("layer", "");
      t.role = parse_role_key(f.value("role", "activation")).value_or(TensorRole::Activation);
      t.slot = f.value("slot", -1);
      t.input = f.value("input", -1);
      t.what = f.value("what", "");
      const std::string dt = f.value("dtype", "f32");
      t.dtype = dt == "f16" ? DType::F16 : (dt == "bf16" ? DType::BF16 : DType::F32);
      if (f.contains("stats")) t.stats = stats_from_json(f["stats"]);
      p.first = t;
    }
  } catch (const Json::exception& e) {
    throw Error(std::string("damaged provenance record: ") + e.what());
  }
  return p;
}

}  // namespace mantissa
