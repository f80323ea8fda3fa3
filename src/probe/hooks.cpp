// SPDX-License-Identifier: Apache-2.0
#include "lockscope/probe/hooks.hpp"

#include "lockscope/core/metrics.hpp"

namespace lockscope {

const std::vector<HookInfo>& hook_catalogue() {
  constexpr unsigned F = kFamilyFentry, T = kFamilyTracepoint;
  static const std::vector<HookInfo> hooks = {
      // Holds: from the return of a lock function (held, interrupts off) to
      // the unlock. Waits: from the entry of a lock function to its return.
      {HookKind::kFexit, "_raw_spin_lock", "", kSrcLockHooks, true, F,
       "a hold starts (raw_spin_lock; rq->lock via raw_spin_rq_lock)"},
      {HookKind::kFexit, "_raw_spin_lock_irq", "", kSrcLockHooks, true, F,
       "a hold starts (raw_spin_lock_irq: most pool->lock holds)"},
      {HookKind::kFexit, "_raw_spin_lock_irqsave", "", kSrcLockHooks, false, F,
       "a hold starts (raw_spin_lock_irqsave)"},
      {HookKind::kFexit, "_raw_spin_lock_nested", "", kSrcLockHooks, false, F,
       "a hold starts (lockdep kernels: raw_spin_rq_lock_nested)"},
      {HookKind::kFexit, "_raw_spin_trylock", "", kSrcLockHooks, false, F,
       "a hold starts by trylock (node_activate_pending_pwq on a foreign pool)"},
      {HookKind::kFentry, "_raw_spin_unlock", "", kSrcLockHooks, true, F, "a hold ends"},
      {HookKind::kFentry, "_raw_spin_unlock_irq", "", kSrcLockHooks, true, F,
       "a hold ends (raw_spin_unlock_irq)"},
      {HookKind::kFentry, "_raw_spin_unlock_irqrestore", "", kSrcLockHooks, false, F,
       "a hold ends (raw_spin_unlock_irqrestore)"},
      {HookKind::kFentry, "_raw_spin_lock", "", kSrcLockWaits, true, F,
       "a wait starts when the lock word is busy"},
      {HookKind::kFentry, "_raw_spin_lock_irq", "", kSrcLockWaits, true, F,
       "a wait starts when the lock word is busy"},
      {HookKind::kFentry, "_raw_spin_lock_irqsave", "", kSrcLockWaits, false, F,
       "a wait starts when the lock word is busy"},
      {HookKind::kFentry, "_raw_spin_lock_nested", "", kSrcLockWaits, false, F,
       "a wait starts when the lock word is busy"},
      {HookKind::kFentry, "wake_up_process", "", 0, false, F,
       "attribution: wakeups from wake_up_process() (merged patch)", kSrcLockHooks},
      {HookKind::kFentry, "wake_up_q", "", 0, false, F,
       "attribution: wakeups from wake_up_q() (posted v2)", kSrcLockHooks},
      {HookKind::kFentry, "kick_pool", "", kSrcKickPool, false, F,
       "attribution (pre-patch wakeup under pool->lock); learns pool locks; hold coverage",
       kSrcLockHooks},
      {HookKind::kFentry, "kick_pool_pick", "", kSrcKickPool, false, F,
       "attribution (post-patch); learns pool locks; hold coverage", kSrcLockHooks},
      {HookKind::kFentry, "process_one_work", "", 0, false, F, "learns pool locks", kSrcLockHooks},
      {HookKind::kFentry, "rcu_free_pool", "", 0, false, F, "forgets freed unbound pools",
       kSrcLockHooks},
      {HookKind::kTracepoint, "sched_waking", "sched", kSrcSchedWaking, true, F | T,
       "wakeups that proceed, and the kworkers issuing them"},
      {HookKind::kTracepoint, "sched_switch", "sched", kSrcRqLocks, true, F | T,
       "learns rq lock addresses (prev->se.cfs_rq->rq); closes holds left open", kSrcLockHooks},
      {HookKind::kTracepoint, "workqueue_queue_work", "workqueue", kSrcWorkqueueTps, true, F | T,
       "queued work items (queue latency); learns pool locks"},
      {HookKind::kTracepoint, "workqueue_activate_work", "workqueue", 0, false, T,
       "activated work items (a counter)"},
      {HookKind::kTracepoint, "workqueue_execute_start", "workqueue", kSrcWorkqueueTps, true, T,
       "start of a work function"},
      {HookKind::kTracepoint, "workqueue_execute_end", "workqueue", kSrcWorkqueueTps, true, T,
       "end of a work function"},
      {HookKind::kTracepoint, "contention_begin", "lock", kSrcContention, true, T,
       "start of a contended wait (the tracepoint backend's waits)"},
      {HookKind::kTracepoint, "contention_end", "lock", kSrcContention, true, T,
       "end of a contended wait"},
  };
  return hooks;
}

std::string hook_name(const HookInfo& h) {
  const char* kind = h.kind == HookKind::kFentry  ? "fentry/"
                     : h.kind == HookKind::kFexit ? "fexit/"
                                                  : "tracepoint/";
  return kind + std::string(h.target);
}

}  // namespace lockscope
