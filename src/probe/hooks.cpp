// SPDX-License-Identifier: Apache-2.0
#include "lockscope/probe/hooks.hpp"

#include "lockscope/core/metrics.hpp"

namespace lockscope {

const std::vector<HookInfo>& hook_catalogue() {
  constexpr unsigned F = kFamilyFentry, T = kFamilyTracepoint;
  static const std::vector<HookInfo> hooks = {
      {HookKind::kFentry, "_raw_spin_lock", "", kSrcLockHooks, true, F,
       "pool->lock and rq->lock acquisitions (raw_spin_lock)"},
      {HookKind::kFentry, "_raw_spin_lock_irq", "", kSrcLockHooks, true, F,
       "pool->lock acquisitions (raw_spin_lock_irq)"},
      {HookKind::kFentry, "_raw_spin_lock_irqsave", "", kSrcLockHooks, false, F,
       "acquisitions with raw_spin_lock_irqsave"},
      {HookKind::kFentry, "_raw_spin_lock_nested", "", kSrcLockHooks, false, F,
       "rq->lock acquisitions on lockdep kernels (raw_spin_rq_lock_nested)"},
      {HookKind::kFentry, "_raw_spin_unlock", "", kSrcLockHooks, true, F, "releases"},
      {HookKind::kFentry, "_raw_spin_unlock_irq", "", kSrcLockHooks, true, F,
       "pool->lock releases (raw_spin_unlock_irq)"},
      {HookKind::kFentry, "_raw_spin_unlock_irqrestore", "", kSrcLockHooks, false, F,
       "releases with raw_spin_unlock_irqrestore"},
      {HookKind::kFentry, "try_to_wake_up", "", kSrcWakeupHook, true, F, "task wakeups"},
      {HookKind::kFentry, "wake_up_process", "", 0, false, F,
       "attribution: wakeups from wake_up_process() (merged patch)"},
      {HookKind::kFentry, "wake_up_q", "", 0, false, F,
       "attribution: wakeups from wake_up_q() (posted v2)"},
      {HookKind::kFentry, "kick_pool", "", 0, false, F,
       "attribution (pre-patch wakeup under pool->lock); learns pool locks"},
      {HookKind::kFentry, "kick_pool_pick", "", 0, false, F,
       "attribution (post-patch); learns pool locks"},
      {HookKind::kFentry, "process_one_work", "", 0, false, F, "learns pool locks"},
      {HookKind::kFentry, "rcu_free_pool", "", 0, false, F, "forgets freed unbound pools"},
      {HookKind::kTracepoint, "contention_begin", "lock", kSrcContention, true, F | T,
       "start of a contended wait"},
      {HookKind::kTracepoint, "contention_end", "lock", kSrcContention, true, F | T,
       "end of a contended wait"},
      {HookKind::kTracepoint, "workqueue_queue_work", "workqueue", kSrcWorkqueueTps, true, F | T,
       "queued work items (queue latency); learns pool locks"},
      {HookKind::kTracepoint, "workqueue_activate_work", "workqueue", 0, false, T,
       "activated work items (a counter)"},
      {HookKind::kTracepoint, "workqueue_execute_start", "workqueue", kSrcWorkqueueTps, true, T,
       "start of a work function"},
      {HookKind::kTracepoint, "workqueue_execute_end", "workqueue", kSrcWorkqueueTps, true, T,
       "end of a work function"},
      {HookKind::kTracepoint, "sched_switch", "sched", kSrcRqLocks, true, F | T,
       "learns rq lock addresses (prev->se.cfs_rq->rq)"},
      {HookKind::kTracepoint, "sched_waking", "sched", kSrcSchedWaking, true, T,
       "wakeups issued by kworkers"},
  };
  return hooks;
}

std::string hook_name(const HookInfo& h) {
  return (h.kind == HookKind::kFentry ? "fentry/" : "tracepoint/") + std::string(h.target);
}

}  // namespace lockscope
