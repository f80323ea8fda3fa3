// SPDX-License-Identifier: Apache-2.0
// The scope/repetition plan of `bench` and `record --workload`: from
// command-line words to a workload and its plan, running it, and the
// seed-like table of its results.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lockscope/core/profile.hpp"
#include "lockscope/workloads/scope.hpp"
#include "lockscope/workloads/workload.hpp"

namespace lockscope {

struct PlanStep {
  std::string scope;        // scope to set; empty when the workload sets scopes itself
  uint32_t repetition = 0;  // 0-based
  uint32_t index = 0;       // 0-based position in the plan
  uint32_t total = 0;       // steps in the plan
};

// Interleaves repetitions: cpu smt cache … cpu smt cache … (runs rounds).
std::vector<PlanStep> interleave(const std::vector<std::string>& scopes, uint32_t runs);

struct BenchPlan {
  std::vector<std::string> scopes;  // requested and supported, in order
  uint32_t runs = 1;                // repetitions per scope
  std::string scope_path = kDefaultAffinityScopePath;
};

// Called before a step's workload starts (after its scope is set) and after it
// ended; on_run_end may add lock metrics to the step's runs (one per scope the
// step measured; pty: exactly one). Either may be empty.
using RunStartHook = std::function<void(const PlanStep&)>;
using RunEndHook = std::function<void(const PlanStep&, std::vector<Run>&)>;

// Runs the whole plan, restoring default_affinity_scope on every exit path.
// Returns one Run per (scope, repetition). On a stop request it throws
// Error(kExitInconclusive); `completed` (if given) then holds the runs done.
std::vector<Run> run_plan(Workload& w, const BenchPlan& plan, const RunStartHook& on_run_start,
                          const RunEndHook& on_run_end, std::vector<Run>* completed = nullptr);

// A count option the user did not give (any value they give is checked).
inline constexpr int64_t kUnsetCount = std::numeric_limits<int64_t>::min();

struct WorkloadRequest {
  std::string workload = "pty";   // pty | test_workqueue | test_workqueue=PATH.ko
  std::string scope = "all";      // --scope LIST|all
  int64_t threads = kUnsetCount;  // unset = online CPUs (pty) / module default
  int64_t items = kUnsetCount;    // unset = default (20000 per thread for pty)
  double duration = 0;            // pty: seconds per measurement instead of items
  int64_t runs = 3;               // repetitions per scope
};

struct PreparedWorkload {
  std::string name;  // "pty" or "test_workqueue"
  std::unique_ptr<Workload> workload;
  BenchPlan plan;  // scopes this kernel supports, in order
};

// Validates the request (usage_error, exit 2), checks privileges (exit 4),
// keeps the scopes this kernel accepts (says which it skips on stderr).
PreparedWorkload prepare_workload(const WorkloadRequest& req);

struct ScopeSummary {
  std::string scope;
  uint32_t runs = 0;
  double items_per_sec = 0;                  // median over runs
  std::map<std::string, double> latency_ns;  // median of each percentile over runs
};

// One summary per scope, in first-seen order of `runs`.
std::vector<ScopeSummary> summarize(const std::vector<Run>& runs);
// The table printed by `lockscope bench` (golden-tested).
std::string render_bench_table(const std::vector<ScopeSummary>& rows);

}  // namespace lockscope
