// SPDX-License-Identifier: GPL-2.0-only
/*
 * The overhead floor (`lockscope record --floor`): one empty program for
 * every hook lockscope.bpf.c can attach, under the same section name. The
 * session loads exactly the sections the load plan picks for the options
 * given, so the floor always follows the hook set under test: what the
 * kernel pays for the trampolines and tracepoint calls alone, before any
 * work of lockscope's. scripts/overhead.sh divides lockscope's throughput
 * and per-program ns/run by the floor's (docs/overhead.md).
 *
 * An fexit program is not an fentry program with another name: its
 * trampoline calls the traced function and keeps its return value, so the
 * floor has both kinds where lockscope has both.
 */
#include "kernel_types.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

#define LS_EMPTY(sec, name)                                                      \
	SEC(sec) int BPF_PROG(name)                                              \
	{                                                                        \
		return 0;                                                        \
	}

/* The lock functions: entry (a wait starts) and exit (a hold starts). */
LS_EMPTY("fentry/_raw_spin_lock", floor_lock_entry)
LS_EMPTY("fentry/_raw_spin_lock_irq", floor_lock_irq_entry)
LS_EMPTY("fentry/_raw_spin_lock_irqsave", floor_lock_irqsave_entry)
LS_EMPTY("fentry/_raw_spin_lock_nested", floor_lock_nested_entry)
LS_EMPTY("fexit/_raw_spin_lock", floor_lock)
LS_EMPTY("fexit/_raw_spin_lock_irq", floor_lock_irq)
LS_EMPTY("fexit/_raw_spin_lock_irqsave", floor_lock_irqsave)
LS_EMPTY("fexit/_raw_spin_lock_nested", floor_lock_nested)
LS_EMPTY("fexit/_raw_spin_trylock", floor_trylock)
/* The unlocks: a hold ends. */
LS_EMPTY("fentry/_raw_spin_unlock", floor_unlock)
LS_EMPTY("fentry/_raw_spin_unlock_irq", floor_unlock_irq)
LS_EMPTY("fentry/_raw_spin_unlock_irqrestore", floor_unlock_irqrestore)
/* The workqueue and wakeup functions. */
LS_EMPTY("fentry/wake_up_process", floor_wake_up_process)
LS_EMPTY("fentry/wake_up_q", floor_wake_up_q)
LS_EMPTY("fentry/kick_pool", floor_kick_pool)
LS_EMPTY("fentry/kick_pool_pick", floor_kick_pool_pick)
LS_EMPTY("fentry/process_one_work", floor_process_one_work)
LS_EMPTY("fentry/rcu_free_pool", floor_rcu_free_pool)

/* The tracepoints, in both attachments the load plan may pick. */
#define LS_EMPTY_TP(tp)                                                          \
	LS_EMPTY("tp_btf/" #tp, floor_btf_##tp)                                  \
	LS_EMPTY("raw_tp/" #tp, floor_raw_##tp)

LS_EMPTY_TP(sched_waking)
LS_EMPTY_TP(sched_switch)
LS_EMPTY_TP(workqueue_queue_work)
LS_EMPTY_TP(workqueue_activate_work)
LS_EMPTY_TP(workqueue_execute_start)
LS_EMPTY_TP(workqueue_execute_end)
LS_EMPTY_TP(contention_begin)
LS_EMPTY_TP(contention_end)
