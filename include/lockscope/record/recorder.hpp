// SPDX-License-Identifier: Apache-2.0
// The recording loop: for a duration, for the life of a command, or until
// stopped (SIGINT/SIGTERM/SIGHUP), with an optional interval callback; and
// what a finished recording becomes in the profile.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lockscope/core/profile.hpp"
#include "lockscope/probe/probe.hpp"
#include "lockscope/record/cost.hpp"
#include "lockscope/record/load_plan.hpp"
#include "lockscope/record/session.hpp"
#include "lockscope/record/symbolizer.hpp"

namespace lockscope {

struct RecordPlan {
  double duration_s = 0;             // 0 = until stopped (or the command exits)
  std::vector<std::string> command;  // run for its life when non-empty
  double interval_s = 0;             // > 0: call the interval callback
  // Kernel BPF stats are sampled for the first cost_window_s of the run
  // (or the whole run when shorter); 0 = for the whole run (record --stats).
  double cost_window_s = kCostWindowS;
};

// Called every interval with the elapsed seconds.
using IntervalFn = std::function<void(double elapsed_s)>;

struct Recording {
  double duration_s = 0;
  int stopped_by_signal = 0;
  std::string command_status;  // "exit 0", "killed by ..."; empty without a command
  Snapshot snapshot;
  std::vector<ProgramStats> stats_before, stats_after;
  std::optional<CostSample> cost;  // the run's sampled window (absent: no cost)
};

// What the session holds now: its snapshot and program stats, with the
// stats and duration since `stats_before` was taken.
Recording capture(BpfSession& session, std::vector<ProgramStats> stats_before, double duration_s);

Recording record(BpfSession& session, const RecordPlan& plan, const IntervalFn& tick);

// The run of a recording: metrics, drops (incl. recursion misses), duration,
// and its cost when the recording sampled one.
Run finish_run(const Recording& rec, const std::map<std::string, Availability>& availability,
               const Symbolizer& syms);

// A profile for a recording: this host's facts, the kernel's (patch state)
// from the probe, and the session's backend and hooks.
Profile new_recording_profile(const ProbeReport& probe, const LoadPlan& plan,
                              const BpfSession& session, const std::string& label);

// Per-program kernel stats (record --stats).
std::string program_stats_table(const std::vector<ProgramStats>& after,
                                const std::vector<ProgramStats>& before, double duration_s);

}  // namespace lockscope
