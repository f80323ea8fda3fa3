// SPDX-License-Identifier: Apache-2.0
// The derived figures of a run's cost (lockscope/core/profile.hpp, Cost):
// from the programs' runs and run times over the sampled window, the CPU
// count and the run's pool->lock hold metric. Pure arithmetic, shared by
// `record` (which samples the stats), the profile reader and `report`
// (which merges runs).
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "lockscope/core/profile.hpp"

namespace lockscope {

inline constexpr const char* kCostSource = "kernel BPF stats";

// Fills hook_runs_per_s, cpu_fraction, each program's runs_per_s and
// ns_per_run, and the added time per pool->lock hold from `hold` (the run's
// pool_lock_hold_ns; null when the run has none). An unavailable cost is
// left as it is.
void derive_cost(Cost& c, const Metric* hold);
// The same for a run's cost, if it has one, with the run's hold metric.
void derive_cost(Run& run);

// The cost of two runs' windows taken together: windows added, each
// program's runs and time added (matched by attach). Unavailable only when
// both are; derive_cost() afterwards.
void merge_cost(Cost& into, const Cost& c);

// The cost as the profile stores it (docs/profile-format.md, "Cost"): the
// recorded figures and, for readers, the derived ones.
nlohmann::json cost_to_json(const Cost& c);

}  // namespace lockscope
