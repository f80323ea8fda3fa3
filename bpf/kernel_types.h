/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The few kernel types lockscope's BPF programs touch, declared by hand for
 * CO-RE. Only the fields used are listed; libbpf relocates every access
 * against the running kernel's BTF at load time (preserve_access_index), so
 * field order and offsets here do not matter. Nothing is generated from the
 * build host's kernel: the build is the same on every machine.
 */
#ifndef LOCKSCOPE_KERNEL_TYPES_H
#define LOCKSCOPE_KERNEL_TYPES_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <stdbool.h>

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

typedef struct {
	int counter;
} atomic_t;

typedef struct {
	__s64 counter;
} atomic64_t;

typedef atomic64_t atomic_long_t;

/* The lock word: non-zero while the lock is held, pending or queued. */
typedef struct qspinlock {
	atomic_t val;
} arch_spinlock_t;

typedef struct raw_spinlock {
	arch_spinlock_t raw_lock;
} raw_spinlock_t;

struct rq;

struct cfs_rq {
	struct rq *rq; /* CONFIG_FAIR_GROUP_SCHED only: checked with bpf_core_field_exists() */
};

struct sched_entity {
	struct cfs_rq *cfs_rq;
};

struct task_struct {
	unsigned int flags;
	struct sched_entity se;
	void *worker_private; /* struct kthread * of a kthread (5.19+) */
};

/* A kthread's private data: for a kworker, its struct worker. */
struct kthread {
	void *data;
};

/* rq->__lock since v5.14, rq->lock before: see rq_lock_addr() in core_fixes.bpf.h. */
struct rq {
	raw_spinlock_t __lock;
};
struct rq___old {
	raw_spinlock_t lock;
};

struct rcu_head {
	void *next;
};

struct worker_pool {
	raw_spinlock_t lock;
	int cpu;
	unsigned int flags;
	struct rcu_head rcu;
};

struct workqueue_struct {
	char name[24]; /* WQ_NAME_LEN; CO-RE reads it as a string, any length works */
};

struct pool_workqueue {
	struct worker_pool *pool;
	struct workqueue_struct *wq;
};

struct work_struct;
typedef void (*work_func_t)(struct work_struct *work);

/* data's bit 0 is WORK_STRUCT_PENDING: set by queue_work(), cleared when a
 * worker takes the item off its list (stable since the workqueue's rework
 * in v2.6.20). */
struct work_struct {
	atomic_long_t data;
	work_func_t func;
};

struct worker {
	struct worker_pool *pool;
	work_func_t current_func;
};

/* Named since v6.9, when BH pools arrived (POOL_BH = 1 << 0). */
enum worker_pool_flags {
	POOL_BH = 1,
};

#pragma clang attribute pop

#define PF_WQ_WORKER 0x00000020

#endif /* LOCKSCOPE_KERNEL_TYPES_H */
