// SPDX-License-Identifier: Apache-2.0
// From raw map contents to the profile's metrics: merging kinds, naming
// sites from stacks, and saying why a metric is unavailable.
#include "lockscope/record/run_builder.hpp"

#include <functional>

#include "lockscope/bpf_shared.h"
#include "lockscope/core/metrics.hpp"
#include "lockscope/core/text.hpp"
#include "lockscope/probe/hooks.hpp"

namespace lockscope {

namespace {

// Frames that are lockscope's own machinery or the lock/wakeup primitives.
bool is_plumbing(const std::string& f) {
  return starts_with(f, "bpf_") || starts_with(f, "__bpf") || starts_with(f, "0x") ||
         starts_with(f, "_raw_spin_") || starts_with(f, "raw_spin_rq_") ||
         starts_with(f, "do_raw_spin") || f == "ftrace_trampoline" || starts_with(f, "arch_");
}

bool is_wakeup_primitive(const std::string& f) {
  return f == "try_to_wake_up" || f == "wake_up_process" || f == "wake_up_state" ||
         f == "default_wake_function";
}

// "caller" or "callee <- caller": the first `depth` frames that are not
// plumbing (and, for wakeups, not the wakeup primitives themselves).
std::string site_of(const std::vector<uint64_t>& ips, const Symbolizer& syms, bool skip_wakeups,
                    int depth) {
  std::vector<std::string> names;
  for (uint64_t ip : ips) {
    std::string n = syms.name(ip);
    if (is_plumbing(n) || (skip_wakeups && is_wakeup_primitive(n))) continue;
    if (!names.empty() && names.back() == n) continue;
    names.push_back(n);
    if (int(names.size()) == depth) break;
  }
  if (names.empty()) return "[unknown]";
  std::string s = names[0];
  for (size_t i = 1; i < names.size(); ++i) s += " <- " + names[i];
  return s;
}

const char* kind_name(uint32_t kind) {
  switch (kind) {
    case LS_KIND_POOL_PERCPU: return "percpu";
    case LS_KIND_POOL_UNBOUND: return "unbound";
    case LS_KIND_POOL_BH: return "bh";
    case LS_KIND_RQ: return "rq";
    default: return "";
  }
}

// A pool->lock time metric: all pool kinds merged, and each kind seen.
Metric pool_metric(const Snapshot& s, uint32_t metric) {
  Metric m;
  m.hist = Histogram{};
  for (uint32_t k : {LS_KIND_POOL_PERCPU, LS_KIND_POOL_UNBOUND, LS_KIND_POOL_BH}) {
    const Histogram& h = s.hist(metric, k);
    m.hist->merge(h);
    if (!h.empty()) m.by_kind[kind_name(k)] = h;
  }
  m.count = m.hist->count();
  return m;
}

std::string stack_site(const Snapshot& s, uint64_t id, const Symbolizer& syms, bool wake,
                       int depth) {
  auto it = s.stacks.find(int64_t(id));
  if (it == s.stacks.end()) return "[stack lost]";
  return site_of(it->second, syms, wake, depth);
}

const char* context_name(uint32_t ctx) {
  switch (ctx) {
    case LS_CTX_KICK_POOL: return "kick_pool";
    case LS_CTX_KICK_POOL_PICK: return "kick_pool_pick";
    case LS_CTX_WAKE_UP_Q: return "wake_up_q";
    case LS_CTX_WAKE_UP_PROCESS: return "wake_up_process";
    default: return nullptr;
  }
}

// Where a pool->lock hold came from: its acquirer's address, or with
// --stacks where no address could be read, a stack id.
std::string hold_site(const Snapshot& s, uint64_t site, const Symbolizer& syms) {
  if (s.stack_sites && Snapshot::is_stack_id(site)) return stack_site(s, site, syms, false, 1);
  return site ? syms.name(site) : "[unknown]";
}

// "kick_pool <- __queue_work": the workqueue function seen inside the hold,
// and the hold's acquirer; with --stacks, the first frames of the stack the
// hold was released from ("kick_pool <- __queue_work <- queue_work_on").
std::vector<SiteEntry> count_sites(const Snapshot& s, uint32_t counter, const Symbolizer& syms,
                                   bool wake, int depth) {
  std::map<std::string, uint64_t> by;
  for (const auto& c : s.site_counts) {
    if (c.counter != counter) continue;
    const char* ctx = context_name(c.context);
    std::string holder =
        s.stack_sites ? stack_site(s, c.site, syms, wake, depth) : hold_site(s, c.site, syms);
    std::string name = ctx ? std::string(ctx) + " <- " + holder : "pool->lock from " + holder;
    by[name] += c.count;
  }
  std::vector<SiteEntry> out;
  out.reserve(by.size());
  for (const auto& [site, n] : by) out.push_back({site, "", "", n, std::nullopt});
  sort_sites(out);
  return out;
}

std::vector<SiteEntry> func_sites(const Snapshot& s, uint32_t metric, const Symbolizer& syms) {
  std::map<std::string, SiteEntry> by;
  for (const auto& sh : s.site_hists) {
    if (sh.metric != metric) continue;
    std::string fn = syms.name(sh.site);
    SiteEntry& e = by[fn];
    e.site = fn;
    auto wq = s.func_wq.find(sh.site);
    if (wq != s.func_wq.end()) e.detail = wq->second;
    if (!e.hist) e.hist = Histogram{};
    e.hist->merge(sh.hist);
    e.count = e.hist->count();
  }
  std::vector<SiteEntry> out;
  out.reserve(by.size());
  for (auto& [_, e] : by) out.push_back(std::move(e));
  sort_sites(out);
  return out;
}

struct CounterInfo {
  const char* name;
  bool drop;
  const char* affects;  // drops: the metrics it takes events from ("*": all)
};
#define LS_COUNTER_INFO(id, name, comment) {name, false, ""},
#define LS_DROP_INFO(id, name, comment, affects) {name, true, affects},
constexpr CounterInfo kCounters[] = {LS_COUNTERS(LS_COUNTER_INFO) LS_DROPS(LS_DROP_INFO)};
#undef LS_COUNTER_INFO
#undef LS_DROP_INFO
static_assert(sizeof(kCounters) / sizeof(kCounters[0]) == LS_C_MAX,
              "one entry per counter in lockscope/bpf_shared.h");

// ---- one builder per catalogue metric ----------------------------------------

// A lock time per acquirer (site, kind): the hold's, or the wait's, both
// keyed by the address the lock was taken from (or a stack, --stacks).
std::vector<SiteEntry> acquirer_sites(const Snapshot& s, uint32_t metric, const Symbolizer& syms,
                                      bool with_kind) {
  std::map<std::pair<std::string, std::string>, SiteEntry> by;
  for (const auto& sh : s.site_hists) {
    if (sh.metric != metric) continue;
    std::string site = hold_site(s, sh.site, syms);
    std::string kind = with_kind ? kind_name(sh.kind) : "";
    SiteEntry& e = by[{site, kind}];
    e.site = site;
    e.kind = kind;
    if (!e.hist) e.hist = Histogram{};
    e.hist->merge(sh.hist);
    e.count = e.hist->count();
  }
  std::vector<SiteEntry> out;
  out.reserve(by.size());
  for (auto& [_, e] : by) out.push_back(std::move(e));
  sort_sites(out);
  return out;
}

Metric pool_hold(const Snapshot& s, const Symbolizer& syms) {
  Metric hold = pool_metric(s, LS_M_POOL_HOLD);
  hold.probe_effect = ProbeEffect{s.counters[LS_C_HOLD_SELF_NS], s.counters[LS_C_HOLD_SELF_RUNS]};
  hold.by_site = acquirer_sites(s, LS_M_POOL_HOLD, syms, true);
  return hold;
}

Metric wakeups_under_pool(const Snapshot& s, const Symbolizer& syms) {
  Metric wake;
  wake.count = s.counters[LS_C_WAKEUPS_UNDER_POOL];
  wake.total = s.counters[LS_C_WAKEUPS];
  wake.by_site = count_sites(s, LS_SC_WAKEUP_UNDER_POOL, syms, true, 2);
  return wake;
}

Metric rq_nested(const Snapshot& s, const Symbolizer& syms) {
  Metric rq;
  rq.count = s.counters[LS_C_RQ_UNDER_POOL];
  rq.hist = s.hist(LS_M_RQ_NESTED, LS_KIND_RQ);
  rq.by_site = count_sites(s, LS_SC_RQ_UNDER_POOL, syms, false, 2);
  return rq;
}

Metric pool_wait(const Snapshot& s, const Symbolizer& syms) {
  Metric wait = pool_metric(s, LS_M_POOL_WAIT);
  wait.by_site = acquirer_sites(s, LS_M_POOL_WAIT, syms, true);
  return wait;
}

Metric plain_time(const Snapshot& s, uint32_t metric, uint32_t kind) {
  Metric m;
  m.hist = s.hist(metric, kind);
  m.count = m.hist->count();
  return m;
}

// rq->lock waits by the caller's address, in every mode (the BPF side walks
// no stack for them).
Metric rq_wait(const Snapshot& s, const Symbolizer& syms) {
  Metric wait = plain_time(s, LS_M_RQ_WAIT, LS_KIND_RQ);
  wait.by_site = acquirer_sites(s, LS_M_RQ_WAIT, syms, false);
  return wait;
}

Metric wq_time(const Snapshot& s, uint32_t metric, const Symbolizer& syms) {
  Metric m = plain_time(s, metric, 0);
  m.by_site = func_sites(s, metric, syms);
  return m;
}

Metric kworker_wakeups(const Snapshot& s, const Symbolizer& syms) {
  Metric k;
  k.count = s.counters[LS_C_SCHED_WAKING_KWORKER];
  k.total = s.counters[LS_C_WAKEUPS];
  std::map<std::string, uint64_t> by;
  for (const auto& c : s.site_counts)
    if (c.counter == LS_SC_KWORKER_WAKING) by[c.site ? syms.name(c.site) : "[no work]"] += c.count;
  for (const auto& [site, n] : by) k.by_site.push_back({site, "", "", n, std::nullopt});
  sort_sites(k.by_site);
  return k;
}

Metric kick_under_pool(const Snapshot& s, const Symbolizer&) {
  Metric k;
  k.count = s.counters[LS_C_KICK_POOL_UNDER_POOL] + s.counters[LS_C_KICK_POOL_PICK_UNDER_POOL];
  k.total = s.counters[LS_C_KICK_POOL] + s.counters[LS_C_KICK_POOL_PICK];
  return k;
}

using Builder = std::function<Metric(const Snapshot&, const Symbolizer&)>;

const std::map<std::string, Builder>& builders() {
  static const std::map<std::string, Builder> b = {
      {metric::kPoolLockHold, pool_hold},
      {metric::kWakeupsUnderPoolLock, wakeups_under_pool},
      {metric::kRqLockNested, rq_nested},
      {metric::kPoolLockWait, pool_wait},
      {metric::kRqLockWait, rq_wait},
      {metric::kWqQueueLatency,
       [](const Snapshot& s, const Symbolizer& y) { return wq_time(s, LS_M_WQ_QUEUE_LAT, y); }},
      {metric::kWqExec,
       [](const Snapshot& s, const Symbolizer& y) { return wq_time(s, LS_M_WQ_EXEC, y); }},
      {metric::kKworkerWakeups, kworker_wakeups},
      {metric::kKickUnderPoolLock, kick_under_pool},
  };
  return b;
}

// What the programs could not see although they were attached: a source
// that cannot fire here is "unavailable", never a zero.
std::string runtime_gap(const std::string& name, const Snapshot& s) {
  const MetricInfo* m = find_metric(name);
  if (!m) return {};
  bool rq = false;
  for (unsigned alt : m->needs) rq = rq || (alt & kSrcRqLocks);
  if (rq && s.counters[LS_C_RQS_LEARNED] == 0)
    return "no rq lock address was learned (sched_switch gives them through "
           "prev->se.cfs_rq->rq, which needs CONFIG_FAIR_GROUP_SCHED)";
  if (name == metric::kKickUnderPoolLock && s.counters[LS_C_KICK_POOL] == 0 &&
      s.counters[LS_C_KICK_POOL_PICK] == 0)
    return "kick_pool() and kick_pool_pick() were attached but never called";
  return {};
}

bool affects(const char* list, const std::string& metric) {
  std::string l = list;
  if (l == "*") return true;
  std::string padded = " " + l + " ";
  return padded.find(" " + metric + " ") != std::string::npos;
}

// The metrics that depend on the hook a program section serves.
std::vector<std::string> metrics_of_section(const std::string& section) {
  std::vector<std::string> out;
  auto slash = section.find('/');
  if (slash == std::string::npos) return out;
  std::string kind = section.substr(0, slash), target = section.substr(slash + 1);
  unsigned provides = 0;
  for (const auto& h : hook_catalogue()) {
    bool same_kind = h.kind == HookKind::kFentry  ? kind == "fentry"
                     : h.kind == HookKind::kFexit ? kind == "fexit"
                                                  : (kind == "tp_btf" || kind == "raw_tp");
    if (same_kind && target == h.target) provides |= h.provides;
  }
  for (const auto& m : metric_catalogue())
    for (unsigned alt : m.needs)
      if (alt & provides) {
        out.emplace_back(m.name);
        break;
      }
  return out;
}

}  // namespace

int run_class(const std::string& section) {
  auto starts = [&](const char* p) { return section.rfind(p, 0) == 0; };
  if (starts("fentry/_raw_spin_unlock")) return LS_RUN_UNLOCK;
  if (starts("fentry/_raw_spin_lock")) return LS_RUN_LOCK_ENTRY;
  if (starts("fexit/_raw_spin_")) return LS_RUN_LOCKED;
  if (starts("fentry/")) return LS_RUN_FUNCTION;
  std::string tp = section.substr(section.find('/') + 1);
  if (!starts("tp_btf/") && !starts("raw_tp/")) return -1;
  if (tp == "sched_waking") return LS_RUN_WAKING;
  if (tp == "sched_switch") return LS_RUN_SWITCH;
  if (tp.rfind("workqueue_", 0) == 0) return LS_RUN_WORKQUEUE;
  if (tp.rfind("contention_", 0) == 0) return LS_RUN_CONTENTION;
  return -1;
}

const char* counter_name(uint32_t id) { return id < LS_C_MAX ? kCounters[id].name : "?"; }
bool counter_is_drop(uint32_t id) { return id < LS_C_MAX && kCounters[id].drop; }

void account_losses(Run& run, const std::map<std::string, double>& skipped_share) {
  for (auto& [name, m] : run.metrics) {
    if (!m.ok()) continue;
    MetricLoss loss;
    for (uint32_t i = LS_FIRST_DROP; i < LS_C_MAX; ++i) {
      auto d = run.drops.find(kCounters[i].name);
      if (d != run.drops.end() && affects(kCounters[i].affects, name)) loss.drops += d->second;
    }
    for (const auto& [section, share] : skipped_share)
      for (const auto& dep : metrics_of_section(section))
        if (dep == name) loss.recursion = std::max(loss.recursion, share);
    uint64_t events = m.events();
    double counted = loss.drops ? double(loss.drops) / double(events + loss.drops) : 0.0;
    loss.fraction = std::max(counted, loss.recursion);
    m.loss = loss;
  }
}

Run build_run(const Snapshot& s, const std::map<std::string, Availability>& availability,
              const Symbolizer& syms) {
  Run r;
  for (uint32_t i = 0; i < LS_C_MAX && i < s.counters.size(); ++i)
    (kCounters[i].drop ? r.drops : r.counters)[kCounters[i].name] = s.counters[i];
  r.counters["hook_events"] = s.hook_events;
  for (const auto& m : metric_catalogue()) {
    auto a = availability.find(m.name);
    auto b = builders().find(m.name);
    if (a == availability.end() || b == builders().end()) continue;
    std::string gap = a->second.ok ? runtime_gap(m.name, s) : std::string();
    if (!a->second.ok)
      r.metrics[m.name] = Metric::unavailable(a->second.reason);
    else if (!gap.empty())
      r.metrics[m.name] = Metric::unavailable(gap);
    else
      r.metrics[m.name] = b->second(s, syms);
  }
  account_losses(r, {});
  return r;
}

}  // namespace lockscope
