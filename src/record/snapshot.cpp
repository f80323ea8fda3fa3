// SPDX-License-Identifier: Apache-2.0
#include "lockscope/record/snapshot.hpp"

#include <algorithm>

#include "lockscope/bpf_shared.h"

namespace lockscope {

const Histogram& Snapshot::hist(uint32_t metric, uint32_t kind) const {
  return hists.at(metric * LS_KIND_MAX + kind);
}

Snapshot Snapshot::zeroed() {
  Snapshot s;
  s.counters.assign(LS_C_MAX, 0);
  s.runs.assign(LS_RUN_MAX, 0);
  s.hists.assign(LS_NR_HISTS, Histogram{});
  return s;
}

namespace {

Histogram subtract(const Histogram& now, const Histogram& before) {
  Histogram d;
  uint64_t count = 0;
  uint32_t lo = 0, hi = 0;
  for (const auto& [idx, n] : now.buckets()) {
    auto it = before.buckets().find(idx);
    uint64_t m = it == before.buckets().end() ? 0 : it->second;
    if (n <= m) continue;
    d.set_bucket(idx, n - m);
    if (count == 0) lo = idx;
    hi = idx;
    count += n - m;
  }
  if (count == 0) return d;
  uint64_t sum = now.sum() >= before.sum() ? now.sum() - before.sum() : 0;
  uint64_t mn = std::max(Histogram::lower_bound(lo), now.min());
  uint64_t mx = std::min(Histogram::lower_bound(hi) + Histogram::width(hi) - 1, now.max());
  if (mx < mn) mx = mn;
  uint64_t clamped = now.clamped() >= before.clamped() ? now.clamped() - before.clamped() : 0;
  d.set_summary(count, sum, mn, mx, clamped);
  return d;
}

uint64_t minus(uint64_t a, uint64_t b) { return a >= b ? a - b : 0; }

}  // namespace

bool is_level_counter(uint32_t id) {
  for (uint32_t level : kLevelCounters)
    if (id == level) return true;
  return false;
}

Snapshot snapshot_delta(const Snapshot& now, const Snapshot& before) {
  Snapshot d = now;
  d.hook_events = minus(now.hook_events, before.hook_events);
  for (size_t i = 0; i < d.counters.size() && i < before.counters.size(); ++i)
    if (!is_level_counter(uint32_t(i))) d.counters[i] = minus(now.counters[i], before.counters[i]);
  for (size_t i = 0; i < d.runs.size() && i < before.runs.size(); ++i)
    d.runs[i] = minus(now.runs[i], before.runs[i]);
  for (size_t i = 0; i < d.hists.size() && i < before.hists.size(); ++i)
    d.hists[i] = subtract(now.hists[i], before.hists[i]);
  for (auto& sh : d.site_hists)
    for (const auto& b : before.site_hists)
      if (b.metric == sh.metric && b.kind == sh.kind && b.site == sh.site)
        sh.hist = subtract(sh.hist, b.hist);
  for (auto& sc : d.site_counts)
    for (const auto& b : before.site_counts)
      if (b.counter == sc.counter && b.context == sc.context && b.site == sc.site)
        sc.count = minus(sc.count, b.count);
  return d;
}

}  // namespace lockscope
