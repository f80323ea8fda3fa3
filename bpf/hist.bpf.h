/* SPDX-License-Identifier: GPL-2.0-only */
/* Log-linear histogram bucketing for BPF; the contract is in lockscope/bpf_shared.h
 * and src/stats/histogram.cpp implements the same index in user space. */
#ifndef LOCKSCOPE_HIST_BPF_H
#define LOCKSCOPE_HIST_BPF_H

#include "lockscope/bpf_shared.h"

/* floor(log2(v)) for v > 0, branch-light (BPF has no count-leading-zeros). */
static __always_inline __u32 ls_log2(__u64 v)
{
	__u32 r = 0, s;

	s = (v > 0xFFFFFFFFull) << 5; v >>= s; r |= s;
	s = (v > 0xFFFF) << 4; v >>= s; r |= s;
	s = (v > 0xFF) << 3; v >>= s; r |= s;
	s = (v > 0xF) << 2; v >>= s; r |= s;
	s = (v > 0x3) << 1; v >>= s; r |= s;
	r |= (v >> 1);
	return r;
}

static __always_inline __u32 ls_hist_index(__u64 v, bool *clamped)
{
	__u32 m, shift;

	*clamped = false;
	if (v < LS_HIST_SUB)
		return (__u32)v;
	m = ls_log2(v);
	if (m > LS_HIST_MAX_MSB) {
		*clamped = true;
		return LS_HIST_BUCKETS - 1;
	}
	shift = m - LS_HIST_SUB_BITS;
	return shift * LS_HIST_SUB + (__u32)(v >> shift);
}

/*
 * Per-CPU histograms only: no atomics needed. User space reads them while
 * programs run, so a read can see an update half done: the bucket comes
 * first and user space takes the count from the buckets (Histogram::
 * merge_bpf), never from `count`, so a histogram it reads always adds up.
 */
static __always_inline void ls_hist_add(struct ls_hist *h, __u64 v)
{
	bool clamped;
	__u32 idx = ls_hist_index(v, &clamped);

	if (idx < LS_HIST_BUCKETS)
		h->buckets[idx]++;
	if (clamped)
		h->clamped++;
	if (h->count == 0 || v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	h->sum += v;
	h->count++;
}

#endif /* LOCKSCOPE_HIST_BPF_H */
