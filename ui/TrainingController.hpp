#pragma once
// The training service lives in services/TrainingController.hpp; this name is
// kept for the executables under app/ that still include it by its old path.
#include "services/TrainingController.hpp"
