/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The lock filter: which lock addresses lockscope tracks, and as what kind.
 * A direct-mapped table of lock addresses with the kind (enum ls_lock_kind)
 * in the low bits (addr | kind), two slots per hash (2-way). Lookups are the
 * cheapest exit of the spinlock hooks for every lock that is not a known
 * pool->lock or rq->lock: one multiply, one array slot, two compares.
 */
#ifndef LOCKSCOPE_LOCK_FILTER_BPF_H
#define LOCKSCOPE_LOCK_FILTER_BPF_H

#include "aggregate.bpf.h"

#define LS_FILTER_SLOTS 8192
#define LS_KIND_MASK 7ull /* lock addresses are 8-byte aligned: kinds fit below */

struct filter_slot {
	__u64 e[2]; /* lock address | kind, 0 = empty */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LS_FILTER_SLOTS / 2);
	__type(key, __u32);
	__type(value, struct filter_slot);
} lock_filter SEC(".maps");

static __always_inline __u32 filter_index(__u64 lock)
{
	return (__u32)((lock * 0x9E3779B97F4A7C15ull) >> 52) & (LS_FILTER_SLOTS / 2 - 1);
}

/* Kind of a lock (enum ls_lock_kind), LS_KIND_NONE when it is not tracked. */
static __always_inline __u32 lock_kind(__u64 lock)
{
	__u32 idx = filter_index(lock);
	struct filter_slot *s = bpf_map_lookup_elem(&lock_filter, &idx);

	if (!s)
		return LS_KIND_NONE;
	if ((s->e[0] & ~LS_KIND_MASK) == lock)
		return s->e[0] & LS_KIND_MASK;
	if ((s->e[1] & ~LS_KIND_MASK) == lock)
		return s->e[1] & LS_KIND_MASK;
	return LS_KIND_NONE;
}

/* Enters a lock in the filter (idempotent): true when it is there now;
 * counts what could not be entered. */
static __always_inline bool learn_lock(__u64 lock, __u32 kind)
{
	__u32 idx;
	struct filter_slot *s;
	__u64 want = lock | kind;

	if (!lock)
		return false;
	if (lock & LS_KIND_MASK) {
		count(LS_D_UNALIGNED_LOCK);
		return false;
	}
	idx = filter_index(lock);
	s = bpf_map_lookup_elem(&lock_filter, &idx);
	if (!s)
		return false;
	if ((s->e[0] & ~LS_KIND_MASK) == lock || (s->e[1] & ~LS_KIND_MASK) == lock)
		return true;
	if (__sync_val_compare_and_swap(&s->e[0], 0, want) == 0 ||
	    __sync_val_compare_and_swap(&s->e[1], 0, want) == 0) {
		count(kind == LS_KIND_RQ ? LS_C_RQS_LEARNED : LS_C_POOLS_LEARNED);
		return true;
	}
	if ((s->e[0] & ~LS_KIND_MASK) == lock || (s->e[1] & ~LS_KIND_MASK) == lock)
		return true; /* entered by another CPU meanwhile */
	count(LS_D_FILTER_FULL);
	return false;
}

static __always_inline void forget_lock(__u64 lock)
{
	__u32 idx = filter_index(lock);
	struct filter_slot *s = bpf_map_lookup_elem(&lock_filter, &idx);

	if (!s)
		return;
	if ((s->e[0] & ~LS_KIND_MASK) == lock)
		__sync_val_compare_and_swap(&s->e[0], s->e[0], 0);
	if ((s->e[1] & ~LS_KIND_MASK) == lock)
		__sync_val_compare_and_swap(&s->e[1], s->e[1], 0);
}

#endif /* LOCKSCOPE_LOCK_FILTER_BPF_H */
