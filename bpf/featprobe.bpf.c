// SPDX-License-Identifier: GPL-2.0-only
/*
 * Empty programs used by `lockscope probe` to learn whether the kernel really
 * loads and attaches a program of each kind on a given target (BTF may list
 * a function that a policy such as lockdown refuses to let BPF hook). User
 * space retargets them with bpf_program__set_attach_target() before load.
 * `empty_fentry` is also the floor of the overhead benchmark.
 */
#include "kernel_types.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("fentry/try_to_wake_up")
int BPF_PROG(empty_fentry)
{
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(empty_tp_btf)
{
	return 0;
}
