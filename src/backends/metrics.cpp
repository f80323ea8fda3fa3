// SPDX-License-Identifier: Apache-2.0
// From raw map contents to the profile's metrics: merging kinds, naming
// sites from stacks, and saying why a metric is unavailable.
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>

#include "lockscope/bpf_shared.h"
#include "lockscope/record.hpp"
#include "lockscope/version.hpp"

namespace lockscope {

// ---- symbols ---------------------------------------------------------------

Symbolizer Symbolizer::from_kallsyms(const std::string& path) {
  std::vector<std::pair<uint64_t, std::string>> e;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    // "ffffffff81000000 T _stext" or "… t name\t[module]"
    const char* p = line.c_str();
    char* end = nullptr;
    uint64_t addr = std::strtoull(p, &end, 16);
    if (end == p || addr == 0) continue;  // malformed, or hidden (kptr_restrict)
    if (end[0] != ' ' || end[1] == '\0' || end[2] != ' ') continue;
    char type = end[1];
    if (type != 't' && type != 'T' && type != 'W' && type != 'w') continue;
    const char* name = end + 3;
    size_t len = std::strcspn(name, " \t");
    if (len == 0) continue;
    e.emplace_back(addr, std::string(name, len));
  }
  return from_entries(std::move(e));
}

Symbolizer Symbolizer::from_entries(std::vector<std::pair<uint64_t, std::string>> entries) {
  Symbolizer s;
  s.syms_ = std::move(entries);
  std::sort(s.syms_.begin(), s.syms_.end());
  return s;
}

std::string Symbolizer::name(uint64_t addr) const {
  auto it = std::upper_bound(syms_.begin(), syms_.end(), std::make_pair(addr, std::string("\xff")));
  if (it == syms_.begin()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "0x%" PRIx64, addr);
    return buf;
  }
  return std::prev(it)->second;
}

namespace {

bool starts_with(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

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

const Histogram& H(const Snapshot& s, uint32_t metric, uint32_t kind) {
  return s.hists.at(metric * LS_KIND_MAX + kind);
}

// A pool->lock time metric: all pool kinds merged, and each kind seen.
Metric pool_metric(const Snapshot& s, uint32_t metric) {
  Metric m;
  m.hist = Histogram{};
  for (uint32_t k : {LS_KIND_POOL_PERCPU, LS_KIND_POOL_UNBOUND, LS_KIND_POOL_BH}) {
    const Histogram& h = H(s, metric, k);
    m.hist->merge(h);
    if (!h.empty()) m.by_kind[kind_name(k)] = h;
  }
  m.count = m.hist->count();
  return m;
}

void sort_sites(std::vector<SiteEntry>& v) {
  std::sort(v.begin(), v.end(), [](const SiteEntry& a, const SiteEntry& b) {
    uint64_t ta = a.hist ? a.hist->sum() : 0, tb = b.hist ? b.hist->sum() : 0;
    if (ta != tb) return ta > tb;
    if (a.count != b.count) return a.count > b.count;
    return a.site < b.site;
  });
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

// Where a pool->lock hold came from: its acquirer, or a stack (--stacks).
std::string hold_site(const Snapshot& s, uint64_t site, const Symbolizer& syms) {
  if (s.stack_sites) return stack_site(s, site, syms, false, 1);
  return site ? syms.name(site) : "[unknown]";
}

// "kick_pool <- __queue_work": the workqueue function seen inside the hold,
// and the hold's acquirer; or a stack's first frames with --stacks.
std::vector<SiteEntry> count_sites(const Snapshot& s, uint32_t counter, const Symbolizer& syms,
                                   bool wake, int depth) {
  std::map<std::string, uint64_t> by;
  for (const auto& c : s.site_counts) {
    if (c.counter != counter) continue;
    std::string name;
    if (s.stack_sites) {
      name = stack_site(s, c.site, syms, wake, depth);
    } else {
      const char* ctx = context_name(c.context);
      std::string holder = hold_site(s, c.site, syms);
      name = ctx ? std::string(ctx) + " <- " + holder : "pool->lock from " + holder;
    }
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

const char* const kCounterNames[] = {"wakeups",
                                     "wakeups_under_pool_lock",
                                     "rq_lock_under_pool_lock",
                                     "pool_lock_acquired",
                                     "pool_lock_nested",
                                     "kick_pool",
                                     "kick_pool_under_pool_lock",
                                     "kick_pool_pick",
                                     "wake_up_q",
                                     "wake_up_q_under_pool_lock",
                                     "wake_up_process",
                                     "wake_up_process_under_pool_lock",
                                     "process_one_work",
                                     "wq_queued",
                                     "wq_activated",
                                     "wq_started",
                                     "wq_ended",
                                     "sched_waking",
                                     "sched_waking_by_kworker",
                                     "contended_pool_lock",
                                     "contended_rq_lock",
                                     "pool_locks_learned",
                                     "rq_locks_learned",
                                     "filter_full",
                                     "unaligned_lock",
                                     "site_map_full",
                                     "stack_failed",
                                     "inflight_full",
                                     "contention_depth",
                                     "unpaired_pool_unlock"};
static_assert(sizeof(kCounterNames) / sizeof(kCounterNames[0]) == LS_C_MAX,
              "one name per counter in lockscope/bpf_shared.h");

}  // namespace

Run build_run(const Snapshot& s, const Coverage& cov, const Symbolizer& syms) {
  Run r;
  const auto& C = s.counters;
  for (uint32_t i = 0; i < LS_C_MAX; ++i) {
    if (i >= LS_FIRST_DROP)
      r.drops[kCounterNames[i]] = C[i];
    else
      r.counters[kCounterNames[i]] = C[i];
  }
  r.counters["hook_events"] = s.hook_events;

  const std::string rq_reason =
      "rq lock addresses are learned from sched_switch (needs tracepoint sched_switch and "
      "CONFIG_FAIR_GROUP_SCHED's cfs_rq->rq)";
  if (cov.fentry) {
    Metric hold = pool_metric(s, LS_M_POOL_HOLD);
    std::map<std::pair<std::string, std::string>, SiteEntry> by;
    for (const auto& sh : s.site_hists) {
      if (sh.metric != LS_M_POOL_HOLD) continue;
      std::string site = hold_site(s, sh.site, syms);
      SiteEntry& e = by[{site, kind_name(sh.kind)}];
      e.site = site;
      e.kind = kind_name(sh.kind);
      if (!e.hist) e.hist = Histogram{};
      e.hist->merge(sh.hist);
      e.count = e.hist->count();
    }
    for (auto& [_, e] : by) hold.by_site.push_back(std::move(e));
    sort_sites(hold.by_site);
    r.metrics[metric::kPoolLockHold] = std::move(hold);

    Metric wake;
    wake.count = C[LS_C_WAKEUPS_UNDER_POOL];
    wake.total = C[LS_C_WAKEUPS];
    wake.by_site = count_sites(s, LS_SC_WAKEUP_UNDER_POOL, syms, true, 2);
    r.metrics[metric::kWakeupsUnderPoolLock] = std::move(wake);

    if (cov.rq_learning) {
      Metric rq;
      rq.count = C[LS_C_RQ_UNDER_POOL];
      rq.hist = H(s, LS_M_RQ_NESTED, LS_KIND_RQ);
      rq.by_site = count_sites(s, LS_SC_RQ_UNDER_POOL, syms, false, 2);
      r.metrics[metric::kRqLockNested] = std::move(rq);
    } else {
      r.metrics[metric::kRqLockNested] = Metric::unavailable(rq_reason);
    }
  } else {
    for (const char* m :
         {metric::kPoolLockHold, metric::kWakeupsUnderPoolLock, metric::kRqLockNested})
      r.metrics[m] = Metric::unavailable(cov.fentry_reason);
  }

  if (cov.contention) {
    Metric pw = pool_metric(s, LS_M_POOL_WAIT);
    r.metrics[metric::kPoolLockWait] = std::move(pw);
    if (cov.rq_learning) {
      Metric rw;
      rw.hist = H(s, LS_M_RQ_WAIT, LS_KIND_RQ);
      rw.count = rw.hist->count();
      r.metrics[metric::kRqLockWait] = std::move(rw);
    } else {
      r.metrics[metric::kRqLockWait] = Metric::unavailable(rq_reason);
    }
  } else {
    const char* why = "needs the lock:contention_begin/end tracepoints";
    r.metrics[metric::kPoolLockWait] = Metric::unavailable(why);
    r.metrics[metric::kRqLockWait] = Metric::unavailable(why);
  }

  if (cov.workqueue) {
    Metric q;
    q.hist = H(s, LS_M_WQ_QUEUE_LAT, 0);
    q.count = q.hist->count();
    q.by_site = func_sites(s, LS_M_WQ_QUEUE_LAT, syms);
    r.metrics[metric::kWqQueueLatency] = std::move(q);
    Metric e;
    e.hist = H(s, LS_M_WQ_EXEC, 0);
    e.count = e.hist->count();
    e.by_site = func_sites(s, LS_M_WQ_EXEC, syms);
    r.metrics[metric::kWqExec] = std::move(e);
  } else {
    const char* why =
        "needs the workqueue_queue_work/execute_start/execute_end tracepoints "
        "(--backend tracepoint or both)";
    r.metrics[metric::kWqQueueLatency] = Metric::unavailable(why);
    r.metrics[metric::kWqExec] = Metric::unavailable(why);
  }

  if (cov.waking) {
    Metric k;
    k.count = C[LS_C_SCHED_WAKING_KWORKER];
    k.total = C[LS_C_SCHED_WAKING];
    std::map<std::string, uint64_t> by;
    for (const auto& c : s.site_counts)
      if (c.counter == LS_SC_KWORKER_WAKING)
        by[c.site ? syms.name(c.site) : "[no work]"] += c.count;
    for (const auto& [site, n] : by) k.by_site.push_back({site, "", "", n, std::nullopt});
    sort_sites(k.by_site);
    r.metrics["kworker_wakeups"] = std::move(k);
  }
  return r;
}

Snapshot snapshot_delta(const Snapshot& now, const Snapshot& before) {
  auto sub = [](const Histogram& a, const Histogram& b) {
    Histogram d;
    for (const auto& [idx, n] : a.buckets()) {
      auto it = b.buckets().find(idx);
      uint64_t m = it == b.buckets().end() ? 0 : it->second;
      if (n > m) d.add(Histogram::lower_bound(idx), n - m);
    }
    return d;
  };
  Snapshot d = now;
  d.hook_events = now.hook_events - std::min(now.hook_events, before.hook_events);
  for (size_t i = 0; i < d.counters.size() && i < before.counters.size(); ++i)
    d.counters[i] =
        now.counters[i] >= before.counters[i] ? now.counters[i] - before.counters[i] : 0;
  for (size_t i = 0; i < d.hists.size() && i < before.hists.size(); ++i)
    d.hists[i] = sub(now.hists[i], before.hists[i]);
  for (auto& sh : d.site_hists)
    for (const auto& b : before.site_hists)
      if (b.metric == sh.metric && b.kind == sh.kind && b.site == sh.site)
        sh.hist = sub(sh.hist, b.hist);
  for (auto& sc : d.site_counts)
    for (const auto& b : before.site_counts)
      if (b.counter == sc.counter && b.site == sc.site) sc.count -= std::min(sc.count, b.count);
  return d;
}

void fill_profile_facts(Profile& p, const ProbeReport& probe, const std::string& backend) {
  std::string label = p.label;
  p = new_host_profile();
  p.label = label;
  p.kernel_release = probe.kernel_release;
  p.patch_state = probe.patch_state;
  p.patch_variant = probe.patch_variant;
  p.backend = backend;
}

}  // namespace lockscope
