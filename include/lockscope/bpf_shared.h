/* SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0 */
/*
 * Data structures shared between the BPF programs (bpf/) and user space.
 *
 * Fixed-width fields only; user space checks the sizes with static_assert
 * (src/record/session.cpp). Change a struct here and both sides rebuild.
 */
#ifndef LOCKSCOPE_BPF_SHARED_H
#define LOCKSCOPE_BPF_SHARED_H

#ifdef __cplusplus
#include <cstdint>
using ls_u32 = std::uint32_t;
using ls_u64 = std::uint64_t;
using ls_s64 = std::int64_t;
#else
typedef __u32 ls_u32;
typedef __u64 ls_u64;
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

/* Lock kinds (the lock filter keeps one with each lock address). */
enum ls_lock_kind {
	LS_KIND_NONE = 0,
	LS_KIND_POOL_PERCPU = 1,  /* worker_pool of a CPU (cpu >= 0)          */
	LS_KIND_POOL_UNBOUND = 2, /* unbound worker_pool (cpu < 0)             */
	LS_KIND_POOL_BH = 3,      /* softirq (BH) worker_pool, POOL_BH flag    */
	LS_KIND_RQ = 4,           /* a CPU's run-queue lock, rq->__lock        */
	LS_KIND_MAX = 5,
};

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

/*
 * Global counters: counters[id] (per-CPU array). One list gives each counter
 * its id (LS_C_<ID>, or LS_D_<ID> for losses) and the name user space writes
 * into profiles (src/record/run_builder.cpp): X(ID, "name", "comment").
 */
#define LS_COUNTERS(X)                                                                      \
	X(WAKEUPS, "wakeups", "try_to_wake_up calls")                                        \
	X(WAKEUPS_UNDER_POOL, "wakeups_under_pool_lock", "... while this CPU held a pool->lock") \
	X(RQ_UNDER_POOL, "rq_lock_under_pool_lock", "rq->lock acquisitions under pool->lock")  \
	X(POOL_ACQUIRED, "pool_lock_acquired", "pool->lock acquisitions seen")                 \
	X(POOL_NESTED, "pool_lock_nested", "pool->lock taken with another held")               \
	X(KICK_POOL, "kick_pool", "kick_pool() calls")                                          \
	X(KICK_POOL_UNDER_POOL, "kick_pool_under_pool_lock", "... under a held pool->lock")     \
	X(KICK_POOL_PICK, "kick_pool_pick", "kick_pool_pick() calls (merged/v2)")               \
	X(WAKE_UP_Q, "wake_up_q", "wake_up_q() calls")                                          \
	X(WAKE_UP_Q_UNDER_POOL, "wake_up_q_under_pool_lock", "... under a held pool->lock")     \
	X(WAKE_UP_PROCESS, "wake_up_process", "wake_up_process() calls")                        \
	X(WAKE_UP_PROCESS_UNDER_POOL, "wake_up_process_under_pool_lock", "... under pool->lock") \
	X(PROCESS_ONE_WORK, "process_one_work", "process_one_work() calls")                     \
	X(WQ_QUEUED, "wq_queued", "workqueue_queue_work events")                                \
	X(WQ_ACTIVATED, "wq_activated", "workqueue_activate_work events")                       \
	X(WQ_STARTED, "wq_started", "workqueue_execute_start events")                           \
	X(WQ_ENDED, "wq_ended", "workqueue_execute_end events")                                 \
	X(SCHED_WAKING, "sched_waking", "sched_waking events")                                  \
	X(SCHED_WAKING_KWORKER, "sched_waking_by_kworker", "... issued by a kworker")           \
	X(CONTENTION_POOL, "contended_pool_lock", "contended pool->lock acquisitions")          \
	X(CONTENTION_RQ, "contended_rq_lock", "contended rq->lock acquisitions")                \
	X(POOLS_LEARNED, "pool_locks_learned", "distinct pool locks entered in the filter")     \
	X(RQS_LEARNED, "rq_locks_learned", "distinct rq locks entered in the filter")

/* Losses: a run with any of these non-zero is lossy. */
#define LS_DROPS(X)                                                                         \
	X(FILTER_FULL, "filter_full", "lock could not be entered in the filter")              \
	X(UNALIGNED_LOCK, "unaligned_lock", "lock address not 8-byte aligned")                 \
	X(SITE_MAP_FULL, "site_map_full", "per-site histogram/counter map full")               \
	X(STACK_FAILED, "stack_failed", "bpf_get_stackid() failed")                            \
	X(INFLIGHT_FULL, "inflight_full", "queued-work map full")                              \
	X(CONTENTION_DEPTH, "contention_depth", "contention_begin nested too deep")            \
	X(UNPAIRED, "unpaired_pool_unlock", "pool->lock re-taken: its unlock was missed")

#define LS_COUNTER_ID(id, name, comment) LS_C_##id,
#define LS_DROP_ID(id, name, comment) LS_D_##id,
enum ls_counter {
	LS_COUNTERS(LS_COUNTER_ID)
	LS_DROPS(LS_DROP_ID)
	LS_C_MAX,
};
#undef LS_COUNTER_ID
#undef LS_DROP_ID
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

/* Map capacities: the BPF objects' defaults, and record's option defaults. */
#define LS_DEFAULT_SITE_ENTRIES 256      /* --site-entries: per-site histograms */
#define LS_DEFAULT_COUNT_ENTRIES 1024    /* per-site counters */
#define LS_DEFAULT_STACK_ENTRIES 4096    /* --stack-entries */
#define LS_DEFAULT_INFLIGHT_ENTRIES 16384 /* --inflight-entries: queued work items */
#define LS_DEFAULT_FUNC_ENTRIES 1024     /* work function -> workqueue name */

#define LS_STACK_DEPTH 8   /* enough for the plumbing frames + two real callers */
#define LS_WQ_NAME_LEN 24  /* workqueue name bytes kept (the kernel's WQ_NAME_LEN) */

#endif /* LOCKSCOPE_BPF_SHARED_H */
