/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * CO-RE accessors: every kernel field whose name, type or existence differs
 * between the kernels lockscope runs on is read here, in one small function
 * each, with the kernel version (and change) that made the difference. The
 * next kernel change has an obvious home; programs never test versions.
 */
#ifndef LOCKSCOPE_CORE_FIXES_BPF_H
#define LOCKSCOPE_CORE_FIXES_BPF_H

#include "kernel_types.h"
#include <bpf/bpf_core_read.h>
#include "lockscope/bpf_shared.h"

/*
 * A field through a kernel pointer: a BTF pointer walk (a plain load the
 * verifier checks) in fentry, fexit and tp_btf programs, whose arguments are
 * BTF-typed; a probe read in raw_tp programs, whose arguments are numbers.
 * `raw` is a compile-time constant in every caller, so each program holds
 * one of the two. BTF walks need no bpf_probe_read_kernel(), which
 * lockdown=confidentiality withholds.
 */
#define LS_READ(raw, p, field) ((raw) ? BPF_CORE_READ(p, field) : (p)->field)

/*
 * The kind of a worker_pool. BH pools arrived in v6.9 ("workqueue: Implement
 * BH workqueues to eventually replace tasklets"), flagged POOL_BH; before
 * that the enum value does not exist and no pool is a BH pool.
 */
static __always_inline __u32 pool_kind(struct worker_pool *pool, bool raw)
{
	unsigned int flags = LS_READ(raw, pool, flags);

	if (bpf_core_enum_value_exists(enum worker_pool_flags, POOL_BH) &&
	    (flags & bpf_core_enum_value(enum worker_pool_flags, POOL_BH)))
		return LS_KIND_POOL_BH;
	return LS_READ(raw, pool, cpu) >= 0 ? LS_KIND_POOL_PERCPU : LS_KIND_POOL_UNBOUND;
}

/*
 * Address of a run queue's lock: rq->__lock since v5.14 ("sched: Wrap
 * rq::lock into raw_spin_rq_lock accessors"), rq->lock before.
 */
static __always_inline __u64 rq_lock_addr(__u64 rq)
{
	if (bpf_core_field_exists(struct rq, __lock))
		return rq + bpf_core_field_offset(struct rq, __lock);
	return rq + bpf_core_field_offset(struct rq___old, lock);
}

/*
 * The run queue a task that is switching out ran on, without the per-CPU
 * `runqueues` symbol (a __ksym that needs CONFIG_KALLSYMS_ALL): the task's
 * se.cfs_rq->rq. cfs_rq->rq exists only with CONFIG_FAIR_GROUP_SCHED; without
 * it this returns 0 and no rq lock is learned.
 */
static __always_inline struct rq *rq_of_task(struct task_struct *p, bool raw)
{
	struct cfs_rq *cfs;

	if (!bpf_core_field_exists(struct cfs_rq, rq))
		return 0;
	cfs = raw ? BPF_CORE_READ(p, se.cfs_rq) : p->se.cfs_rq;
	if (!cfs)
		return 0;
	return LS_READ(raw, cfs, rq);
}

/* Whether a raw spinlock's word says it is held, pending or queued: an
 * acquisition that finds it so has to wait (qspinlock; a BTF walk). */
static __always_inline bool lock_busy(raw_spinlock_t *lock)
{
	return lock->raw_lock.val.counter != 0;
}

/*
 * The work function a kworker is running. Since v5.19 ("kthread: Generalize
 * pf_io_worker so it can point to struct kthread") task->worker_private of a
 * kthread points to its struct kthread, whose ->data is what the thread was
 * created with: the struct worker, for a kworker. Both are `void *` in the
 * kernel, so they are read with probe reads (no BTF type to walk); where
 * those are withheld (lockdown=confidentiality) or on older kernels this
 * gives 0.
 */
static __always_inline __u64 kworker_current_func(struct task_struct *t, bool can_read)
{
	struct kthread *kt;
	struct worker *worker;

	if (!can_read || !bpf_core_field_exists(t->worker_private))
		return 0;
	kt = BPF_CORE_READ(t, worker_private);
	if (!kt)
		return 0;
	worker = BPF_CORE_READ(kt, data);
	if (!worker)
		return 0;
	return (__u64)BPF_CORE_READ(worker, current_func);
}

#endif /* LOCKSCOPE_CORE_FIXES_BPF_H */
