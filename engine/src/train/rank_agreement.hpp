#pragma once
// The start-up check of a data-parallel run (PRECISION.md): every rank's
// policy, seed, batch, steps, parameter shapes, backend, device model,
// reduce order and project against rank 0's. A difference refuses the run
// with an InputError that names the field and the ranks.
#include <cstdint>
#include <vector>

#include "mantissa/backend.hpp"
#include "mantissa/collective.hpp"
#include "mantissa/graph.hpp"
#include "mantissa/model.hpp"

namespace mantissa {

// `data_fingerprint`: of this rank's training split (every rank loads all
// of it), so that a node with another copy of the data is named.
void check_ranks_agree(Collective& c, const Project& project, const Backend& backend,
                       const std::vector<Param*>& params, std::int64_t total_steps,
                       ReduceOrder reduce_order, std::uint64_t data_fingerprint);

}  // namespace mantissa
