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
 * The kind of a worker_pool. BH pools arrived in v6.9 ("workqueue: Implement
 * BH workqueues to eventually replace tasklets"), flagged POOL_BH; before
 * that the enum value does not exist and no pool is a BH pool.
 */
static __always_inline __u32 pool_kind(struct worker_pool *pool)
{
	unsigned int flags = BPF_CORE_READ(pool, flags);

	if (bpf_core_enum_value_exists(enum worker_pool_flags, POOL_BH) &&
	    (flags & bpf_core_enum_value(enum worker_pool_flags, POOL_BH)))
		return LS_KIND_POOL_BH;
	return BPF_CORE_READ(pool, cpu) >= 0 ? LS_KIND_POOL_PERCPU : LS_KIND_POOL_UNBOUND;
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
static __always_inline __u64 rq_of_task(struct task_struct *p)
{
	struct cfs_rq *cfs;

	if (!bpf_core_field_exists(struct cfs_rq, rq))
		return 0;
	cfs = BPF_CORE_READ(p, se.cfs_rq);
	if (!cfs)
		return 0;
	return (__u64)BPF_CORE_READ(cfs, rq);
}

/*
 * The work function a kworker is running. task->worker_private (v5.19,
 * "kthread: Generalize pf_io_worker so it can point to struct kthread")
 * points to the worker; older kernels keep it elsewhere and give 0 here.
 */
static __always_inline __u64 kworker_current_func(struct task_struct *t)
{
	struct worker *worker;

	if (!bpf_core_field_exists(t->worker_private))
		return 0;
	worker = BPF_CORE_READ(t, worker_private);
	if (!worker)
		return 0;
	return (__u64)BPF_CORE_READ(worker, current_func);
}

#endif /* LOCKSCOPE_CORE_FIXES_BPF_H */
