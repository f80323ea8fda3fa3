// SPDX-License-Identifier: Apache-2.0
// The libbpf side of recording: lockscope's BPF object opened, configured
// and loaded as the load plan says, each program attached (every link owned
// by RAII), and the per-CPU maps read back and merged into snapshots.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lockscope/bpf_shared.h"
#include "lockscope/core/profile.hpp"
#include "lockscope/record/load_plan.hpp"
#include "lockscope/record/snapshot.hpp"

namespace lockscope {

struct SessionOptions {
  std::string btf_path;  // --btf: types for CO-RE on kernels without /sys/kernel/btf/vmlinux
  uint32_t site_entries = LS_DEFAULT_SITE_ENTRIES;
  uint32_t stack_entries = LS_DEFAULT_STACK_ENTRIES;
  uint32_t inflight_entries = LS_DEFAULT_INFLIGHT_ENTRIES;
  bool stats = false;  // kernel BPF run-time stats (--stats)
  // record --floor: empty programs on the plan's hooks instead of lockscope's
  // (the overhead floor; snapshots stay empty).
  bool floor = false;
};

struct ProgramStats {
  std::string name;
  std::string attach;  // e.g. "fentry/_raw_spin_lock"
  uint64_t run_cnt = 0;
  uint64_t run_time_ns = 0;
  uint64_t recursion_misses = 0;
};

// Each program's runs, time and recursion misses since `before` (programs
// match by name; a program not in `before` counts from zero).
std::vector<ProgramStats> stats_since(const std::vector<ProgramStats>& now,
                                      const std::vector<ProgramStats>& before);

// A loaded and attached set of programs. Destroying it detaches everything.
class BpfSession {
 public:
  virtual ~BpfSession() = default;
  // Sections attached ("fentry/_raw_spin_lock", "tp_btf/sched_switch", ...).
  virtual const std::vector<std::string>& attached() const = 0;
  // The plan's refusals and the hooks that failed to attach.
  virtual const std::vector<HookRefusal>& refused() const = 0;
  virtual Snapshot snapshot() = 0;
  // Zeroes counters, histograms, site maps and the per-CPU state between
  // runs (a hold open across it is dropped; the learned locks stay).
  virtual void reset() = 0;
  virtual std::vector<ProgramStats> program_stats() = 0;
  // The programs' runs as they count them, by enum ls_run_class, summed
  // over the CPUs (zeroed by reset()); one map read, cheap.
  virtual std::vector<uint64_t> hook_runs() = 0;
};

// open -> configure -> load -> attach. Throws Error(kExitUnsupported) when
// the plan's backend is "none", loading fails, or one of the plan's required
// programs does not attach.
std::unique_ptr<BpfSession> open_session(const LoadPlan& plan, const SessionOptions& opts);

}  // namespace lockscope
