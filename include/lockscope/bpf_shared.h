/* SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0 */
/*
 * Data structures shared between the BPF programs (bpf/) and user space.
 *
 * Fixed-width fields only; user space checks the sizes with static_assert
 * (src/backends/bpf_layout.cpp). Change a struct here and both sides rebuild.
 */
#ifndef LOCKSCOPE_BPF_SHARED_H
#define LOCKSCOPE_BPF_SHARED_H

#ifdef __cplusplus
#include <cstdint>
using ls_u32 = std::uint32_t;
using ls_u64 = std::uint64_t;
using ls_s32 = std::int32_t;
using ls_s64 = std::int64_t;
#else
typedef __u32 ls_u32;
typedef __u64 ls_u64;
typedef __s32 ls_s32;
typedef __s64 ls_s64;
#endif

/*
 * Histogram contract (log-linear, HdrHistogram-like):
 *   v <  2^SUB_BITS          -> bucket v (exact)
 *   v >= 2^SUB_BITS, msb = m -> bucket (m - SUB_BITS) * SUB + (v >> (m - SUB_BITS))
 * Every power of two [2^m, 2^(m+1)) is split into SUB equal buckets, so a
 * bucket's width is at most 1/SUB of its lower bound (~3.1% with SUB = 32).
 * Values with msb > MAX_MSB (>= 2^40 ns, ~18 minutes) clamp to the last
 * bucket and are counted in `clamped`. count/sum/min/max are exact.
 */
#define LS_HIST_SUB_BITS 5
#define LS_HIST_SUB (1u << LS_HIST_SUB_BITS)
#define LS_HIST_MAX_MSB 39
#define LS_HIST_BUCKETS ((LS_HIST_MAX_MSB - LS_HIST_SUB_BITS + 2) * LS_HIST_SUB)

struct ls_hist {
	ls_u64 count;
	ls_u64 sum;
	ls_u64 min;
	ls_u64 max;
	ls_u64 clamped;
	ls_u64 buckets[LS_HIST_BUCKETS];
};

/* Lock kinds, encoded in the low bits of a lock address in the lock filter. */
enum ls_lock_kind {
	LS_KIND_NONE = 0,
	LS_KIND_POOL_PERCPU = 1,  /* worker_pool of a CPU (cpu >= 0)          */
	LS_KIND_POOL_UNBOUND = 2, /* unbound worker_pool (cpu < 0)             */
	LS_KIND_POOL_BH = 3,      /* softirq (BH) worker_pool, POOL_BH flag    */
	LS_KIND_RQ = 4,           /* a CPU's run-queue lock, rq->__lock        */
	LS_KIND_MAX = 5,
};
#define LS_KIND_MASK 7ull

/* Global histograms: hists[metric * LS_KIND_MAX + kind] (per-CPU array). */
enum ls_metric {
	LS_M_POOL_HOLD = 0,       /* pool_lock_hold_ns                          */
	LS_M_RQ_NESTED = 1,       /* rq_lock_nested_under_pool_lock (wait+hold) */
	LS_M_POOL_WAIT = 2,       /* pool_lock_wait_ns (contended)              */
	LS_M_RQ_WAIT = 3,         /* rq_lock_wait_ns (contended)                */
	LS_M_WQ_QUEUE_LAT = 4,    /* wq_queue_latency_ns: queue -> execute_start */
	LS_M_WQ_EXEC = 5,         /* wq_exec_ns: execute_start -> execute_end    */
	LS_M_MAX = 6,
};
#define LS_NR_HISTS (LS_M_MAX * LS_KIND_MAX)

/* Per-site histograms (per-CPU hash): pool hold per acquiring site, queue
 * latency and execution time per work function. */
struct ls_site_key {
	ls_u32 metric; /* enum ls_metric */
	ls_u32 kind;   /* enum ls_lock_kind, 0 where it does not apply */
	ls_u64 site;   /* acquirer address or stack id (pool hold), function (wq metrics) */
};

/* Per-site counters (per-CPU hash). */
enum ls_site_counter {
	LS_SC_WAKEUP_UNDER_POOL = 0, /* try_to_wake_up under pool->lock */
	LS_SC_RQ_UNDER_POOL = 1,     /* rq lock taken under pool->lock */
	LS_SC_KWORKER_WAKING = 2,    /* site = waker's current work function */
	LS_SC_MAX = 3,
};
struct ls_count_key {
	ls_u32 counter; /* enum ls_site_counter */
	ls_u32 context; /* enum ls_context: workqueue function seen in the pool->lock hold */
	ls_u64 site;    /* pool->lock acquirer's address, a stack id (--stacks), or a work function */
};

/* The first workqueue function called inside a pool->lock hold: with the
 * acquirer's address it names where a wakeup or rq acquisition came from
 * ("kick_pool <- __queue_work") without walking the stack. */
enum ls_context {
	LS_CTX_NONE = 0,
	LS_CTX_KICK_POOL = 1,
	LS_CTX_KICK_POOL_PICK = 2,
	LS_CTX_WAKE_UP_Q = 3,
	LS_CTX_WAKE_UP_PROCESS = 4,
};

/* Global counters: counters[id] (per-CPU array). */
enum ls_counter {
	LS_C_WAKEUPS = 0,              /* try_to_wake_up calls                  */
	LS_C_WAKEUPS_UNDER_POOL,       /* ... while this CPU held a pool->lock  */
	LS_C_RQ_UNDER_POOL,            /* rq->lock acquisitions under pool->lock */
	LS_C_POOL_ACQUIRED,            /* pool->lock acquisitions seen           */
	LS_C_POOL_NESTED,              /* pool->lock taken with another held     */
	LS_C_KICK_POOL,                /* kick_pool() calls                      */
	LS_C_KICK_POOL_UNDER_POOL,
	LS_C_KICK_POOL_PICK,           /* kick_pool_pick() calls (merged/v2)     */
	LS_C_WAKE_UP_Q,                /* wake_up_q() calls                      */
	LS_C_WAKE_UP_Q_UNDER_POOL,
	LS_C_WAKE_UP_PROCESS,          /* wake_up_process() calls                */
	LS_C_WAKE_UP_PROCESS_UNDER_POOL,
	LS_C_PROCESS_ONE_WORK,         /* process_one_work() calls               */
	LS_C_WQ_QUEUED,                /* workqueue_queue_work events            */
	LS_C_WQ_ACTIVATED,             /* workqueue_activate_work events         */
	LS_C_WQ_STARTED,               /* workqueue_execute_start events         */
	LS_C_WQ_ENDED,                 /* workqueue_execute_end events           */
	LS_C_SCHED_WAKING,             /* sched_waking events                    */
	LS_C_SCHED_WAKING_KWORKER,     /* ... issued by a kworker                */
	LS_C_CONTENTION_POOL,          /* contended pool->lock acquisitions      */
	LS_C_CONTENTION_RQ,            /* contended rq->lock acquisitions        */
	LS_C_POOLS_LEARNED,            /* distinct pool locks entered in filter  */
	LS_C_RQS_LEARNED,              /* distinct rq locks entered in filter    */
	/* losses: a profile with any of these non-zero is marked lossy */
	LS_D_FILTER_FULL,              /* lock could not be entered in filter    */
	LS_D_UNALIGNED_LOCK,           /* lock address not 8-byte aligned        */
	LS_D_SITE_MAP_FULL,            /* per-site histogram/counter map full    */
	LS_D_STACK_FAILED,             /* bpf_get_stackid() failed               */
	LS_D_INFLIGHT_FULL,            /* queued-work map full                   */
	LS_D_CONTENTION_DEPTH,         /* contention_begin nested too deep       */
	LS_D_UNPAIRED,                 /* pool->lock re-taken: its unlock was missed */
	LS_C_MAX,
};
#define LS_FIRST_DROP LS_D_FILTER_FULL

/* Per-CPU state of the hooks (a one-entry per-CPU array). User space reads
 * only `events`; everything else is the programs' own bookkeeping. */
#define LS_CONT_DEPTH 4
struct ls_cpu_state {
	ls_u64 pool_lock;      /* pool->lock this CPU is taking/holding, 0 if none */
	ls_u64 pool_acq_ns;    /* when it was acquired (corrected at contention_end) */
	ls_s64 pool_site;      /* acquirer's address (or stack id), < 0 if none */
	ls_u64 pool_kind;
	ls_u64 pool_ctx;       /* enum ls_context seen inside the hold */
	ls_u64 rq_lock;        /* rq lock taken while pool_lock is held */
	ls_u64 rq_start_ns;
	ls_u64 rq_self;        /* this CPU's rq lock, learned from sched_switch */
	ls_u64 exec_start_ns;  /* workqueue_execute_start on this CPU */
	ls_u64 exec_func;
	ls_u64 cont_depth;
	ls_u64 cont_lock[LS_CONT_DEPTH];
	ls_u64 cont_ns[LS_CONT_DEPTH];
	ls_u64 scratch;        /* see addr_of() in lockscope.bpf.c */
	ls_u64 events;         /* hook and tracepoint runs: the denominator of losses */
};

/* The lock filter: a direct-mapped table of lock addresses with the kind in
 * the low bits (addr | kind). Two adjacent slots per hash (2-way). */
#define LS_FILTER_SLOTS 8192
#define LS_STACK_DEPTH 8 /* enough for the plumbing frames + two real callers */

#endif /* LOCKSCOPE_BPF_SHARED_H */
