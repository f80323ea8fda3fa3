// SPDX-License-Identifier: Apache-2.0
// The metric catalogue: every metric lockscope can report, in display order,
// with what it means, its unit, the statistics a gate may name, and what it
// needs from the kernel side. The run builder (src/record), every output
// format (src/output), the diff tables and the gate (src/diff) read this one
// table; a new metric is added here first (README, "Contributing").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lockscope {

// Metric names (JSON keys of a run's `metrics`). Users gate on them: keep them.
namespace metric {
inline constexpr const char* kPoolLockHold = "pool_lock_hold_ns";
inline constexpr const char* kWakeupsUnderPoolLock = "wakeups_under_pool_lock";
inline constexpr const char* kRqLockNested = "rq_lock_nested_under_pool_lock";
inline constexpr const char* kPoolLockWait = "pool_lock_wait_ns";
inline constexpr const char* kRqLockWait = "rq_lock_wait_ns";
inline constexpr const char* kWqQueueLatency = "wq_queue_latency_ns";
inline constexpr const char* kWqExec = "wq_exec_ns";
inline constexpr const char* kKworkerWakeups = "kworker_wakeups";
inline constexpr const char* kKickUnderPoolLock = "kick_pool_under_pool_lock";
}  // namespace metric

enum class MetricKind {
  kTime,   // a histogram of nanoseconds (count = events timed)
  kCount,  // an event count, with a share when it has a total
};

// What a metric needs from the kernel side. The load plan (src/record) knows
// which programs provide each source; a metric is available when every
// source of one of its alternatives is.
enum MetricSource : unsigned {
  kSrcLockHooks = 1u << 0,     // holds: fexit of the lock functions, fentry of the unlocks
  kSrcLockWaits = 1u << 1,     // waits: fentry of the lock functions
  kSrcRqLocks = 1u << 2,       // rq lock addresses learned (sched_switch)
  kSrcContention = 1u << 3,    // lock:contention_begin/end, where they can fire
  kSrcWorkqueueTps = 1u << 4,  // workqueue_queue_work/execute_start/execute_end
  kSrcSchedWaking = 1u << 5,   // sched:sched_waking: wakeups that proceed
  kSrcKickPool = 1u << 6,      // kick_pool() or kick_pool_pick() (either)
};

struct MetricInfo {
  const char* name;
  const char* description;  // one line, as `report` shows it
  MetricKind kind;
  const char* share_of;  // metrics with a total: what `total` counts ("wakeups"); else nullptr
  // Alternatives, each a set of MetricSource bits (0 ends the list).
  unsigned needs[2];
  const char* needs_text;  // what it needs, for "unavailable: ..." reasons
};

// Every known metric, in display order.
const std::vector<MetricInfo>& metric_catalogue();
// nullptr for names the catalogue does not know (profiles may hold others).
const MetricInfo* find_metric(const std::string& name);
// The catalogue's one-line description, empty for unknown names.
std::string metric_description(const std::string& name);
// Display order: known metrics in catalogue order, then the others by name.
std::vector<std::string> metric_order(const std::vector<std::string>& names);
// Statistics a gate or a table may take of a metric of this kind:
// time: p50 p90 p95 p99 mean min max count; count: count, and share when it
// has a total.
std::vector<std::string> metric_statistics(const MetricInfo& m);
// True when `sources` (MetricSource bits) satisfy one of m's alternatives.
bool metric_satisfied(const MetricInfo& m, unsigned sources);

}  // namespace lockscope
