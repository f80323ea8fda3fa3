// SPDX-License-Identifier: Apache-2.0
// The profile: what `record` and `bench` write and `report`, `diff` and `ab`
// read. The JSON format is documented in docs/profile-format.md; this is its
// in-memory form. One profile holds one run per (scope, repetition[, boot]).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lockscope/core/histogram.hpp"

namespace lockscope {

inline constexpr const char* kProfileSchema = "lockscope.profile";
inline constexpr int kProfileVersion = 1;
// Input limits of profile_from_json/load_profile, far above anything lockscope
// writes: larger or deeper documents are refused (exit 2) while parsing.
inline constexpr size_t kProfileMaxBytes = size_t(256) << 20;  // text size
inline constexpr size_t kProfileMaxDepth = 64;                 // nesting levels
inline constexpr size_t kProfileMaxEntries = size_t(1) << 18;  // per array/object
inline constexpr size_t kProfileMaxValues = size_t(1) << 23;   // whole document

// One attribution row: an acquiring function, a call site, a work function.
struct SiteEntry {
  std::string site;               // symbolized ("__queue_work", "kick_pool <- __queue_work")
  std::string detail;             // e.g. the workqueue of a work function; may be empty
  std::string kind;               // pool kind ("percpu", "unbound", "bh") or empty
  uint64_t count = 0;             // events at this site
  std::optional<Histogram> hist;  // time at this site, where the metric is a time
};
// The order sites are listed in everywhere: most total time (histogram sum)
// first, then most events, then by name.
bool site_before(const SiteEntry& a, const SiteEntry& b);
void sort_sites(std::vector<SiteEntry>& sites);

// lockscope's own programs' time inside what a metric times (their clock
// reads, map look-ups, stack walks): measured by the programs and taken out
// of the metric's values (docs/profile-format.md, "Hold").
struct ProbeEffect {
  uint64_t removed_ns = 0;  // total
  uint64_t runs = 0;        // lockscope program runs inside the timed events
};

// Events a metric lost, against its own events: counted losses that take
// events from it, and the share of runs the kernel skipped (recursion) of the
// programs it depends on.
struct MetricLoss {
  uint64_t drops = 0;    // counted losses that concern this metric
  double recursion = 0;  // largest skipped share of its programs' runs
  double fraction = 0;   // max(drops / (events + drops), recursion)
};

struct Metric {
  enum class Status { kOk, kUnavailable };
  Status status = Status::kOk;
  std::string reason;                        // why unavailable
  std::optional<Histogram> hist;             // time metrics (*_ns and rq nesting)
  std::optional<uint64_t> count;             // event metrics
  std::optional<uint64_t> total;             // denominator of `share` (e.g. all wakeups)
  std::map<std::string, Histogram> by_kind;  // pool kind -> histogram
  std::vector<SiteEntry> by_site;            // sorted: most total time / count first
  std::optional<ProbeEffect> probe_effect;   // where lockscope timed itself out of it
  std::optional<MetricLoss> loss;            // where losses were accounted per metric

  bool ok() const { return status == Status::kOk; }
  // The events the metric counts or times (count, else the histogram's).
  uint64_t events() const;
  // count / total, when both exist and total > 0.
  std::optional<double> share() const;
  static Metric unavailable(std::string why);
};

// Workload figures of one run (bench / record --workload).
struct WorkloadResult {
  std::string name;   // "pty", "test_workqueue"
  std::string scope;  // affinity scope, or empty
  uint32_t threads = 0;
  uint64_t items = 0;  // items completed in the run
  double duration_s = 0;
  double items_per_sec = 0;
  std::map<std::string, double> latency_ns;  // "p50", "p90", "p95", "p99" (as available)
  std::optional<Histogram> latency;          // full round-trip histogram where measured
};

// One lockscope program's share of a run's cost: its runs and the time the
// kernel measured inside it during the sampled window.
struct ProgramCost {
  std::string attach;                // section, e.g. "tp_btf/sched_switch"
  uint64_t runs = 0;                 // runs in the window
  uint64_t run_time_ns = 0;          // time inside the program in the window
  double runs_per_s = 0;             // derived: runs / window_s
  std::optional<double> ns_per_run;  // derived: run_time_ns / runs (none without runs)
};

// What lockscope itself cost during a run (docs/profile-format.md, "Cost"):
// kernel BPF run-time stats of its programs, sampled for a window of the run.
// Unavailable (with the reason) when the stats could not be had: never zeros.
struct Cost {
  bool ok = false;
  std::string reason;   // why unavailable
  std::string source;   // "kernel BPF stats"
  double window_s = 0;  // length of the sampled window
  uint32_t cpus = 0;    // online CPUs, the denominator of cpu_fraction
  std::vector<ProgramCost> programs;
  // The window's runs as lockscope's programs counted them themselves, by
  // class ("waking", "switch", ...): a check of the kernel's run counts.
  std::map<std::string, uint64_t> counted_runs;

  // Derived (derive_cost(), lockscope/core/cost.hpp); recomputed on load.
  double hook_runs_per_s = 0;  // runs of all lockscope programs per second
  double cpu_fraction = 0;     // their run time per second / (cpus x 1e9)
  // How much longer a pool->lock is held because of lockscope, per hold:
  // lock_ns + unlock_ns + inside_ns; unavailable with `hold_reason`.
  std::optional<double> added_per_hold_ns;
  std::string hold_reason;
  double lock_ns = 0;    // ns/run of the fexit lock programs, weighted by runs
  double unlock_ns = 0;  // ns/run of the fentry unlock programs, weighted by runs
  double inside_ns = 0;  // the hold metric's probe_effect.mean_removed_ns

  static Cost unavailable(std::string why);
};

struct Run {
  std::string scope;        // affinity scope, empty for a plain recording
  uint32_t repetition = 0;  // 0-based repetition of this scope
  int32_t boot = -1;        // boot index under `ab`, -1 otherwise
  double duration_s = 0;
  std::optional<WorkloadResult> workload;
  std::map<std::string, Metric> metrics;
  std::map<std::string, uint64_t> counters;  // raw BPF counters, by name
  std::map<std::string, uint64_t> drops;     // losses by name; non-zero = lossy
  std::optional<Cost> cost;                  // absent in profiles before costs were recorded

  uint64_t total_drops() const;
  // The largest loss of any metric (MetricLoss::fraction). Profiles written
  // before losses were kept per metric: lost events relative to the events
  // the hooks saw (counters["hook_events"]), 1.0 when something was lost and
  // no denominator was recorded.
  double loss_fraction() const;
};

struct HookRefusal {
  std::string name;
  std::string reason;
};

struct Profile {
  std::string schema = kProfileSchema;
  int version = kProfileVersion;
  std::string tool_version;
  std::string created;  // ISO 8601 UTC
  std::string label;    // free text (--label), e.g. "baseline"

  // host and kernel facts
  std::string hostname;
  std::string kernel_release;
  uint32_t nr_cpus = 0;
  std::string clocksource;    // what bpf_ktime_get_ns() read: tsc, hpet, kvm-clock, ...
  std::string patch_state;    // pre-patch | post-patch | legacy | unknown
  std::string patch_variant;  // merged | posted-v2 | "" (pre-patch/legacy)

  std::string backend;  // fentry | tracepoint | both | none (the load plan's words)
  std::vector<std::string> hooks_attached;
  std::vector<HookRefusal> hooks_refused;
  // What the sites of pool holds, wakeups and rq acquisitions were named from:
  // "stacks" (record --stacks: the first frames of kernel stacks), "acquirers"
  // (the acquiring function and the workqueue function seen inside the hold),
  // "none" (record --no-sites), or "" (not recorded: older profiles, bench).
  std::string site_source;

  std::vector<Run> runs;
};

// A new profile with this host's facts: tool version, creation time (UTC),
// hostname, kernel release, online CPUs, clocksource; patch state "unknown",
// backend "none".
Profile new_host_profile();

// JSON (de)serialization. Parsing throws lockscope::Error(kExitUsage) with the
// file name and the reason for anything malformed, truncated or of another
// schema/version.
std::string profile_to_json(const Profile& p, bool pretty = true);
Profile profile_from_json(const std::string& text, const std::string& origin = "<profile>");
Profile load_profile(const std::string& path);
// Atomic: writes PATH.tmp.XXXXXX in the same directory, fsyncs, renames.
// An existing file is replaced only on success. Throws Error(kExitUsage).
void save_profile(const Profile& p, const std::string& path);

// Atomic write of any text file (used by every writer of output files).
void write_file_atomic(const std::string& path, const std::string& content);

}  // namespace lockscope
