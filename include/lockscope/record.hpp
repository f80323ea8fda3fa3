// SPDX-License-Identifier: Apache-2.0
// Recording: load lockscope's BPF programs (bpf/lockscope.bpf.c) for the
// chosen backend, read their per-CPU maps, and turn them into profile runs.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lockscope/histogram.hpp"
#include "lockscope/probe.hpp"
#include "lockscope/profile.hpp"

namespace lockscope {

enum class Backend { kAuto, kFentry, kTracepoint, kBoth };
Backend parse_backend(const std::string& s);  // throws usage_error
const char* backend_name(Backend b);

struct SessionOptions {
  Backend backend = Backend::kAuto;
  std::string btf_path;
  bool track_sites = true;      // per-site rows (acquirer address + workqueue context)
  bool track_stacks = false;    // per-site rows from full kernel stacks (--stacks; costly)
  uint32_t site_entries = 256;  // per-site histogram map capacity
  uint32_t stack_entries = 4096;
  uint32_t inflight_entries = 16384;
  bool stats = false;         // kernel BPF run-time stats (--stats)
  bool force_raw_tp = false;  // raw_tp even where tp_btf works (--raw-tp)
};

// Raw contents of the BPF maps, per-CPU copies merged.
struct Snapshot {
  std::vector<uint64_t> counters;  // LS_C_MAX
  uint64_t hook_events = 0;        // spinlock hook runs (denominator of losses)
  std::vector<Histogram> hists;    // LS_NR_HISTS, index metric * LS_KIND_MAX + kind
  struct SiteHist {
    uint32_t metric, kind;
    uint64_t site;
    Histogram hist;
  };
  std::vector<SiteHist> site_hists;
  struct SiteCount {
    uint32_t counter;
    uint32_t context;  // enum ls_context
    uint64_t site;
    uint64_t count;
  };
  std::vector<SiteCount> site_counts;
  std::map<int64_t, std::vector<uint64_t>> stacks;  // stack id -> kernel IPs
  std::map<uint64_t, std::string> func_wq;          // work function -> workqueue name
  bool stack_sites = false;  // sites of pool holds, wakeups and rq acquisitions are stack ids
};

struct ProgramStats {
  std::string name;
  std::string attach;  // e.g. "fentry/_raw_spin_lock"
  uint64_t run_cnt = 0;
  uint64_t run_time_ns = 0;
  uint64_t recursion_misses = 0;
};

// Kernel symbol table (/proc/kallsyms), for stack and function names.
class Symbolizer {
 public:
  static Symbolizer from_kallsyms(const std::string& path = "/proc/kallsyms");
  static Symbolizer from_entries(std::vector<std::pair<uint64_t, std::string>> entries);
  // Name of the function containing `addr`, or "0x..." when unknown.
  std::string name(uint64_t addr) const;
  bool empty() const { return syms_.empty(); }

 private:
  std::vector<std::pair<uint64_t, std::string>> syms_;  // sorted by address
};

// A loaded and attached set of programs. Destroying it detaches everything.
class BpfSession {
 public:
  virtual ~BpfSession() = default;
  virtual std::string backend() const = 0;  // fentry | tracepoint | fentry+tracepoint
  virtual const std::vector<std::string>& attached() const = 0;
  virtual const std::vector<HookRefusal>& refused() const = 0;
  virtual Snapshot snapshot() = 0;
  // Zeroes counters and histograms (not the learned locks or per-CPU state).
  virtual void reset() = 0;
  virtual std::vector<ProgramStats> program_stats() = 0;
};

// open -> configure -> load -> attach, per the probe's verdict. Throws
// Error(kExitUnsupported) when the requested backend cannot run here.
std::unique_ptr<BpfSession> open_session(const SessionOptions& opts, const ProbeReport& probe);

// Which metrics a backend can produce, and why the others are unavailable.
struct Coverage {
  bool fentry = false;        // spinlock + wakeup hooks attached
  bool contention = false;    // lock:contention_begin/end
  bool rq_learning = false;   // sched_switch attached (rq lock addresses)
  bool workqueue = false;     // workqueue_* tracepoints
  bool waking = false;        // sched_waking
  std::string fentry_reason;  // why fentry metrics are unavailable
};
Coverage coverage_of(const BpfSession& s, const ProbeReport& probe);

// Snapshot -> the metrics of one run (profile.hpp names).
Run build_run(const Snapshot& snap, const Coverage& cov, const Symbolizer& syms);

// Interval view: `now - before` (histograms subtract bucket-wise; min/max
// are then bucket bounds).
Snapshot snapshot_delta(const Snapshot& now, const Snapshot& before);

// Fills host/kernel facts of a profile from a probe report.
void fill_profile_facts(Profile& p, const ProbeReport& probe, const std::string& backend);

}  // namespace lockscope
