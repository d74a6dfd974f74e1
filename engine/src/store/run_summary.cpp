// A run's summary in the database: run_summary_json() (recorder.hpp) writes
// it, parse_stored_summary() (store.hpp) reads it, both from one field list.
#include <nlohmann/json.hpp>
#include <type_traits>
#include <variant>

#include "mantissa/recorder.hpp"
#include "mantissa/store.hpp"

namespace mantissa {

namespace {

// The summary's fields, once: what run_summary_json() writes and
// parse_stored_summary() reads.
struct SummaryField {
  const char* name;
  std::variant<std::int64_t RunSummary::*, double RunSummary::*> from;
  std::variant<std::optional<std::int64_t> StoredSummary::*, std::optional<double> StoredSummary::*>
      to;
};

const SummaryField kSummaryFields[] = {
    {"steps", &RunSummary::steps, &StoredSummary::steps},
    {"skipped_steps", &RunSummary::skipped_steps, &StoredSummary::skipped_steps},
    {"final_loss_scale", &RunSummary::final_loss_scale, &StoredSummary::final_loss_scale},
    {"final_train_loss", &RunSummary::final_train_loss, &StoredSummary::final_train_loss},
    {"final_val_loss", &RunSummary::final_val_loss, &StoredSummary::final_val_loss},
    {"final_val_accuracy", &RunSummary::final_val_accuracy, &StoredSummary::final_val_accuracy},
    {"wall_time_s", &RunSummary::wall_time_s, &StoredSummary::wall_time_s},
    {"samples_per_s", &RunSummary::samples_per_s, &StoredSummary::samples_per_s},
    {"eval_time_s", &RunSummary::eval_time_s, &StoredSummary::eval_time_s},
    {"checkpoint_time_s", &RunSummary::checkpoint_time_s, &StoredSummary::checkpoint_time_s},
    {"peak_memory", &RunSummary::peak_memory, &StoredSummary::peak_memory},
    {"peak_activation_memory", &RunSummary::peak_activation_memory,
     &StoredSummary::peak_activation_memory},
};

}  // namespace

std::string run_summary_json(const RunSummary& s) {
  // nlohmann writes NaN and infinities as null.
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const SummaryField& f : kSummaryFields)
    std::visit([&](auto member) { j[f.name] = s.*member; }, f.from);
  return j.dump();
}

std::string stored_summary_json(const StoredSummary& s) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const SummaryField& f : kSummaryFields)
    std::visit(
        [&](auto member) {
          const auto& v = s.*member;
          j[f.name] = v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr);
        },
        f.to);
  return j.dump();
}

StoredSummary parse_stored_summary(std::string_view text) {
  StoredSummary out;
  if (text.empty()) return out;
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return out;
  for (const SummaryField& f : kSummaryFields) {
    const auto it = j.find(f.name);
    if (it == j.end() || !it->is_number()) continue;
    std::visit(
        [&](auto member) {
          using T = typename std::remove_reference_t<decltype(out.*member)>::value_type;
          out.*member = it->template get<T>();
        },
        f.to);
  }
  return out;
}

}  // namespace mantissa
