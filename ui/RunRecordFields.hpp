#pragma once
// What the studio writes into a new run's record, in the same form as the
// command line writes it, so runs from both faces compare field by field.
#include <string>

#include "mantissa/model.hpp"
#include "mantissa/store.hpp"

namespace mantissa::ui {

// The scaler settings that apply under the policy: {"mode"} for none,
// plus init_scale and either the dynamic parameters or skip_nonfinite.
std::string lossScaleJson(const mantissa::TrainingSpec& training);

// The NewRun of `project` as trained (backend and device filled in by the caller).
mantissa::NewRun newRunFor(const mantissa::Project& project);

}  // namespace mantissa::ui
