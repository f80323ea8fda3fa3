// SPDX-License-Identifier: Apache-2.0
// The recording loop: for a duration, for the life of a command, or until
// stopped (SIGINT/SIGTERM/SIGHUP), with an optional interval callback.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "lockscope/record.hpp"

namespace lockscope {

struct RecordPlan {
  double duration_s = 0;             // 0 = until stopped (or the command exits)
  std::vector<std::string> command;  // run for its life when non-empty
  double interval_s = 0;             // > 0: call the interval callback
};

// Called every interval with the elapsed seconds.
using IntervalFn = std::function<void(double elapsed_s)>;

struct Recording {
  double duration_s = 0;
  int stopped_by_signal = 0;
  std::string command_status;  // "exit 0", "killed by ..."; empty without a command
  Snapshot snapshot;
  std::vector<ProgramStats> stats_before, stats_after;
};

Recording record(BpfSession& session, const RecordPlan& plan, const IntervalFn& tick);

// The run of a recording: metrics, drops (incl. recursion misses), duration.
Run finish_run(const Recording& rec, const Coverage& cov, const Symbolizer& syms);

// Per-program kernel stats (record --stats).
std::string program_stats_table(const std::vector<ProgramStats>& after,
                                const std::vector<ProgramStats>& before, double duration_s);

}  // namespace lockscope
