// SPDX-License-Identifier: Apache-2.0
// The load plan: from what the probe found and what the user asked, which of
// lockscope's BPF programs to load, which hooks are refused and why, which
// metrics that gives (and why the others are unavailable), and the backend's
// name. A pure function — no kernel calls — so `probe` and `record` cannot
// disagree, and it is unit-tested without root (tests/unit/record).
#pragma once

#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "lockscope/core/profile.hpp"
#include "lockscope/probe/probe.hpp"

namespace lockscope {

// What `--backend` asks for. The chosen backend is named with the same words
// (auto resolves to fentry or tracepoint), or "none" when nothing can run.
enum class Backend { kAuto, kFentry, kTracepoint, kBoth };
Backend parse_backend(const std::string& s);  // throws usage_error
const char* backend_name(Backend b);

struct PlanRequest {
  Backend backend = Backend::kAuto;
  bool track_sites = true;    // per-site rows (acquirer address + workqueue context)
  bool track_stacks = false;  // wakeups under pool->lock named from stacks (--stacks)
  bool force_raw_tp = false;  // raw_tp even where tp_btf works (--raw-tp)
  // record --metrics: only these catalogue metrics, and only the hooks they
  // need; empty = every metric.
  std::vector<std::string> metrics;
};

// The names of --metrics, checked against the catalogue (comma lists and
// repeats allowed); throws usage_error naming the known metrics.
std::vector<std::string> parse_metric_selection(const std::vector<std::string>& args);

struct Availability {
  bool ok = false;
  std::string reason;  // why not, when !ok
};

struct LoadPlan {
  std::string backend;  // fentry | tracepoint | both | none
  std::string reason;   // one line: why this backend
  // BPF program sections to load: "fentry/<function>", "tp_btf/<tracepoint>",
  // "raw_tp/<tracepoint>".
  std::vector<std::string> programs;
  // Sections whose attach failure ends the recording (the backend's own hooks).
  std::vector<std::string> required;
  // Hooks the backend would use and cannot have, with the probe's reason.
  std::vector<HookRefusal> refused;
  bool track_sites = true, track_stacks = false, track_wq_latency = false;
  bool waits_from_hooks = false;  // lock entry hooks time the waits (not the tracepoints)
  bool can_read_kernel = true;    // the programs may call bpf_probe_read_kernel()
  // The lock hooks read the clock (a timed lock metric is asked for); with
  // counts only they do not.
  bool time_holds = true;
  std::vector<std::string> selected;  // record --metrics; empty = all
  // Every catalogue metric (lockscope/core/metrics.hpp), as planned.
  std::map<std::string, Availability> metrics;
  std::vector<std::string> hints;  // what the user can do about refusals
};

// Throws Error(kExitUnsupported) when --backend fentry or both is asked of a
// kernel that refuses function hooks; otherwise a plan (backend "none" when
// nothing at all can be attached).
LoadPlan make_load_plan(const ProbeReport& probe, const PlanRequest& req);

// Metric availability once the programs are attached: `attached` holds the
// sections that really attached (a hook may still fail at attach time).
std::map<std::string, Availability> metric_availability(const LoadPlan& plan,
                                                        const std::vector<std::string>& attached);

// The plan as `lockscope probe` shows it: backend, reason, metrics, hints.
std::string load_plan_text(const LoadPlan& plan);
// Adds "backend", "metrics" and the plan's hints to probe --json output.
void add_load_plan_json(nlohmann::json& probe_json, const LoadPlan& plan);

}  // namespace lockscope
