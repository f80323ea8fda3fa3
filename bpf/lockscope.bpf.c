// SPDX-License-Identifier: GPL-2.0-only
/*
 * lockscope's kernel side: pool->lock hold times, wakeups and rq->lock
 * acquisitions made while a CPU holds a workqueue pool->lock, lock waits,
 * and workqueue queue latency / execution time.
 *
 * Two families of programs, switched on and off by user space before load
 * (the load plan, src/record/load_plan.cpp; the hook catalogue,
 * src/probe/hooks.cpp):
 *   - function hooks: fexit of the lock functions (a hold starts when the
 *     lock is held, interrupts off), fentry of the lock functions (a wait
 *     starts), fentry of the unlock functions (a hold ends), and the
 *     workqueue functions the posted and merged patches touch;
 *   - tracepoints (tp_btf, raw_tp as fallback): sched_waking (wakeups that
 *     proceed), sched_switch (rq lock addresses; no raw spinlock is held
 *     across it), the workqueue life cycle, lock contention.
 *
 * The instrument is not inside what it measures: every lockscope program
 * that runs while this CPU holds a pool->lock times itself, and that time is
 * taken out of the hold (and reported). What is not timed is the trampoline
 * around each program (bounded by the empty-program floor of
 * scripts/overhead.sh); docs/profile-format.md defines hold and wait.
 *
 * Hot-path rule: the spinlock hooks run at very high rates. They read
 * per-CPU state and one array slot, and leave at once for any lock that is
 * not a known pool->lock or rq->lock. Aggregation is in per-CPU maps only;
 * user space merges the CPUs.
 *
 * Read top-down: configuration and per-CPU state, lockscope's own time, the
 * acquirer's address, the lock hooks (entry, exit, unlock), wakeups and the
 * workqueue functions, tracepoints. The lock filter, the result maps and the
 * CO-RE accessors are in lock_filter.bpf.h, aggregate.bpf.h and
 * core_fixes.bpf.h.
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

const volatile bool track_sites = true;       /* per-site rows (cheap: caller address) */
const volatile bool track_stacks = false;     /* wakeups under pool->lock by stack (a walk per hold) */
const volatile bool track_wq_latency = true;  /* queue latency / exec time */
const volatile bool waits_from_hooks = false; /* lock entry hooks time the waits */
/* The lock hooks read the clock: a timed lock metric was asked for (record
 * --metrics with counts only clears it; then holds are counted, not timed,
 * and lockscope times nothing of its own inside them). */
const volatile bool time_holds = true;
/* bpf_probe_read_kernel() is allowed (lockdown=confidentiality withholds it).
 * The verifier drops the branches it makes dead. */
const volatile bool can_read_kernel = true;

/* lock:contention_begin flags (include/trace/events/lock.h): a spinning waiter. */
#define LCB_F_SPIN (1U << 0)

/* ---- per-CPU state ------------------------------------------------------ */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ls_cpu_state);
} cpu_state SEC(".maps");

/*
 * A queued work item: when it was queued (last_ns) and, if it was queued
 * again before its previous queueing started executing, that earlier time
 * (prev_ns). A worker clears the item's PENDING bit under pool->lock, drops
 * the lock and only then fires workqueue_execute_start, so another CPU can
 * queue the item again in between: execute_start then belongs to prev_ns,
 * and PENDING, set again, tells which. An LRU map: an item cancelled before
 * it ran leaves an entry that only its next queueing replaces.
 */
struct inflight {
	__u64 last_ns;
	__u64 prev_ns;
	__u32 last_kind;
	__u32 prev_kind;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, LS_DEFAULT_INFLIGHT_ENTRIES); /* --inflight-entries */
	__type(key, __u64);
	__type(value, struct inflight);
} inflight SEC(".maps");

/* A work item running now, keyed by the item and the task running it: a
 * sleeping item lets other workers run others on its CPU, an unbound worker
 * migrates, a BH item runs on top of whatever task it interrupted. */
struct exec_key {
	__u64 work;
	__u64 task;
};

struct exec_val {
	__u64 start_ns;
	__u64 func;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LS_DEFAULT_EXEC_ENTRIES);
	__type(key, struct exec_key);
	__type(value, struct exec_val);
} executing SEC(".maps");

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
 * fentry, fexit and tp_btf arguments are BTF-typed pointers, on which the
 * verifier forbids the bit and multiply arithmetic the lock filter needs. A
 * round trip through this CPU's state map (a map value load is a plain
 * number) turns one into an address; it costs one store and one load.
 */
static __always_inline __u64 addr_of(struct ls_cpu_state *st, const void *p)
{
	*(volatile __u64 *)&st->scratch = (__u64)p;
	return *(volatile __u64 *)&st->scratch;
}

/* ---- lockscope's own time inside a hold --------------------------------- */

/*
 * Every program that runs while this CPU holds a pool->lock, other than the
 * two that start and end the hold, brackets its work with these: the
 * outermost one reads the clock at its start and end and adds the
 * difference to the hold's self time, which the unlock takes out of the
 * hold. Programs nested inside it (a lock hook under a map update of a
 * tracepoint program) are inside its bracket already.
 */
struct self_clock {
	__u64 t0;
	bool counted;
};

static __always_inline struct self_clock self_begin(struct ls_cpu_state *st)
{
	struct self_clock c = {};

	if (st->pool_lock) {
		c.counted = true;
		if (st->depth++ == 0 && time_holds)
			c.t0 = bpf_ktime_get_ns();
	}
	return c;
}

static __always_inline void self_end(struct ls_cpu_state *st, struct self_clock *c)
{
	if (!c->counted)
		return;
	if (st->depth)
		st->depth--;
	if (c->t0 && st->pool_lock) {
		st->self_ns += bpf_ktime_get_ns() - c->t0;
		st->self_runs++;
	}
}

/* ---- where a pool->lock acquisition comes from -------------------------- */

/* A return address: kernel text (the top 2 GiB), not a -errno. */
static __always_inline bool is_text(__u64 a)
{
	return a >= 0xffffffff80000000ull && a < 0xfffffffffffff000ull;
}

/*
 * The address a one-argument spinlock function will return to, i.e. inside
 * the function that takes the lock. This depends on the x86-64 BPF
 * trampoline's frame (arch/x86/net/bpf_jit_comp.c, arch_prepare_bpf_trampoline):
 * the traced function's arguments are saved on the trampoline's stack just
 * below its frame: [arg][return value, when the trampoline calls the
 * function (fexit)][saved rbp][return into the traced function][return into
 * its caller]. The slot holding "traced function + a few bytes" is found,
 * and the next one is the caller. One probe read instead of a stack walk
 * (bpf_get_stackid costs ~10x the whole hook). Should a kernel lay the frame
 * out differently, no slot matches and the site is 0 ("[unknown]"); the one
 * layout without the traced function's return slot is recognised below.
 * Without bpf_probe_read_kernel() there is no site.
 */
static __always_inline __u64 caller_ip(void *ctx)
{
	__u64 fip, slots[4] = {};

	if (!can_read_kernel)
		return 0;
	fip = bpf_get_func_ip(ctx);
	if (bpf_probe_read_kernel(slots, sizeof(slots), (char *)ctx + 8))
		return 0;
	if (slots[0] - fip <= 32)
		return slots[1];
	if (slots[1] - fip <= 32)
		return slots[2];
	if (slots[2] - fip <= 32)
		return slots[3];
	/* Debian's 7.x kernels enter an fexit trampoline with no return into
	 * the traced function on the stack: [arg][return value][saved rbp]
	 * [return into its caller] (seen with bpf_printk). A return address
	 * is kernel text, above the direct map and the stacks. */
	if (is_text(slots[2]))
		return slots[2];
	return 0;
}

/*
 * Where a pool->lock was taken: the acquirer's address; -1 when sites are
 * off. A hold is named by its acquiring function in every mode (with
 * --stacks too: a stack's first frame names the same function), so --stacks
 * walks the stack only where the address cannot be read (a stack id, or
 * -errno). A walk here would run while the lock is held, and the hold that
 * starts next runs measurably slower after it (docs/overhead.md, "The probe
 * effect"); a walk inside the hold is timed out of it.
 */
static __always_inline __s64 acquire_site(void *ctx)
{
	__u64 ip;

	if (!track_sites)
		return -1;
	ip = caller_ip(ctx);
	if (track_stacks && !ip)
		return stack_id(ctx);
	return (__s64)ip;
}

/*
 * A per-site count without a hash look-up: a CPU counts its events in the
 * slot of their counter while they keep the same site (almost all wakeups
 * under pool->lock come from one acquirer, most kworker wakeups from a few
 * work functions), and an event with another site moves the slot's count
 * into site_counts first. Two runs of these programs never nest on a CPU:
 * they run with interrupts off (under pool->lock, or under p->pi_lock for
 * sched_waking), and an instance of the same program is not re-entered.
 */
static __always_inline void site_count_cached(struct ls_cpu_state *st, __u32 counter,
					      __u32 context, __u64 site, __u64 n)
{
	struct ls_site_slot *slot;

	if (counter >= LS_SC_MAX)
		return;
	slot = &st->site_slot[counter];
	if (slot->n && slot->context == context && slot->site == site) {
		slot->n += n;
		return;
	}
	if (slot->n)
		site_count(counter, slot->context, slot->site, slot->n);
	slot->context = context;
	slot->site = site;
	slot->n = n;
}

/*
 * n events counted in their metric and in their site's row together, while
 * site_seq is odd: user space reads the counters, site_counts and the slots
 * between two reads of site_seq and reads again when it moved
 * (Session::read_counts()), so the rows add up to the metric. `site` is
 * found before: a stack walk runs lockscope's hooks nested.
 */
static __always_inline void count_at_site(struct ls_cpu_state *st, __u32 counter_id,
					  __u32 slot, __u32 context, __u64 site, __u64 n)
{
	st->site_seq++;
	barrier(); /* the stores stay in this order: the JIT emits them as written */
	count_add(counter_id, n);
	site_count_cached(st, slot, context, site, n);
	barrier();
	st->site_seq++;
}

/*
 * A wakeup or an rq acquisition under the held pool->lock, and where it
 * happened: the workqueue function seen in the hold and the acquirer. With
 * --stacks, the hold's events wait in held_wakeups / held_rqs for its
 * release, where one stack is walked after the hold has ended and they are
 * counted under it (flush_held()): a walk costs several times a whole hook,
 * and inside the hold, or just before it, it leaves the hold slower even
 * when timed out of it (docs/overhead.md, "The probe effect").
 */
static __always_inline void count_under_pool(struct ls_cpu_state *st, __u32 counter_id,
					     __u32 slot)
{
	if (!track_sites) {
		count(counter_id);
		return;
	}
	if (track_stacks) {
		if (slot == LS_SC_WAKEUP_UNDER_POOL)
			st->held_wakeups++;
		else
			st->held_rqs++;
		return;
	}
	count_at_site(st, counter_id, slot, st->pool_ctx, st->pool_site, 1);
}

/*
 * --stacks: a hold's waiting wakeups and rq->lock acquisitions, counted
 * under the stack of its release (ctx: the unlock hook's, called once the
 * hold's state is cleared, as the walk runs lockscope's hooks nested), or
 * under no stack (-1, ctx NULL) when the release will not be seen: an
 * unpaired or nested acquisition, a context switch.
 */
static __always_inline void flush_held(void *ctx, struct ls_cpu_state *st)
{
	__u64 wakeups = st->held_wakeups, rqs = st->held_rqs;
	__u32 context = st->pool_ctx;
	__s64 site;

	if (!track_stacks || !(wakeups | rqs))
		return;
	st->held_wakeups = 0;
	st->held_rqs = 0;
	site = ctx ? stack_id(ctx) : -1;
	if (wakeups)
		count_at_site(st, LS_C_WAKEUPS_UNDER_POOL, LS_SC_WAKEUP_UNDER_POOL, context, site,
			      wakeups);
	if (rqs)
		count_at_site(st, LS_C_RQ_UNDER_POOL, LS_SC_RQ_UNDER_POOL, context, site, rqs);
}

static __always_inline void learn_pool(struct ls_cpu_state *st, struct worker_pool *pool,
				       bool raw)
{
	if (pool)
		learn_lock(addr_of(st, &pool->lock), pool_kind(pool, raw));
}

/* ---- lock entry (fentry): a wait starts --------------------------------- */

/* Remembers which lock this CPU is about to take, and when, if it has to
 * wait for it (its word says held, pending or queued): the exit hook then
 * needs no filter look-up, and times the wait. */
static __always_inline void on_lock_entry(raw_spinlock_t *lock_ptr)
{
	struct ls_cpu_state *st = state();
	struct self_clock c;
	__u64 lock;
	__u32 kind;

	if (!st)
		return;
	st->runs[LS_RUN_LOCK_ENTRY]++;
	c = self_begin(st);
	lock = addr_of(st, lock_ptr);
	kind = lock_kind(lock);
	st->entry_lock = lock;
	st->entry_kind = kind;
	st->entry_ns = kind != LS_KIND_NONE && lock_busy(lock_ptr) ? bpf_ktime_get_ns() : 0;
	self_end(st, &c);
}

/* ---- lock exit (fexit): a hold starts ----------------------------------- */

/* A site worth a per-site row: a caller address found, or a stack id. */
static __always_inline bool site_known(__s64 site)
{
	return track_sites && (track_stacks ? site >= 0 || is_text(site) : site != 0);
}

/* `site`: the acquirer (acquire_site()), looked up once by on_locked(). */
static __always_inline void start_hold(struct ls_cpu_state *st, __u64 lock, __u32 kind,
				       bool trylock, __s64 site)
{
	st->pool_lock = lock;
	st->pool_kind = kind;
	st->pool_ctx = LS_CTX_NONE;
	st->rq_lock = 0;
	st->depth = 0;
	st->pool_site = site;
	st->held_wakeups = 0;
	st->held_rqs = 0;
	count(LS_C_POOL_ACQUIRED);
	if (trylock)
		count(LS_C_POOL_TRYLOCKED);
	/* Last: the site was looked up before (a stack walk takes locks of
	 * its own, whose hooks add self time): neither in the hold nor
	 * removed from it. */
	st->self_ns = 0;
	st->self_runs = 0;
	st->pool_acq_ns = time_holds ? bpf_ktime_get_ns() : 0;
}

static __always_inline void on_locked(void *ctx, raw_spinlock_t *lock_ptr, bool acquired,
				      bool trylock)
{
	struct ls_cpu_state *st = state();
	struct self_clock c;
	__u64 lock, entry_ns = 0, now;
	__s64 site = -1;
	bool have_site = false;
	__u32 kind;

	if (!st)
		return;
	st->runs[LS_RUN_LOCKED]++;
	c = self_begin(st);
	lock = addr_of(st, lock_ptr);
	if (st->entry_lock == lock && !trylock) {
		kind = st->entry_kind;
		entry_ns = st->entry_ns;
	} else {
		kind = lock_kind(lock);
	}
	st->entry_lock = 0;
	if (!acquired || kind == LS_KIND_NONE)
		goto out;
	now = entry_ns ? bpf_ktime_get_ns() : 0;
	if (entry_ns) {
		/* The waited path (rare): the wait per acquirer too. A pool->lock
		 * wait's site is its hold's, looked up once; an rq->lock wait's
		 * is the caller's address (one read; no stack walk, --stacks). */
		__u32 metric = kind == LS_KIND_RQ ? LS_M_RQ_WAIT : LS_M_POOL_WAIT;

		count(kind == LS_KIND_RQ ? LS_C_RQ_WAITED : LS_C_POOL_WAITED);
		hist(metric, kind, now - entry_ns);
		if (kind != LS_KIND_RQ) {
			site = acquire_site(ctx);
			have_site = true;
		} else if (track_sites) {
			site = (__s64)caller_ip(ctx);
			if (track_stacks && !site)
				site = -1; /* 0 would be a stack id there */
		}
		if (site_known(site))
			site_hist(metric, kind, site, now - entry_ns);
	}
	if (kind == LS_KIND_RQ) {
		if (!st->pool_lock)
			goto out;
		if (!st->rq_lock && time_holds) {
			st->rq_lock = lock;
			st->rq_acq_ns = now ? now : bpf_ktime_get_ns();
			st->rq_self_base = st->self_ns;
		}
		count_under_pool(st, LS_C_RQ_UNDER_POOL, LS_SC_RQ_UNDER_POOL);
		goto out;
	}
	if (st->pool_lock) {
		/* A pool->lock while one is held: its unlock was missed (the
		 * same lock again, or another). Start anew from this one. */
		count(lock == st->pool_lock ? LS_D_UNPAIRED : LS_D_POOL_NESTED);
		flush_held(NULL, st);
	}
	self_end(st, &c);
	start_hold(st, lock, kind, trylock, have_site ? site : acquire_site(ctx));
	return;
out:
	self_end(st, &c);
}

/* ---- unlock (fentry): a hold ends --------------------------------------- */

static __always_inline void end_hold(void *ctx, struct ls_cpu_state *st, __u64 now)
{
	__u64 hold = now - st->pool_acq_ns, self = st->self_ns;

	hold = hold > self ? hold - self : 0;
	if (time_holds) {
		hist(LS_M_POOL_HOLD, st->pool_kind, hold);
		count_add(LS_C_HOLD_SELF_NS, self);
		count_add(LS_C_HOLD_SELF_RUNS, st->self_runs);
		if (site_known(st->pool_site))
			site_hist(LS_M_POOL_HOLD, st->pool_kind, st->pool_site, hold);
	}
	st->pool_lock = 0;
	st->rq_lock = 0;
	st->self_ns = 0;
	st->self_runs = 0;
	st->depth = 0;
	/* --stacks: the hold is over (the lock is still this CPU's until the
	 * unlock function runs): one walk for all its wakeups, outside it. */
	flush_held(ctx, st);
}

static __always_inline void on_unlock(void *ctx, raw_spinlock_t *lock_ptr)
{
	struct ls_cpu_state *st = state();
	__u64 lock, now, nested;

	if (!st)
		return;
	st->runs[LS_RUN_UNLOCK]++;
	if (!st->pool_lock)
		return; /* nothing held on this CPU: the common case */
	now = time_holds ? bpf_ktime_get_ns() : 0; /* first: the hold ends here */
	lock = addr_of(st, lock_ptr);
	if (lock == st->pool_lock) {
		end_hold(ctx, st, now);
		return;
	}
	/* Another lock released inside the hold: this program is lockscope's
	 * own time inside it (`now` is its start). */
	nested = st->depth++;
	if (lock == st->rq_lock) {
		__u64 held = now - st->rq_acq_ns, self = st->self_ns - st->rq_self_base;

		hist(LS_M_RQ_NESTED, LS_KIND_RQ, held > self ? held - self : 0);
		st->rq_lock = 0;
	}
	if (st->depth)
		st->depth--;
	if (!nested && time_holds) {
		st->self_ns += bpf_ktime_get_ns() - now;
		st->self_runs++;
	}
}

SEC("fentry/_raw_spin_lock")
int BPF_PROG(ls_lock_entry, raw_spinlock_t *lock)
{
	on_lock_entry(lock);
	return 0;
}

SEC("fentry/_raw_spin_lock_irq")
int BPF_PROG(ls_lock_irq_entry, raw_spinlock_t *lock)
{
	on_lock_entry(lock);
	return 0;
}

SEC("fentry/_raw_spin_lock_irqsave")
int BPF_PROG(ls_lock_irqsave_entry, raw_spinlock_t *lock)
{
	on_lock_entry(lock);
	return 0;
}

/* Only on lockdep kernels; elsewhere raw_spin_lock_nested() is _raw_spin_lock(). */
SEC("fentry/_raw_spin_lock_nested")
int BPF_PROG(ls_lock_nested_entry, raw_spinlock_t *lock)
{
	on_lock_entry(lock);
	return 0;
}

SEC("fexit/_raw_spin_lock")
int BPF_PROG(ls_lock, raw_spinlock_t *lock)
{
	on_locked(ctx, lock, true, false);
	return 0;
}

SEC("fexit/_raw_spin_lock_irq")
int BPF_PROG(ls_lock_irq, raw_spinlock_t *lock)
{
	on_locked(ctx, lock, true, false);
	return 0;
}

SEC("fexit/_raw_spin_lock_irqsave")
int BPF_PROG(ls_lock_irqsave, raw_spinlock_t *lock)
{
	on_locked(ctx, lock, true, false);
	return 0;
}

SEC("fexit/_raw_spin_lock_nested")
int BPF_PROG(ls_lock_nested, raw_spinlock_t *lock)
{
	on_locked(ctx, lock, true, false);
	return 0;
}

/* node_activate_pending_pwq() (6.9+) trylocks a foreign pool and kicks it. */
SEC("fexit/_raw_spin_trylock")
int BPF_PROG(ls_trylock, raw_spinlock_t *lock, int ret)
{
	on_locked(ctx, lock, ret != 0, true);
	return 0;
}

SEC("fentry/_raw_spin_unlock")
int BPF_PROG(ls_unlock, raw_spinlock_t *lock)
{
	on_unlock(ctx, lock);
	return 0;
}

SEC("fentry/_raw_spin_unlock_irq")
int BPF_PROG(ls_unlock_irq, raw_spinlock_t *lock)
{
	on_unlock(ctx, lock);
	return 0;
}

SEC("fentry/_raw_spin_unlock_irqrestore")
int BPF_PROG(ls_unlock_irqrestore, raw_spinlock_t *lock)
{
	on_unlock(ctx, lock);
	return 0;
}

/* ---- the workqueue functions (fentry) ----------------------------------- */

/* Names the first workqueue function seen inside the hold: with the
 * acquirer's address it says where a wakeup or rq acquisition came from;
 * `under` counts the call when this CPU holds a pool->lock. */
static __always_inline void workqueue_call(__u32 calls, __u32 under, __u32 context)
{
	struct ls_cpu_state *st = state();
	struct self_clock c;

	count(calls);
	if (!st)
		return;
	st->runs[LS_RUN_FUNCTION]++;
	if (!st->pool_lock)
		return;
	c = self_begin(st);
	if (!st->pool_ctx)
		st->pool_ctx = context;
	if (under)
		count(under);
	self_end(st, &c);
}

SEC("fentry/wake_up_process")
int BPF_PROG(ls_wake_up_process, struct task_struct *p)
{
	workqueue_call(LS_C_WAKE_UP_PROCESS, LS_C_WAKE_UP_PROCESS_UNDER_POOL,
		       LS_CTX_WAKE_UP_PROCESS);
	return 0;
}

SEC("fentry/wake_up_q")
int BPF_PROG(ls_wake_up_q, void *head)
{
	workqueue_call(LS_C_WAKE_UP_Q, LS_C_WAKE_UP_Q_UNDER_POOL, LS_CTX_WAKE_UP_Q);
	return 0;
}

/* Every kick_pool() runs under its pool->lock (lockdep_assert_held): the
 * share seen under a held pool->lock measures how many holds were missed. */
SEC("fentry/kick_pool")
int BPF_PROG(ls_kick_pool, struct worker_pool *pool)
{
	struct ls_cpu_state *st = state();

	workqueue_call(LS_C_KICK_POOL, LS_C_KICK_POOL_UNDER_POOL, LS_CTX_KICK_POOL);
	if (st)
		learn_pool(st, pool, false);
	return 0;
}

/* Merged patch: kick_pool_pick(pool, &task); posted v2: kick_pool_pick(pool,
 * &wake_q). Also always under its pool->lock. */
SEC("fentry/kick_pool_pick")
int BPF_PROG(ls_kick_pool_pick, struct worker_pool *pool)
{
	struct ls_cpu_state *st = state();

	workqueue_call(LS_C_KICK_POOL_PICK, LS_C_KICK_POOL_PICK_UNDER_POOL, LS_CTX_KICK_POOL_PICK);
	if (st)
		learn_pool(st, pool, false);
	return 0;
}

SEC("fentry/process_one_work")
int BPF_PROG(ls_process_one_work, struct worker *worker)
{
	struct ls_cpu_state *st = state();

	count(LS_C_PROCESS_ONE_WORK);
	if (!st)
		return 0;
	st->runs[LS_RUN_FUNCTION]++;
	learn_pool(st, worker->pool, false);
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
	st->runs[LS_RUN_FUNCTION]++;
	pool = addr_of(st, rcu) - bpf_core_field_offset(struct worker_pool, rcu);
	forget_lock(pool + bpf_core_field_offset(struct worker_pool, lock));
	return 0;
}

/* ---- tracepoints: tp_btf, with raw_tp twins for kernels without it ------ */
/* Each handler takes `raw` (a constant): raw_tp arguments are numbers and are
 * read with probe reads, tp_btf arguments are BTF pointers and walked. */

/* A wakeup by a kworker, and the work function it runs (probe reads first). */
static __always_inline void count_kworker_waking(struct ls_cpu_state *st,
						 struct task_struct *cur)
{
	if (!track_sites) {
		count(LS_C_SCHED_WAKING_KWORKER);
		return;
	}
	count_at_site(st, LS_C_SCHED_WAKING_KWORKER, LS_SC_KWORKER_WAKING, 0,
		      kworker_current_func(cur, can_read_kernel), 1);
}

/* A wakeup that proceeds (the task's state matched); under a held pool->lock
 * it is the patch's subject. The rq->lock it then takes (unless it goes to
 * the wakelist by IPI) is counted at the lock. */
static __always_inline void on_sched_waking(void *ctx, bool raw)
{
	struct ls_cpu_state *st = state();
	struct self_clock c;
	unsigned int flags;

	if (!st)
		return;
	st->runs[LS_RUN_WAKING]++;
	c = self_begin(st);
	count(LS_C_WAKEUPS);
	if (st->pool_lock)
		count_under_pool(st, LS_C_WAKEUPS_UNDER_POOL, LS_SC_WAKEUP_UNDER_POOL);
	if (raw) {
		struct task_struct *cur = (struct task_struct *)bpf_get_current_task();

		flags = BPF_CORE_READ(cur, flags);
		if (flags & PF_WQ_WORKER)
			count_kworker_waking(st, cur);
	} else {
		struct task_struct *cur = bpf_get_current_task_btf();

		if (cur->flags & PF_WQ_WORKER)
			count_kworker_waking(st, cur);
	}
	self_end(st, &c);
}

/* Contended waits as the tracepoints see them (the tracepoint backend; the
 * function hooks time waits themselves). Only spinning waiters of tracked
 * locks are pushed: a sleeping lock's wait ends on another CPU. */
static __always_inline void on_contention_begin(__u64 lock, unsigned int flags)
{
	struct ls_cpu_state *st = state();
	struct self_clock c;
	__u64 d;

	if (!st)
		return;
	st->runs[LS_RUN_CONTENTION]++;
	if (!(flags & LCB_F_SPIN))
		return;
	c = self_begin(st);
	if (lock_kind(lock) == LS_KIND_NONE)
		goto out;
	d = st->cont_depth;
	if (d >= LS_CONT_DEPTH) {
		count(LS_D_CONTENTION_DEPTH);
		goto out;
	}
	st->cont_lock[d & (LS_CONT_DEPTH - 1)] = lock;
	st->cont_ns[d & (LS_CONT_DEPTH - 1)] = bpf_ktime_get_ns();
	st->cont_depth = d + 1;
out:
	self_end(st, &c);
}

static __always_inline void on_contention_end(__u64 lock)
{
	struct ls_cpu_state *st = state();
	struct self_clock c;
	__u64 d, wait;
	__u32 kind;

	if (!st)
		return;
	st->runs[LS_RUN_CONTENTION]++;
	d = st->cont_depth;
	if (d == 0 || d > LS_CONT_DEPTH)
		return;
	d = (d - 1) & (LS_CONT_DEPTH - 1);
	if (st->cont_lock[d] != lock)
		return; /* begin not seen (attached mid-wait, or not a tracked spin wait) */
	c = self_begin(st);
	st->cont_depth = d;
	wait = bpf_ktime_get_ns() - st->cont_ns[d];
	kind = lock_kind(lock);
	if (kind == LS_KIND_RQ) {
		count(LS_C_CONTENTION_RQ);
		if (!waits_from_hooks)
			hist(LS_M_RQ_WAIT, LS_KIND_RQ, wait);
	} else if (kind != LS_KIND_NONE) {
		count(LS_C_CONTENTION_POOL);
		if (!waits_from_hooks)
			hist(LS_M_POOL_WAIT, kind, wait);
	}
	self_end(st, &c);
}

/* The workqueue's name, on a work function's first sighting: a string read
 * with bpf_probe_read_kernel_str() (none under lockdown=confidentiality). */
static __always_inline void note_workqueue(struct pool_workqueue *pwq, __u64 func)
{
	char name[LS_WQ_NAME_LEN] = {};

	if (!can_read_kernel || bpf_map_lookup_elem(&func_wq, &func))
		return;
	BPF_CORE_READ_STR_INTO(&name, pwq, wq, name);
	bpf_map_update_elem(&func_wq, &func, &name, BPF_NOEXIST);
}

static __always_inline void on_queue_work(struct pool_workqueue *pwq, struct work_struct *work,
					  bool raw)
{
	struct ls_cpu_state *st = state();
	struct inflight in = {}, *old;
	struct worker_pool *pool;
	struct self_clock c;
	__u64 w;

	if (!st)
		return;
	st->runs[LS_RUN_WORKQUEUE]++;
	c = self_begin(st);
	count(LS_C_WQ_QUEUED);
	pool = LS_READ(raw, pwq, pool);
	learn_pool(st, pool, raw);
	if (!track_wq_latency || !pool)
		goto out;
	in.last_ns = bpf_ktime_get_ns();
	in.last_kind = lock_kind(addr_of(st, &pool->lock));
	w = addr_of(st, work);
	old = bpf_map_lookup_elem(&inflight, &w);
	if (old && old->last_ns) {
		in.prev_ns = old->last_ns;
		in.prev_kind = old->last_kind;
	}
	if (bpf_map_update_elem(&inflight, &w, &in, BPF_ANY))
		count(LS_D_INFLIGHT_FULL);
	if (track_sites)
		note_workqueue(pwq, (__u64)LS_READ(raw, work, func));
out:
	self_end(st, &c);
}

static __always_inline void on_execute_start(struct work_struct *work, bool raw)
{
	struct ls_cpu_state *st = state();
	struct exec_key key = {};
	struct exec_val run = {};
	struct inflight *in;
	__u64 w;

	if (!st)
		return;
	st->runs[LS_RUN_WORKQUEUE]++;
	count(LS_C_WQ_STARTED);
	if (!track_wq_latency)
		return;
	w = addr_of(st, work);
	run.start_ns = bpf_ktime_get_ns();
	run.func = (__u64)LS_READ(raw, work, func);
	in = bpf_map_lookup_elem(&inflight, &w);
	if (in) {
		bool requeued = LS_READ(raw, work, data.counter) & 1; /* PENDING */
		__u64 queued = in->last_ns;
		__u32 kind = in->last_kind;

		if (requeued && in->prev_ns) {
			/* queued again since this run was taken off the list */
			queued = in->prev_ns;
			kind = in->prev_kind;
			in->prev_ns = 0;
			count(LS_C_WQ_REQUEUED);
		} else {
			bpf_map_delete_elem(&inflight, &w);
		}
		if (queued) {
			__u64 lat = run.start_ns - queued;

			hist(LS_M_WQ_QUEUE_LAT, 0, lat);
			if (track_sites)
				site_hist(LS_M_WQ_QUEUE_LAT, kind, run.func, lat);
		}
	}
	key.work = w;
	key.task = bpf_get_current_task();
	if (bpf_map_update_elem(&executing, &key, &run, BPF_ANY))
		count(LS_D_EXEC_FULL);
}

static __always_inline void on_execute_end(struct work_struct *work)
{
	struct ls_cpu_state *st = state();
	struct exec_key key = {};
	struct exec_val *run;
	__u64 d;

	if (!st)
		return;
	st->runs[LS_RUN_WORKQUEUE]++;
	count(LS_C_WQ_ENDED);
	if (!track_wq_latency)
		return;
	key.work = addr_of(st, work);
	key.task = bpf_get_current_task();
	run = bpf_map_lookup_elem(&executing, &key);
	if (!run)
		return; /* started before the recording */
	d = bpf_ktime_get_ns() - run->start_ns;
	hist(LS_M_WQ_EXEC, 0, d);
	if (track_sites)
		site_hist(LS_M_WQ_EXEC, 0, run->func, d);
	bpf_map_delete_elem(&executing, &key);
}

static __always_inline void on_activate_work(void)
{
	struct ls_cpu_state *st = state();

	if (st)
		st->runs[LS_RUN_WORKQUEUE]++;
	count(LS_C_WQ_ACTIVATED);
}

/*
 * No raw spinlock is held across a context switch: any hold or wait this
 * CPU's state still has open was missed at its end (a recursion miss of
 * the unlock hook, say) and is dropped and counted. Also learns this CPU's
 * rq lock from the task leaving it (see rq_of_task()).
 */
static __always_inline void on_sched_switch(struct task_struct *prev, bool raw)
{
	struct ls_cpu_state *st = state();
	struct rq *rq;
	__u64 lock;

	if (!st)
		return;
	st->runs[LS_RUN_SWITCH]++;
	if (st->pool_lock) {
		count(LS_D_HELD_AT_SWITCH);
		flush_held(NULL, st);
		st->pool_lock = 0;
		st->rq_lock = 0;
		st->self_ns = 0;
		st->self_runs = 0;
	}
	st->depth = 0;
	st->entry_lock = 0;
	st->cont_depth = 0;
	rq = rq_of_task(prev, raw);
	if (!rq)
		return;
	lock = rq_lock_addr(addr_of(st, rq));
	if (st->rq_self != lock && learn_lock(lock, LS_KIND_RQ))
		st->rq_self = lock;
}

#define LS_UNPAREN(...) __VA_ARGS__
/* One handler, two attachments: tp_btf/NAME and raw_tp/NAME. */
#define LS_TRACEPOINT(tp, args, body)                                            \
	SEC("tp_btf/" #tp) int BPF_PROG(btf_##tp, LS_UNPAREN args)                   \
	{                                                                            \
		const bool raw = false;                                              \
		body                                                                 \
	}                                                                            \
	SEC("raw_tp/" #tp) int BPF_PROG(raw_##tp, LS_UNPAREN args)                   \
	{                                                                            \
		const bool raw = true;                                               \
		body                                                                 \
	}

LS_TRACEPOINT(sched_waking, (struct task_struct *p),
	      { (void)raw; on_sched_waking(ctx, raw); return 0; })
LS_TRACEPOINT(sched_switch,
	      (bool preempt, struct task_struct *prev, struct task_struct *next),
	      { on_sched_switch(prev, raw); return 0; })
LS_TRACEPOINT(workqueue_queue_work,
	      (int req_cpu, struct pool_workqueue *pwq, struct work_struct *work),
	      { on_queue_work(pwq, work, raw); return 0; })
LS_TRACEPOINT(workqueue_activate_work, (struct work_struct *work),
	      { (void)raw; on_activate_work(); return 0; })
LS_TRACEPOINT(workqueue_execute_start, (struct work_struct *work),
	      { on_execute_start(work, raw); return 0; })
LS_TRACEPOINT(workqueue_execute_end, (struct work_struct *work, work_func_t function),
	      { (void)raw; on_execute_end(work); return 0; })
LS_TRACEPOINT(contention_begin, (void *lock, unsigned int flags),
	      { (void)raw; on_contention_begin((__u64)lock, flags); return 0; })
LS_TRACEPOINT(contention_end, (void *lock, int ret),
	      { (void)raw; on_contention_end((__u64)lock); return 0; })
