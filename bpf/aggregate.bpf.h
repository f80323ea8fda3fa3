/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Where the programs' results go: per-CPU counters and histograms (merged by
 * user space), per-site histograms and counters, stack ids. Hot paths touch
 * per-CPU values only; the per-site hash maps are updated on a site's first
 * event and looked up (lock-free) after that.
 */
#ifndef LOCKSCOPE_AGGREGATE_BPF_H
#define LOCKSCOPE_AGGREGATE_BPF_H

#include "kernel_types.h"
#include <bpf/bpf_helpers.h>
#include "lockscope/bpf_shared.h"
#include "hist.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LS_NR_HISTS);
	__type(key, __u32);
	__type(value, struct ls_hist);
} hists SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LS_C_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, LS_DEFAULT_SITE_ENTRIES); /* --site-entries */
	__type(key, struct ls_site_key);
	__type(value, struct ls_hist);
} site_hists SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, LS_DEFAULT_COUNT_ENTRIES);
	__type(key, struct ls_count_key);
	__type(value, __u64);
} site_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, LS_DEFAULT_STACK_ENTRIES); /* --stack-entries */
	__type(key, __u32);
	__uint(value_size, LS_STACK_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

static struct ls_hist zero_hist;

static __always_inline void count(__u32 id)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &id);

	if (c)
		(*c)++;
}

static __always_inline void count_add(__u32 id, __u64 n)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &id);

	if (c)
		*c += n;
}

static __always_inline void hist(__u32 metric, __u32 kind, __u64 v)
{
	__u32 idx = metric * LS_KIND_MAX + kind;
	struct ls_hist *h = bpf_map_lookup_elem(&hists, &idx);

	if (h)
		ls_hist_add(h, v);
}

static __always_inline void site_hist(__u32 metric, __u32 kind, __u64 site, __u64 v)
{
	struct ls_site_key key = { .metric = metric, .kind = kind, .site = site };
	struct ls_hist *h = bpf_map_lookup_elem(&site_hists, &key);

	if (!h) {
		if (bpf_map_update_elem(&site_hists, &key, &zero_hist, BPF_NOEXIST) &&
		    !bpf_map_lookup_elem(&site_hists, &key)) {
			count(LS_D_SITE_MAP_FULL);
			return;
		}
		h = bpf_map_lookup_elem(&site_hists, &key);
		if (!h)
			return;
	}
	ls_hist_add(h, v);
}

/* Adds n to a per-site counter. */
static __always_inline void site_count(__u32 counter, __u32 context, __u64 site, __u64 n)
{
	struct ls_count_key key = { .counter = counter, .context = context, .site = site };
	__u64 *c = bpf_map_lookup_elem(&site_counts, &key);

	if (c) {
		*c += n;
		return;
	}
	if (bpf_map_update_elem(&site_counts, &key, &n, BPF_NOEXIST)) {
		c = bpf_map_lookup_elem(&site_counts, &key);
		if (c)
			*c += n;
		else
			count_add(LS_D_SITE_MAP_FULL, n);
	}
}

static __always_inline __s64 stack_id(void *ctx)
{
	__s64 id;

	id = bpf_get_stackid(ctx, &stacks, 0);
	if (id < 0)
		count(LS_D_STACK_FAILED);
	return id;
}

#endif /* LOCKSCOPE_AGGREGATE_BPF_H */
