// SPDX-License-Identifier: Apache-2.0
// From a snapshot of the BPF maps to the metrics of one profile run: pool
// kinds merged, sites named, every catalogue metric either measured or
// `unavailable` with the reason.
#pragma once

#include <map>
#include <string>

#include "lockscope/core/profile.hpp"
#include "lockscope/record/load_plan.hpp"
#include "lockscope/record/snapshot.hpp"
#include "lockscope/record/symbolizer.hpp"

namespace lockscope {

// `availability` is metric_availability() of the attached session.
Run build_run(const Snapshot& snap, const std::map<std::string, Availability>& availability,
              const Symbolizer& syms);

// Per-metric losses (Metric::loss) from the run's drops and, per program
// section ("fexit/_raw_spin_lock"), the share of its runs the kernel skipped
// (recursion misses / (runs + misses)).
void account_losses(Run& run, const std::map<std::string, double>& skipped_share);

// The enum ls_run_class a program section counts its runs in, as the BPF
// programs do (bpf/lockscope.bpf.c); -1 for an unknown section.
int run_class(const std::string& section);

// Name of counter `id` (enum ls_counter) in profiles, and whether it is a loss.
const char* counter_name(uint32_t id);
bool counter_is_drop(uint32_t id);

}  // namespace lockscope
