// SPDX-License-Identifier: Apache-2.0
#include "lockscope/core/metrics.hpp"

#include <algorithm>

namespace lockscope {

const std::vector<MetricInfo>& metric_catalogue() {
  static const std::vector<MetricInfo> catalogue = {
      {metric::kPoolLockHold,
       "workqueue pool->lock hold time",
       MetricKind::kTime,
       nullptr,
       {kSrcLockHooks, 0},
       "needs fexit on the spinlock functions and fentry on the unlocks"},
      {metric::kWakeupsUnderPoolLock,
       "task wakeups issued while a pool->lock is held",
       MetricKind::kCount,
       "wakeups",
       {kSrcLockHooks | kSrcSchedWaking, 0},
       "needs the spinlock function hooks and the sched:sched_waking tracepoint"},
      {metric::kRqLockNested,
       "run-queue lock acquisitions nested under a pool->lock",
       MetricKind::kTime,
       nullptr,
       {kSrcLockHooks | kSrcRqLocks, 0},
       "needs the spinlock function hooks and rq lock addresses (learned from sched_switch)"},
      {metric::kPoolLockWait,
       "wait to acquire a pool->lock that was busy",
       MetricKind::kTime,
       nullptr,
       {kSrcLockHooks | kSrcLockWaits, kSrcContention},
       "needs fentry and fexit on the spinlock functions, or lock:contention_begin/end where "
       "they fire"},
      {metric::kRqLockWait,
       "wait to acquire a run-queue lock that was busy",
       MetricKind::kTime,
       nullptr,
       {kSrcLockHooks | kSrcLockWaits | kSrcRqLocks, kSrcContention | kSrcRqLocks},
       "needs the spinlock function hooks (or lock:contention_begin/end where they fire) and "
       "rq lock addresses (learned from sched_switch)"},
      {metric::kKickUnderPoolLock,
       "kick_pool()/kick_pool_pick() calls seen under a held pool->lock (all should be)",
       MetricKind::kCount,
       "calls",
       {kSrcLockHooks | kSrcKickPool, 0},
       "needs the spinlock function hooks and fentry on kick_pool() or kick_pool_pick()"},
      {metric::kWqQueueLatency,
       "work item latency from queue_work to execute_start",
       MetricKind::kTime,
       nullptr,
       {kSrcWorkqueueTps, 0},
       "needs the workqueue_queue_work/execute_start/execute_end tracepoints (--backend "
       "tracepoint or both)"},
      {metric::kWqExec,
       "work function execution time",
       MetricKind::kTime,
       nullptr,
       {kSrcWorkqueueTps, 0},
       "needs the workqueue_queue_work/execute_start/execute_end tracepoints (--backend "
       "tracepoint or both)"},
      {metric::kKworkerWakeups,
       "task wakeups issued by kworkers, by the waker's work function",
       MetricKind::kCount,
       "wakeups",
       {kSrcSchedWaking, 0},
       "needs the sched:sched_waking tracepoint"},
  };
  return catalogue;
}

const MetricInfo* find_metric(const std::string& name) {
  for (const auto& m : metric_catalogue())
    if (name == m.name) return &m;
  return nullptr;
}

std::string metric_description(const std::string& name) {
  const MetricInfo* m = find_metric(name);
  return m ? m->description : "";
}

std::vector<std::string> metric_order(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (const auto& m : metric_catalogue())
    if (std::find(names.begin(), names.end(), m.name) != names.end()) out.emplace_back(m.name);
  std::vector<std::string> rest;
  for (const auto& n : names)
    if (!find_metric(n) && std::find(rest.begin(), rest.end(), n) == rest.end()) rest.push_back(n);
  std::sort(rest.begin(), rest.end());
  out.insert(out.end(), rest.begin(), rest.end());
  return out;
}

std::vector<std::string> metric_statistics(const MetricInfo& m) {
  if (m.kind == MetricKind::kTime)
    return {"p50", "p90", "p95", "p99", "mean", "min", "max", "count"};
  if (m.share_of) return {"count", "share"};
  return {"count"};
}

bool metric_satisfied(const MetricInfo& m, unsigned sources) {
  for (unsigned alt : m.needs)
    if (alt != 0 && (alt & sources) == alt) return true;
  return false;
}

}  // namespace lockscope
