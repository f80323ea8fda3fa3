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
	LS_M_RQ_NESTED = 1,       /* rq_lock_nested_under_pool_lock (hold)      */
	LS_M_POOL_WAIT = 2,       /* pool_lock_wait_ns (acquisitions that waited) */
	LS_M_RQ_WAIT = 3,         /* rq_lock_wait_ns (acquisitions that waited)   */
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
	LS_SC_WAKEUP_UNDER_POOL = 0, /* a wakeup under pool->lock */
	LS_SC_RQ_UNDER_POOL = 1,     /* rq lock taken under pool->lock */
	LS_SC_KWORKER_WAKING = 2,    /* site = waker's current work function */
	LS_SC_MAX,
};
struct ls_count_key {
	ls_u32 counter; /* enum ls_site_counter */
	ls_u32 context; /* enum ls_context: workqueue function seen in the pool->lock hold */
	ls_u64 site;    /* pool->lock acquirer's address, a stack id (--stacks), or a work function */
};

/* A CPU's latest per-site counter of one enum ls_site_counter: its events
 * are counted here while they keep the same site, and added to site_counts
 * when another site's event takes the slot (site_count_cached()). */
struct ls_site_slot {
	ls_u64 context; /* enum ls_context */
	ls_u64 site;
	ls_u64 n;       /* events not yet in site_counts; 0: the slot is empty */
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
 * into profiles (src/record/run_builder.cpp): X(ID, "name", "comment"); a
 * loss also names the metrics it takes events from ("*": every metric), so
 * that each metric's loss is counted against its own events.
 */
#define LS_COUNTERS(X)                                                                       \
	X(WAKEUPS, "wakeups", "task wakeups (sched_waking: the wakeup proceeds)")            \
	X(WAKEUPS_UNDER_POOL, "wakeups_under_pool_lock", "... while this CPU held a pool->lock") \
	X(RQ_UNDER_POOL, "rq_lock_under_pool_lock", "rq->lock acquisitions under pool->lock")   \
	X(POOL_ACQUIRED, "pool_lock_acquired", "pool->lock holds started")                      \
	X(POOL_TRYLOCKED, "pool_lock_trylocked", "... of them by a successful trylock")        \
	X(POOL_WAITED, "pool_lock_waited", "pool->lock acquisitions that found it busy")       \
	X(RQ_WAITED, "rq_lock_waited", "rq->lock acquisitions that found it busy")             \
	X(HOLD_SELF_NS, "hold_probe_effect_ns", "lockscope's own ns inside holds (removed)")   \
	X(HOLD_SELF_RUNS, "hold_probe_effect_runs", "lockscope program runs inside holds")     \
	X(KICK_POOL, "kick_pool", "kick_pool() calls")                                           \
	X(KICK_POOL_UNDER_POOL, "kick_pool_under_pool_lock", "... under a held pool->lock")      \
	X(KICK_POOL_PICK, "kick_pool_pick", "kick_pool_pick() calls (merged/v2)")                \
	X(KICK_POOL_PICK_UNDER_POOL, "kick_pool_pick_under_pool_lock", "... under pool->lock")   \
	X(WAKE_UP_Q, "wake_up_q", "wake_up_q() calls")                                           \
	X(WAKE_UP_Q_UNDER_POOL, "wake_up_q_under_pool_lock", "... under a held pool->lock")      \
	X(WAKE_UP_PROCESS, "wake_up_process", "wake_up_process() calls")                         \
	X(WAKE_UP_PROCESS_UNDER_POOL, "wake_up_process_under_pool_lock", "... under pool->lock") \
	X(PROCESS_ONE_WORK, "process_one_work", "process_one_work() calls")                      \
	X(WQ_QUEUED, "wq_queued", "workqueue_queue_work events")                                 \
	X(WQ_ACTIVATED, "wq_activated", "workqueue_activate_work events")                        \
	X(WQ_STARTED, "wq_started", "workqueue_execute_start events")                            \
	X(WQ_ENDED, "wq_ended", "workqueue_execute_end events")                                  \
	X(WQ_REQUEUED, "wq_requeued_before_start", "... queued again before execute_start")     \
	X(SCHED_WAKING_KWORKER, "sched_waking_by_kworker", "wakeups issued by a kworker")        \
	X(CONTENTION_POOL, "contention_tp_pool_lock", "lock:contention_end for a pool->lock")    \
	X(CONTENTION_RQ, "contention_tp_rq_lock", "lock:contention_end for an rq->lock")         \
	X(POOLS_LEARNED, "pool_locks_learned", "distinct pool locks entered in the filter")      \
	X(RQS_LEARNED, "rq_locks_learned", "distinct rq locks entered in the filter")

#define LS_LOCK_METRICS \
	"pool_lock_hold_ns wakeups_under_pool_lock rq_lock_nested_under_pool_lock " \
	"pool_lock_wait_ns rq_lock_wait_ns kick_pool_under_pool_lock"
#define LS_HOLD_METRICS \
	"pool_lock_hold_ns wakeups_under_pool_lock rq_lock_nested_under_pool_lock " \
	"kick_pool_under_pool_lock"

/* Losses: a metric whose events were lost beyond --max-loss is lossy. */
#define LS_DROPS(X)                                                                          \
	X(FILTER_FULL, "filter_full", "lock could not be entered in the filter", LS_LOCK_METRICS) \
	X(UNALIGNED_LOCK, "unaligned_lock", "lock address not 8-byte aligned", LS_LOCK_METRICS) \
	X(SITE_MAP_FULL, "site_map_full", "per-site histogram/counter map full", "*")           \
	X(STACK_FAILED, "stack_failed", "bpf_get_stackid() failed", "*")                        \
	X(INFLIGHT_FULL, "inflight_full", "queued-work map full", "wq_queue_latency_ns")        \
	X(EXEC_FULL, "exec_map_full", "running-work map full", "wq_exec_ns")                    \
	X(CONTENTION_DEPTH, "contention_depth", "contention_begin nested too deep",             \
	  "pool_lock_wait_ns rq_lock_wait_ns")                                                  \
	X(UNPAIRED, "unpaired_pool_unlock", "pool->lock re-taken: its unlock was missed",       \
	  LS_HOLD_METRICS)                                                                      \
	X(POOL_NESTED, "pool_lock_nested", "a pool->lock taken while another was held",         \
	  LS_HOLD_METRICS)                                                                      \
	X(HELD_AT_SWITCH, "held_at_sched_switch", "a hold still open at a context switch",      \
	  LS_HOLD_METRICS)

#define LS_COUNTER_ID(id, name, comment) LS_C_##id,
#define LS_DROP_ID(id, name, comment, affects) LS_D_##id,
enum ls_counter {
	LS_COUNTERS(LS_COUNTER_ID)
	LS_DROPS(LS_DROP_ID)
	LS_C_MAX,
};
#undef LS_COUNTER_ID
#undef LS_DROP_ID
#define LS_FIRST_DROP LS_D_FILTER_FULL

/*
 * Program runs by class (each program counts its own runs here; the kernel
 * counts the runs it skipped, recursion misses, per program): the
 * denominator of each metric's recursion loss. User space maps a program to
 * its class by its section (src/record/run_builder.cpp, run_class()).
 */
enum ls_run_class {
	LS_RUN_LOCK_ENTRY = 0, /* fentry of the lock functions */
	LS_RUN_LOCKED = 1,     /* fexit of the lock functions */
	LS_RUN_UNLOCK = 2,     /* fentry of the unlock functions */
	LS_RUN_FUNCTION = 3,   /* fentry of the workqueue functions */
	LS_RUN_WAKING = 4,     /* sched_waking */
	LS_RUN_SWITCH = 5,     /* sched_switch */
	LS_RUN_WORKQUEUE = 6,  /* workqueue_* tracepoints */
	LS_RUN_CONTENTION = 7, /* lock:contention_* */
	LS_RUN_MAX = 8,
};

/*
 * Per-CPU state of the hooks (a one-entry per-CPU array). User space reads
 * `runs` and zeroes the whole entry between runs; everything else is the
 * programs' own bookkeeping.
 */
#define LS_CONT_DEPTH 4
struct ls_cpu_state {
	ls_u64 pool_lock;     /* pool->lock this CPU holds, 0 if none */
	ls_u64 pool_acq_ns;   /* when it was acquired (end of the lock function) */
	ls_s64 pool_site;     /* acquirer's address (or stack id), < 0 if none */
	ls_u64 pool_kind;
	ls_u64 pool_ctx;      /* enum ls_context seen inside the hold */
	ls_u64 self_ns;       /* lockscope's own time inside the hold so far */
	ls_u64 self_runs;     /* lockscope program runs inside the hold so far */
	ls_u64 depth;         /* lockscope programs running inside the hold (nested) */
	ls_u64 rq_lock;       /* rq lock taken while pool_lock is held */
	ls_u64 rq_acq_ns;
	ls_u64 rq_self_base;  /* self_ns when rq_lock was taken */
	ls_u64 held_wakeups;  /* --stacks: wakeups and rq->lock acquisitions under */
	ls_u64 held_rqs;      /* the hold, counted under its release's stack */
	ls_u64 entry_lock;    /* lock whose lock function this CPU entered last */
	ls_u64 entry_kind;    /* its enum ls_lock_kind */
	ls_u64 entry_ns;      /* when, if it was busy (a wait), else 0 */
	ls_u64 rq_self;       /* this CPU's rq lock, learned from sched_switch */
	ls_u64 cont_depth;
	ls_u64 cont_lock[LS_CONT_DEPTH];
	ls_u64 cont_ns[LS_CONT_DEPTH];
	ls_u64 scratch;       /* see addr_of() in lockscope.bpf.c */
	/* Odd while an event changes a counter and its site's row (count_at_site()
	 * in lockscope.bpf.c): user space reads it before and after the maps
	 * and reads again when it moved (a sequence count). */
	ls_u64 site_seq;
	struct ls_site_slot site_slot[LS_SC_MAX];
	ls_u64 runs[LS_RUN_MAX]; /* program runs by class */
};

/* Map capacities: the BPF objects' defaults, and record's option defaults. */
#define LS_DEFAULT_SITE_ENTRIES 256      /* --site-entries: per-site histograms */
#define LS_DEFAULT_COUNT_ENTRIES 1024    /* per-site counters */
#define LS_DEFAULT_STACK_ENTRIES 4096    /* --stack-entries */
#define LS_DEFAULT_INFLIGHT_ENTRIES 16384 /* --inflight-entries: queued work items */
#define LS_DEFAULT_EXEC_ENTRIES 4096     /* work items running now */
#define LS_DEFAULT_FUNC_ENTRIES 1024     /* work function -> workqueue name */

#define LS_STACK_DEPTH 8   /* enough for the plumbing frames + two real callers */
#define LS_WQ_NAME_LEN 24  /* workqueue name bytes kept (the kernel's WQ_NAME_LEN) */

#endif /* LOCKSCOPE_BPF_SHARED_H */
