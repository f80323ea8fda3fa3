// SPDX-License-Identifier: Apache-2.0
#include "lockscope/record/load_plan.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "lockscope/core/error.hpp"
#include "lockscope/core/metrics.hpp"
#include "lockscope/probe/hooks.hpp"

namespace lockscope {

Backend parse_backend(const std::string& s) {
  if (s == "auto") return Backend::kAuto;
  if (s == "fentry") return Backend::kFentry;
  if (s == "tracepoint") return Backend::kTracepoint;
  if (s == "both") return Backend::kBoth;
  throw usage_error("unknown backend '" + s + "'", "use one of: auto, fentry, tracepoint, both");
}

const char* backend_name(Backend b) {
  switch (b) {
    case Backend::kAuto: return "auto";
    case Backend::kFentry: return "fentry";
    case Backend::kTracepoint: return "tracepoint";
    case Backend::kBoth: return "both";
  }
  return "?";
}

namespace {

// The fentry backend's own hooks: the required function hooks of the holds.
bool fentry_core(const HookInfo& h) {
  return is_function_hook(h) && h.required && (h.provides & kSrcLockHooks) != 0;
}

const AttachResult* function_result(const ProbeReport& probe, const HookInfo& h) {
  const FunctionStatus* f = probe.function(h.target);
  if (!f) return nullptr;
  return h.kind == HookKind::kFexit ? &f->fexit : &f->fentry;
}

bool function_ok(const ProbeReport& probe, const HookInfo& h) {
  const AttachResult* a = function_result(probe, h);
  return a && a->ok;
}

std::string function_refusal(const ProbeReport& probe, const HookInfo& h) {
  const AttachResult* a = function_result(probe, h);
  return a ? a->detail : std::string("not probed");
}

// The section a hook loads as, or empty with `why` when it cannot load.
std::string section_for(const ProbeReport& probe, const HookInfo& h, bool force_raw_tp,
                        std::string* why) {
  if (is_function_hook(h)) {
    if (function_ok(probe, h))
      return (h.kind == HookKind::kFexit ? "fexit/" : "fentry/") + std::string(h.target);
    *why = function_refusal(probe, h);
    return {};
  }
  if (h.provides & kSrcContention && !probe.contention_fires) {
    *why = probe.contention_why;
    return {};
  }
  const TracepointStatus* t = probe.tracepoint(h.target);
  if (!t) {
    *why = "not probed";
    return {};
  }
  // raw_tp bodies read kernel memory with bpf_probe_read_kernel().
  bool raw_ok = (t->raw_tp.ok || force_raw_tp) && probe.read_kernel.ok;
  if (t->tp_btf.ok && !force_raw_tp) return "tp_btf/" + std::string(h.target);
  if (raw_ok) return "raw_tp/" + std::string(h.target);
  *why = "tp_btf: " + (force_raw_tp ? std::string("not used (--raw-tp)") : t->tp_btf.detail) +
         "; raw_tp: " +
         (t->raw_tp.ok || force_raw_tp
              ? "needs bpf_probe_read_kernel (" + probe.read_kernel.detail + ")"
              : t->raw_tp.detail);
  return {};
}

std::string section_prefix(const HookInfo& h) {
  return h.kind == HookKind::kFentry ? "fentry/" : h.kind == HookKind::kFexit ? "fexit/" : "";
}

bool attached_hook(const HookInfo& h, const std::vector<std::string>& attached) {
  std::string t = h.target;
  for (const auto& a : attached) {
    if (is_function_hook(h) ? a == section_prefix(h) + t
                            : (a == "tp_btf/" + t || a == "raw_tp/" + t))
      return true;
  }
  return false;
}

// Whether a source has hooks it requires (then all of them are needed),
// else any one hook providing it is enough.
bool source_has_required(unsigned bit) {
  for (const auto& h : hook_catalogue())
    if (h.required && (h.provides & bit)) return true;
  return false;
}

std::string why_missing(const HookInfo& h, const LoadPlan& plan) {
  for (const auto& r : plan.refused)
    if (r.name == hook_name(h)) return hook_name(h) + ": " + r.reason;
  return hook_name(h) + ": not selected by --backend " + plan.backend;
}

// Why a source is missing: the first hook it needs that is not there, or "".
std::string missing_source_reason(unsigned source, const LoadPlan& plan,
                                  const std::vector<std::string>& attached) {
  for (unsigned bit = 1; bit != 0 && bit <= source; bit <<= 1) {
    if (!(source & bit)) continue;
    bool any = !source_has_required(bit);
    for (const auto& h : hook_catalogue()) {
      if (!(h.provides & bit) || attached_hook(h, attached)) continue;
      if (h.required || any) return why_missing(h, plan);
    }
  }
  return {};
}

unsigned sources_of(const std::vector<std::string>& attached) {
  unsigned all = 0;
  for (const auto& h : hook_catalogue()) all |= h.provides;
  unsigned have = 0;
  for (unsigned bit = 1; bit != 0 && bit <= all; bit <<= 1) {
    if (!(all & bit)) continue;
    bool required = source_has_required(bit), ok = required, any = false;
    for (const auto& h : hook_catalogue()) {
      if (!(h.provides & bit)) continue;
      bool there = attached_hook(h, attached);
      any = any || there;
      if (h.required && !there) ok = false;
    }
    if (required ? ok : any) have |= bit;
  }
  return have;
}

// The sources the selected metrics need, every alternative of each (the
// backend's families then decide which alternative can be had).
unsigned needed_sources(const std::vector<std::string>& selected) {
  unsigned n = 0;
  for (const auto& name : selected)
    if (const MetricInfo* m = find_metric(name))
      for (unsigned alt : m->needs) n |= alt;
  return n;
}

// Whether the selection keeps a hook: everything without a selection, else
// what provides or serves a needed source.
bool hook_selected(const HookInfo& h, const std::vector<std::string>& selected, unsigned needed) {
  return selected.empty() || ((h.provides | h.serves) & needed) != 0;
}

// The lock hooks need the clock when a timed metric of theirs is asked for.
bool needs_hold_clock(const std::vector<std::string>& selected) {
  if (selected.empty()) return true;
  for (const auto& name : selected) {
    const MetricInfo* m = find_metric(name);
    if (m && m->kind == MetricKind::kTime && (m->needs[0] & kSrcLockHooks)) return true;
  }
  return false;
}

}  // namespace

std::vector<std::string> parse_metric_selection(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (const auto& arg : args) {
    size_t start = 0;
    while (start <= arg.size()) {
      size_t end = arg.find(',', start);
      if (end == std::string::npos) end = arg.size();
      std::string name = arg.substr(start, end - start);
      start = end + 1;
      if (name.empty()) continue;
      if (!find_metric(name)) {
        std::string known;
        for (const auto& m : metric_catalogue())
          known += (known.empty() ? "" : ", ") + std::string(m.name);
        throw usage_error("unknown metric '" + name + "' in --metrics",
                          "the metrics are: " + known);
      }
      if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
    }
  }
  if (!args.empty() && out.empty())
    throw usage_error("--metrics names no metric",
                      "give a comma list, e.g. --metrics pool_lock_hold_ns");
  return out;
}

LoadPlan make_load_plan(const ProbeReport& probe, const PlanRequest& req) {
  LoadPlan p;
  std::string fentry_why;
  for (const auto& h : hook_catalogue())
    if (fentry_core(h) && !function_ok(probe, h)) {
      fentry_why = hook_name(h) + ": " + function_refusal(probe, h);
      break;
    }
  const bool fentry_ok = fentry_why.empty();
  unsigned families = 0;
  switch (req.backend) {
    case Backend::kAuto: families = fentry_ok ? kFamilyFentry : kFamilyTracepoint; break;
    case Backend::kFentry:
      if (!fentry_ok)
        throw unsupported("the fentry backend cannot run on this kernel (" + fentry_why + ")",
                          "use --backend tracepoint (or auto) here; function hooks work on kernels "
                          "without lockdown, e.g. under QEMU (`lockscope ab`)");
      families = kFamilyFentry;
      break;
    case Backend::kTracepoint: families = kFamilyTracepoint; break;
    case Backend::kBoth:
      if (!fentry_ok)
        throw unsupported(
            "--backend both needs fentry, which this kernel refuses (" + fentry_why + ")",
            "use --backend tracepoint here");
      families = kFamilyFentry | kFamilyTracepoint;
      break;
  }
  const bool want_fentry = families & kFamilyFentry, want_tp = families & kFamilyTracepoint;
  p.track_sites = req.track_sites;
  p.track_stacks = req.track_sites && req.track_stacks;
  p.track_wq_latency = want_tp;
  p.can_read_kernel = probe.read_kernel.ok;
  p.selected = req.metrics;
  p.time_holds = needs_hold_clock(req.metrics);
  const unsigned needed = needed_sources(req.metrics);

  for (const auto& h : hook_catalogue()) {
    if (!hook_selected(h, req.metrics, needed)) continue;
    // Refused function hooks are listed even when the tracepoint backend was
    // chosen because of them: the report says what was not available.
    bool wanted = h.families & families;
    if (!wanted && !(is_function_hook(h) && !fentry_ok)) continue;
    std::string why;
    std::string section = section_for(probe, h, req.force_raw_tp, &why);
    if (section.empty() || !wanted) {
      if (section.empty()) p.refused.push_back({hook_name(h), why});
      continue;
    }
    if (std::find(p.programs.begin(), p.programs.end(), section) != p.programs.end()) continue;
    p.programs.push_back(section);
    if (want_fentry && fentry_core(h)) p.required.push_back(section);
    if (h.provides & kSrcLockWaits) p.waits_from_hooks = true;
  }
  if (p.track_sites && !p.track_stacks && !p.can_read_kernel && want_fentry)
    p.hints.push_back(
        "per-site rows of the lock metrics need the acquirer's address, read with "
        "bpf_probe_read_kernel(), which this kernel refuses (" +
        probe.read_kernel.detail + "): they show [unknown]; --stacks names sites from stacks");

  if (p.programs.empty()) {
    p.backend = "none";
    p.reason = "neither function hooks nor tracepoints can be attached";
  } else if (want_fentry && want_tp) {
    p.backend = "both";
    p.reason = "fentry on the spinlock and wakeup functions, and the tracepoint backend's view";
  } else if (want_fentry) {
    p.backend = "fentry";
    p.reason = "fentry attaches to the spinlock and wakeup functions";
  } else {
    p.backend = "tracepoint";
    p.reason =
        fentry_ok ? "--backend tracepoint" : "function hooks unavailable (" + fentry_why + ")";
  }
  p.metrics = metric_availability(p, p.programs);

  if (!fentry_ok && probe.lockdown != "none" && probe.lockdown != "unknown")
    p.hints.push_back("kernel lockdown is '" + probe.lockdown +
                      "': function hooks are refused here; boot without lockdown, or measure "
                      "function-level metrics in a VM (`lockscope ab`)");
  return p;
}

std::map<std::string, Availability> metric_availability(const LoadPlan& plan,
                                                        const std::vector<std::string>& attached) {
  std::map<std::string, Availability> out;
  unsigned have = sources_of(attached);
  for (const auto& m : metric_catalogue()) {
    Availability a;
    if (!plan.selected.empty() &&
        std::find(plan.selected.begin(), plan.selected.end(), m.name) == plan.selected.end()) {
      a.reason = "not recorded: not asked for (record --metrics)";
      out[m.name] = a;
      continue;
    }
    a.ok = metric_satisfied(m, have);
    if (!a.ok) {
      std::string why;
      for (unsigned alt : m.needs)
        if (alt) {
          std::string w = missing_source_reason(alt & ~have, plan, attached);
          if (!w.empty()) why += (why.empty() ? "" : "; or ") + w;
        }
      a.reason = std::string(m.needs_text) + (why.empty() ? "" : " (" + why + ")");
    }
    out[m.name] = a;
  }
  return out;
}

std::string load_plan_text(const LoadPlan& plan) {
  std::string o = "backend       " + plan.backend + " -- " + plan.reason + "\n";
  for (const auto& m : metric_catalogue()) {
    auto it = plan.metrics.find(m.name);
    if (it == plan.metrics.end()) continue;
    o += "  " + std::string(m.name) +
         std::string(32 - std::min<size_t>(31, std::string(m.name).size()), ' ') +
         (it->second.ok ? "yes" : "no: " + it->second.reason) + "\n";
  }
  for (const auto& h : plan.hints) o += "hint: " + h + "\n";
  return o;
}

void add_load_plan_json(nlohmann::json& j, const LoadPlan& plan) {
  j["backend"] = {{"name", plan.backend}, {"reason", plan.reason}};
  nlohmann::json metrics = nlohmann::json::object();
  for (const auto& [name, a] : plan.metrics) {
    metrics[name] = {{"available", a.ok}};
    if (!a.ok) metrics[name]["reason"] = a.reason;
  }
  j["metrics"] = metrics;
  for (const auto& h : plan.hints) j["hints"].push_back(h);
}

}  // namespace lockscope
