// SPDX-License-Identifier: GPL-2.0-only
/*
 * Programs `lockscope probe` loads to learn what the kernel really allows
 * (BTF may list a function that a policy such as lockdown refuses to let
 * BPF hook): empty programs of each kind, retargeted by user space with
 * bpf_program__set_attach_target() before load, and two that do what
 * lockscope's programs do — a probe read, and a BTF pointer walk — since
 * lockdown=confidentiality refuses the first and not the second.
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

SEC("fexit/try_to_wake_up")
int BPF_PROG(empty_fexit)
{
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(empty_tp_btf)
{
	return 0;
}

__u64 seen;

SEC("tp_btf/sched_switch")
int BPF_PROG(reads_kernel, bool preempt, struct task_struct *prev)
{
	unsigned int flags = 0;

	bpf_probe_read_kernel(&flags, sizeof(flags), &prev->flags);
	seen = flags;
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(walks_btf, bool preempt, struct task_struct *prev)
{
	seen = prev->flags;
	return 0;
}
