// SPDX-License-Identifier: GPL-2.0-only
/*
 * lockscope's kernel side: pool->lock hold times, wakeups and rq->lock
 * acquisitions made while a CPU holds a workqueue pool->lock, contended
 * waits, and workqueue queue latency / execution time.
 *
 * Two families of programs, switched on and off by user space before load
 * (the load plan, src/record/load_plan.cpp; the hook catalogue,
 * src/probe/hooks.cpp):
 *   - function hooks (fentry): the lock and unlock functions, try_to_wake_up
 *     and the workqueue functions the posted and merged patches touch;
 *   - tracepoints (tp_btf, raw_tp as fallback): lock contention, workqueue
 *     life cycle, sched_switch (to learn rq lock addresses), sched_waking.
 *
 * Hot-path rule: the spinlock hooks run with interrupts off at very high
 * rates. They read per-CPU state and one array slot, and leave at once for
 * any lock that is not a known pool->lock or rq->lock. Aggregation is in
 * per-CPU maps only; user space merges the CPUs.
 *
 * Read top-down: configuration and per-CPU state, the acquirer's address,
 * the spinlock hooks, wakeups and the workqueue functions, tracepoints.
 * The lock filter, the result maps and the CO-RE accessors are in
 * lock_filter.bpf.h, aggregate.bpf.h and core_fixes.bpf.h.
 */
#include "kernel_types.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "lockscope/bpf_shared.h"
#include "aggregate.bpf.h"
#include "core_fixes.bpf.h"
#include "lock_filter.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* ---- configuration (set by user space before load) ---------------------- */

const volatile bool track_sites = true;      /* per-site rows (cheap: caller address) */
const volatile bool track_stacks = false;    /* per-site rows from full stacks (costly) */
const volatile bool track_wq_latency = true; /* queue latency / exec time   */

/* ---- per-CPU state ------------------------------------------------------ */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ls_cpu_state);
} cpu_state SEC(".maps");

struct inflight {
	__u64 queued_ns;
	__u64 kind;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LS_DEFAULT_INFLIGHT_ENTRIES); /* --inflight-entries */
	__type(key, __u64);
	__type(value, struct inflight);
} inflight SEC(".maps");

/* work function -> workqueue name, for naming the per-function histograms */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LS_DEFAULT_FUNC_ENTRIES);
	__type(key, __u64);
	__type(value, char[LS_WQ_NAME_LEN]);
} func_wq SEC(".maps");

static __always_inline struct ls_cpu_state *state(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&cpu_state, &zero);
}

/*
 * fentry and tp_btf arguments are BTF-typed pointers, on which the verifier
 * forbids the bit and multiply arithmetic the lock filter needs. A round trip
 * through this CPU's state map (a map value load is a plain number) turns
 * one into an address; it costs one store and one load.
 */
static __always_inline __u64 addr_of(struct ls_cpu_state *st, const void *p)
{
	*(volatile __u64 *)&st->scratch = (__u64)p;
	return *(volatile __u64 *)&st->scratch;
}

/* ---- where a pool->lock acquisition comes from -------------------------- */

/*
 * The address a one-argument spinlock function will return to, i.e. inside
 * the function that takes the lock. This depends on the x86-64 BPF
 * trampoline's frame (arch/x86/net/bpf_jit_comp.c, arch_prepare_bpf_trampoline):
 * the traced function's arguments are saved on the trampoline's stack just
 * below its frame: [arg][return value, only with fexit][saved rbp][return
 * into the traced function][return into its caller]. The slot holding
 * "traced function + a few bytes" is found, and the next one is the caller.
 * One probe read instead of a stack walk (bpf_get_stackid costs ~10x the
 * whole hook). Should a kernel lay the frame out differently, no slot
 * matches and the site is 0 ("[unknown]"), never a wrong name.
 */
static __always_inline __u64 caller_ip(void *ctx)
{
	__u64 fip = bpf_get_func_ip(ctx), slots[4] = {};

	if (bpf_probe_read_kernel(slots, sizeof(slots), (char *)ctx + 8))
		return 0;
	if (slots[0] - fip <= 32)
		return slots[1];
	if (slots[1] - fip <= 32)
		return slots[2];
	if (slots[2] - fip <= 32)
		return slots[3];
	return 0;
}

/* A caller address, or a stack id (--stacks); < 0 when sites are off. */
static __always_inline __s64 acquire_site(void *ctx)
{
	if (!track_sites)
		return -1;
	return track_stacks ? stack_id(ctx) : (__s64)caller_ip(ctx);
}

static __always_inline void learn_pool(struct worker_pool *pool)
{
	struct ls_cpu_state *st = state();

	if (!pool || !st)
		return;
	learn_lock(addr_of(st, &pool->lock), pool_kind(pool));
}

/* ---- spinlock hooks (fentry): the hot path ------------------------------ */

static __always_inline void on_lock(void *ctx, const void *ptr)
{
	struct ls_cpu_state *st = state();
	__u64 lock;
	__u32 kind;

	if (!st)
		return;
	st->events++;
	lock = addr_of(st, ptr);
	if (lock & LS_KIND_MASK)
		return;
	if (st->pool_lock) {
		if (lock == st->pool_lock) {
			/* A spinlock cannot be taken twice: its unlock was missed
			 * (recursion miss). Drop the stale hold, start anew. */
			count(LS_D_UNPAIRED);
			st->pool_acq_ns = bpf_ktime_get_ns();
			st->rq_lock = 0;
			return;
		}
		kind = lock_kind(lock);
		if (kind == LS_KIND_RQ) {
			count(LS_C_RQ_UNDER_POOL);
			if (!st->rq_lock) {
				st->rq_lock = lock;
				st->rq_start_ns = bpf_ktime_get_ns();
			}
			if (track_stacks)
				site_count(LS_SC_RQ_UNDER_POOL, 0, stack_id(ctx));
			else if (track_sites)
				site_count(LS_SC_RQ_UNDER_POOL, st->pool_ctx, st->pool_site);
		} else if (kind != LS_KIND_NONE) {
			count(LS_C_POOL_NESTED);
		}
		return;
	}
	kind = lock_kind(lock);
	if (kind == LS_KIND_NONE || kind == LS_KIND_RQ)
		return;
	st->pool_lock = lock;
	st->pool_kind = kind;
	st->rq_lock = 0;
	st->pool_ctx = LS_CTX_NONE;
	st->pool_site = acquire_site(ctx);
	count(LS_C_POOL_ACQUIRED);
	st->pool_acq_ns = bpf_ktime_get_ns();
}

static __always_inline void on_unlock(const void *ptr)
{
	struct ls_cpu_state *st = state();
	__u64 lock, now;

	if (!st)
		return;
	st->events++;
	if (!st->pool_lock)
		return;
	lock = addr_of(st, ptr);
	if (lock == st->rq_lock) {
		hist(LS_M_RQ_NESTED, LS_KIND_RQ, bpf_ktime_get_ns() - st->rq_start_ns);
		st->rq_lock = 0;
		return;
	}
	if (lock != st->pool_lock)
		return;
	now = bpf_ktime_get_ns();
	hist(LS_M_POOL_HOLD, st->pool_kind, now - st->pool_acq_ns);
	if (track_sites && (track_stacks ? st->pool_site >= 0 : st->pool_site != 0))
		site_hist(LS_M_POOL_HOLD, st->pool_kind, st->pool_site, now - st->pool_acq_ns);
	st->pool_lock = 0;
	st->rq_lock = 0;
}

SEC("fentry/_raw_spin_lock")
int BPF_PROG(ls_lock, raw_spinlock_t *lock)
{
	on_lock(ctx, lock);
	return 0;
}

SEC("fentry/_raw_spin_lock_irq")
int BPF_PROG(ls_lock_irq, raw_spinlock_t *lock)
{
	on_lock(ctx, lock);
	return 0;
}

SEC("fentry/_raw_spin_lock_irqsave")
int BPF_PROG(ls_lock_irqsave, raw_spinlock_t *lock)
{
	on_lock(ctx, lock);
	return 0;
}

/* Only on lockdep kernels; elsewhere raw_spin_lock_nested() is _raw_spin_lock(). */
SEC("fentry/_raw_spin_lock_nested")
int BPF_PROG(ls_lock_nested, raw_spinlock_t *lock)
{
	on_lock(ctx, lock);
	return 0;
}

SEC("fentry/_raw_spin_unlock")
int BPF_PROG(ls_unlock, raw_spinlock_t *lock)
{
	on_unlock(lock);
	return 0;
}

SEC("fentry/_raw_spin_unlock_irq")
int BPF_PROG(ls_unlock_irq, raw_spinlock_t *lock)
{
	on_unlock(lock);
	return 0;
}

SEC("fentry/_raw_spin_unlock_irqrestore")
int BPF_PROG(ls_unlock_irqrestore, raw_spinlock_t *lock)
{
	on_unlock(lock);
	return 0;
}

/* ---- wakeups and the workqueue functions (fentry) ----------------------- */

/* This CPU's state while it holds a pool->lock, else NULL. */
static __always_inline struct ls_cpu_state *holding_pool_lock(void)
{
	struct ls_cpu_state *st = state();

	return st && st->pool_lock ? st : NULL;
}

/* Names the first workqueue function seen inside the hold: with the
 * acquirer's address it says where a wakeup or rq acquisition came from. */
static __always_inline void note_context(struct ls_cpu_state *st, __u32 context)
{
	if (!st->pool_ctx)
		st->pool_ctx = context;
}

SEC("fentry/try_to_wake_up")
int BPF_PROG(ls_ttwu, struct task_struct *p)
{
	struct ls_cpu_state *st;

	count(LS_C_WAKEUPS);
	st = holding_pool_lock();
	if (!st)
		return 0;
	count(LS_C_WAKEUPS_UNDER_POOL);
	if (track_stacks)
		site_count(LS_SC_WAKEUP_UNDER_POOL, 0, stack_id(ctx));
	else if (track_sites)
		site_count(LS_SC_WAKEUP_UNDER_POOL, st->pool_ctx, st->pool_site);
	return 0;
}

SEC("fentry/wake_up_process")
int BPF_PROG(ls_wake_up_process, struct task_struct *p)
{
	struct ls_cpu_state *st = holding_pool_lock();

	count(LS_C_WAKE_UP_PROCESS);
	if (st) {
		note_context(st, LS_CTX_WAKE_UP_PROCESS);
		count(LS_C_WAKE_UP_PROCESS_UNDER_POOL);
	}
	return 0;
}

SEC("fentry/wake_up_q")
int BPF_PROG(ls_wake_up_q, void *head)
{
	struct ls_cpu_state *st = holding_pool_lock();

	count(LS_C_WAKE_UP_Q);
	if (st) {
		note_context(st, LS_CTX_WAKE_UP_Q);
		count(LS_C_WAKE_UP_Q_UNDER_POOL);
	}
	return 0;
}

SEC("fentry/kick_pool")
int BPF_PROG(ls_kick_pool, struct worker_pool *pool)
{
	struct ls_cpu_state *st = holding_pool_lock();

	count(LS_C_KICK_POOL);
	if (st) {
		note_context(st, LS_CTX_KICK_POOL);
		count(LS_C_KICK_POOL_UNDER_POOL);
	}
	learn_pool(pool);
	return 0;
}

/* Merged patch: kick_pool_pick(pool, &task); posted v2: kick_pool_pick(pool, &wake_q). */
SEC("fentry/kick_pool_pick")
int BPF_PROG(ls_kick_pool_pick, struct worker_pool *pool)
{
	struct ls_cpu_state *st = holding_pool_lock();

	count(LS_C_KICK_POOL_PICK);
	if (st)
		note_context(st, LS_CTX_KICK_POOL_PICK);
	learn_pool(pool);
	return 0;
}

SEC("fentry/process_one_work")
int BPF_PROG(ls_process_one_work, struct worker *worker)
{
	count(LS_C_PROCESS_ONE_WORK);
	learn_pool(BPF_CORE_READ(worker, pool));
	return 0;
}

/* A freed unbound pool's address may be reused by any object: forget it. */
SEC("fentry/rcu_free_pool")
int BPF_PROG(ls_rcu_free_pool, struct rcu_head *rcu)
{
	struct ls_cpu_state *st = state();
	__u64 pool;

	if (!st)
		return 0;
	pool = addr_of(st, rcu) - bpf_core_field_offset(struct worker_pool, rcu);
	forget_lock(pool + bpf_core_field_offset(struct worker_pool, lock));
	return 0;
}

/* ---- tracepoints: tp_btf, with raw_tp twins for kernels without it ------ */
/* Bodies read kernel memory with BPF_CORE_READ only, so they serve both. */

static __always_inline void on_contention_begin(__u64 lock)
{
	struct ls_cpu_state *st = state();
	__u64 d;

	if (!st)
		return;
	d = st->cont_depth;
	if (d > 0 && d <= LS_CONT_DEPTH && st->cont_lock[(d - 1) & (LS_CONT_DEPTH - 1)] == lock)
		return; /* mutex: spin then sleep, one wait */
	if (d >= LS_CONT_DEPTH) {
		count(LS_D_CONTENTION_DEPTH);
		return;
	}
	st->cont_lock[d & (LS_CONT_DEPTH - 1)] = lock;
	st->cont_ns[d & (LS_CONT_DEPTH - 1)] = bpf_ktime_get_ns();
	st->cont_depth = d + 1;
}

static __always_inline void on_contention_end(__u64 lock)
{
	struct ls_cpu_state *st = state();
	__u64 d, now, wait;
	__u32 kind;

	if (!st)
		return;
	d = st->cont_depth;
	if (d == 0 || d > LS_CONT_DEPTH)
		return;
	d = (d - 1) & (LS_CONT_DEPTH - 1);
	if (st->cont_lock[d] != lock)
		return; /* begin lost (attached mid-wait): ignore */
	st->cont_depth = d;
	now = bpf_ktime_get_ns();
	wait = now - st->cont_ns[d];
	kind = lock_kind(lock);
	if (kind == LS_KIND_NONE)
		return;
	if (kind == LS_KIND_RQ) {
		count(LS_C_CONTENTION_RQ);
		hist(LS_M_RQ_WAIT, LS_KIND_RQ, wait);
		return;
	}
	count(LS_C_CONTENTION_POOL);
	hist(LS_M_POOL_WAIT, kind, wait);
	if (st->pool_lock == lock)
		st->pool_acq_ns = now; /* the hold starts when the wait ends */
}

static __always_inline void on_queue_work(struct pool_workqueue *pwq, struct work_struct *work)
{
	struct worker_pool *pool = BPF_CORE_READ(pwq, pool);
	struct inflight in = { .queued_ns = bpf_ktime_get_ns() };
	struct ls_cpu_state *st = state();
	__u64 w, func;

	if (!st)
		return;
	w = addr_of(st, work);

	count(LS_C_WQ_QUEUED);
	learn_pool(pool);
	if (!track_wq_latency)
		return;
	in.kind = lock_kind(addr_of(st, &pool->lock));
	if (bpf_map_update_elem(&inflight, &w, &in, BPF_ANY))
		count(LS_D_INFLIGHT_FULL);
	func = (__u64)BPF_CORE_READ(work, func);
	if (track_sites && !bpf_map_lookup_elem(&func_wq, &func)) {
		char name[LS_WQ_NAME_LEN] = {};

		BPF_CORE_READ_STR_INTO(&name, pwq, wq, name);
		bpf_map_update_elem(&func_wq, &func, &name, BPF_NOEXIST);
	}
}

static __always_inline void on_execute_start(struct work_struct *work)
{
	struct ls_cpu_state *st = state();
	__u64 w, now = bpf_ktime_get_ns(), func;
	struct inflight *in;

	count(LS_C_WQ_STARTED);
	if (!st)
		return;
	w = addr_of(st, work);
	func = (__u64)BPF_CORE_READ(work, func);
	in = bpf_map_lookup_elem(&inflight, &w);
	if (in) {
		__u64 lat = now - in->queued_ns;
		__u32 kind = in->kind;

		bpf_map_delete_elem(&inflight, &w);
		hist(LS_M_WQ_QUEUE_LAT, 0, lat);
		if (track_sites)
			site_hist(LS_M_WQ_QUEUE_LAT, kind, func, lat);
	}
	st->exec_start_ns = now;
	st->exec_func = func;
}

static __always_inline void on_execute_end(void)
{
	struct ls_cpu_state *st = state();
	__u64 d;

	count(LS_C_WQ_ENDED);
	if (!st || !st->exec_start_ns)
		return;
	d = bpf_ktime_get_ns() - st->exec_start_ns;
	hist(LS_M_WQ_EXEC, 0, d);
	if (track_sites)
		site_hist(LS_M_WQ_EXEC, 0, st->exec_func, d);
	st->exec_start_ns = 0;
}

/* Learns this CPU's rq lock from the task leaving it (see rq_of_task()). */
static __always_inline void on_sched_switch(struct task_struct *prev)
{
	struct ls_cpu_state *st;
	__u64 rq = rq_of_task(prev), lock;

	if (!rq)
		return;
	lock = rq_lock_addr(rq);
	st = state();
	if (!st || st->rq_self == lock)
		return;
	st->rq_self = lock;
	learn_lock(lock, LS_KIND_RQ);
}

static __always_inline void on_sched_waking(void)
{
	struct task_struct *cur = (struct task_struct *)bpf_get_current_task();

	count(LS_C_SCHED_WAKING);
	if (!(BPF_CORE_READ(cur, flags) & PF_WQ_WORKER))
		return;
	count(LS_C_SCHED_WAKING_KWORKER);
	if (track_sites)
		site_count(LS_SC_KWORKER_WAKING, 0, kworker_current_func(cur));
}

/* Every run of a tracepoint program counts in the loss denominator too. */
static __always_inline void tp_event(void)
{
	struct ls_cpu_state *st = state();

	if (st)
		st->events++;
}

#define LS_UNPAREN(...) __VA_ARGS__
/* One handler, two attachments: tp_btf/NAME and raw_tp/NAME. */
#define LS_TRACEPOINT(tp, args, body)                                             \
	SEC("tp_btf/" #tp) int BPF_PROG(btf_##tp, LS_UNPAREN args) { tp_event(); body } \
	SEC("raw_tp/" #tp) int BPF_PROG(raw_##tp, LS_UNPAREN args) { tp_event(); body }

LS_TRACEPOINT(contention_begin, (void *lock, unsigned int flags),
	      { on_contention_begin((__u64)lock); return 0; })
LS_TRACEPOINT(contention_end, (void *lock, int ret),
	      { on_contention_end((__u64)lock); return 0; })
LS_TRACEPOINT(workqueue_queue_work,
	      (int req_cpu, struct pool_workqueue *pwq, struct work_struct *work),
	      { on_queue_work(pwq, work); return 0; })
LS_TRACEPOINT(workqueue_activate_work, (struct work_struct *work),
	      { count(LS_C_WQ_ACTIVATED); return 0; })
LS_TRACEPOINT(workqueue_execute_start, (struct work_struct *work),
	      { on_execute_start(work); return 0; })
LS_TRACEPOINT(workqueue_execute_end, (struct work_struct *work, work_func_t function),
	      { on_execute_end(); return 0; })
LS_TRACEPOINT(sched_switch,
	      (bool preempt, struct task_struct *prev, struct task_struct *next),
	      { on_sched_switch(prev); return 0; })
LS_TRACEPOINT(sched_waking, (struct task_struct *p),
	      { on_sched_waking(); return 0; })
