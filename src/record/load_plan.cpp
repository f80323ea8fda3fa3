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

// The fentry backend's own hooks: the required function hooks of the
// sources it exists for (lock hooks, wakeups).
bool fentry_core(const HookInfo& h) {
  return h.kind == HookKind::kFentry && h.required &&
         (h.provides & (kSrcLockHooks | kSrcWakeupHook)) != 0;
}

std::string fentry_refusal(const ProbeReport& probe, const HookInfo& h) {
  const FunctionStatus* f = probe.function(h.target);
  return f ? f->fentry.detail : std::string("not probed");
}

// The section a hook loads as, or empty with `why` when it cannot load.
std::string section_for(const ProbeReport& probe, const HookInfo& h, bool force_raw_tp,
                        std::string* why) {
  if (h.kind == HookKind::kFentry) {
    if (probe.fentry_ok(h.target)) return "fentry/" + std::string(h.target);
    *why = fentry_refusal(probe, h);
    return {};
  }
  const TracepointStatus* t = probe.tracepoint(h.target);
  if (!t) {
    *why = "not probed";
    return {};
  }
  if (t->tp_btf.ok && !force_raw_tp) return "tp_btf/" + std::string(h.target);
  if (t->raw_tp.ok || force_raw_tp) return "raw_tp/" + std::string(h.target);
  *why = "tp_btf: " + t->tp_btf.detail + "; raw_tp: " + t->raw_tp.detail;
  return {};
}

bool attached_hook(const HookInfo& h, const std::vector<std::string>& attached) {
  std::string t = h.target;
  for (const auto& a : attached) {
    if (h.kind == HookKind::kFentry ? a == "fentry/" + t
                                    : (a == "tp_btf/" + t || a == "raw_tp/" + t))
      return true;
  }
  return false;
}

// Why a source is missing: the first required hook that is not there, or "".
std::string missing_source_reason(unsigned source, const LoadPlan& plan,
                                  const std::vector<std::string>& attached) {
  for (const auto& h : hook_catalogue()) {
    if (!h.required || !(h.provides & source) || attached_hook(h, attached)) continue;
    for (const auto& r : plan.refused)
      if (r.name == hook_name(h)) return hook_name(h) + ": " + r.reason;
    return hook_name(h) + ": not selected by --backend " + plan.backend;
  }
  return {};
}

unsigned sources_of(const std::vector<std::string>& attached) {
  unsigned all = 0;
  for (const auto& h : hook_catalogue()) all |= h.provides;
  unsigned have = 0;
  for (unsigned bit = 1; bit != 0 && bit <= all; bit <<= 1) {
    if (!(all & bit)) continue;
    bool ok = true;
    for (const auto& h : hook_catalogue())
      if (h.required && (h.provides & bit) && !attached_hook(h, attached)) ok = false;
    if (ok) have |= bit;
  }
  return have;
}

}  // namespace

LoadPlan make_load_plan(const ProbeReport& probe, const PlanRequest& req) {
  LoadPlan p;
  std::string fentry_why;
  for (const auto& h : hook_catalogue())
    if (fentry_core(h) && !probe.fentry_ok(h.target)) {
      fentry_why = std::string(h.target) + ": " + fentry_refusal(probe, h);
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

  for (const auto& h : hook_catalogue()) {
    // Refused function hooks are listed even when the tracepoint backend was
    // chosen because of them: the report says what was not available.
    bool wanted = h.families & families;
    if (!wanted && !(h.kind == HookKind::kFentry && !fentry_ok)) continue;
    std::string why;
    std::string section = section_for(probe, h, req.force_raw_tp, &why);
    if (section.empty() || !wanted) {
      if (section.empty()) p.refused.push_back({hook_name(h), why});
      continue;
    }
    p.programs.push_back(section);
    if (want_fentry && fentry_core(h)) p.required.push_back(section);
  }

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
    p.reason = fentry_ok ? "--backend tracepoint" : "fentry unavailable (" + fentry_why + ")";
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
    a.ok = metric_satisfied(m, have);
    if (!a.ok) {
      a.reason = m.needs_text;
      for (unsigned alt : m.needs)
        if (alt) {
          std::string why = missing_source_reason(alt & ~have, plan, attached);
          if (!why.empty()) {
            a.reason += " (" + why + ")";
            break;
          }
        }
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
