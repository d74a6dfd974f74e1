#include "train/fault.hpp"

#include <chrono>
#include <csignal>
#include <limits>
#include <thread>

#include "mantissa/error.hpp"
#include "mantissa/units.hpp"

namespace mantissa {

void inject_fault(const TrainOptions::Fault& fault, TrainingStep& stepper) {
  using Kind = TrainOptions::Fault::Kind;
  switch (fault.kind) {
    case Kind::Inf:
      stepper.plant_in_gradient(std::numeric_limits<float>::infinity());
      break;
    case Kind::NaN:
      stepper.plant_in_gradient(std::numeric_limits<float>::quiet_NaN());
      break;
    case Kind::Stall:
      std::this_thread::sleep_for(std::chrono::duration<double>(fault.seconds));
      break;
    case Kind::Kill:
      ::raise(SIGKILL);
      break;
    case Kind::None:
      break;
  }
}

TrainOptions::Fault parse_fault(const std::string& text, const std::string& source) {
  using Kind = TrainOptions::Fault::Kind;
  const auto bad = [&] {
    return InputError(source + ": '" + text +
                      "' is not a fault; write inf@STEP, nan@STEP, stall@STEP or kill@STEP, "
                      "each optionally with :RANK, stall also with /SECONDS");
  };
  TrainOptions::Fault f;
  const auto at = text.find('@');
  if (at == std::string::npos) throw bad();
  const std::string kind = text.substr(0, at);
  if (kind == "inf")
    f.kind = Kind::Inf;
  else if (kind == "nan")
    f.kind = Kind::NaN;
  else if (kind == "stall")
    f.kind = Kind::Stall;
  else if (kind == "kill")
    f.kind = Kind::Kill;
  else
    throw bad();
  std::string rest = text.substr(at + 1);
  f.seconds = 3600;
  if (const auto slash = rest.find('/'); slash != std::string::npos) {
    if (f.kind != Kind::Stall) throw bad();
    try {
      std::size_t used = 0;
      f.seconds = std::stod(rest.substr(slash + 1), &used);
      if (used != rest.size() - slash - 1 || !(f.seconds >= 0)) throw bad();
    } catch (const std::logic_error&) {
      throw bad();
    }
    rest.resize(slash);
  }
  const auto colon = rest.find(':');
  const std::optional<std::int64_t> step = whole_number(rest.substr(0, colon));
  const std::optional<std::int64_t> rank = colon == std::string::npos
                                               ? std::optional<std::int64_t>(0)
                                               : whole_number(rest.substr(colon + 1));
  if (!step || !rank || *step < 1 || *rank < 0 || *rank > 1000000) throw bad();
  f.step = *step;
  f.rank = int(*rank);
  return f;
}

}  // namespace mantissa
