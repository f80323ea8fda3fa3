// SPDX-License-Identifier: Apache-2.0
#include "lockscope/core/cost.hpp"

#include <nlohmann/json.hpp>
#include <string>

#include "lockscope/core/metrics.hpp"
#include "lockscope/core/text.hpp"

namespace lockscope {

namespace {

// Runs and run time of the programs whose section starts with `prefix`.
struct Sum {
  uint64_t runs = 0, ns = 0;
};
Sum sum_of(const Cost& c, const char* prefix) {
  Sum s;
  for (const auto& p : c.programs)
    if (starts_with(p.attach, prefix)) {
      s.runs += p.runs;
      s.ns += p.run_time_ns;
    }
  return s;
}

// Why the added time per hold cannot be had, or "" when it can.
std::string hold_gap(const Metric* hold, const Sum& lock, const Sum& unlock) {
  if (hold == nullptr) return "the run has no pool->lock hold metric";
  if (!hold->ok()) return "no pool->lock hold was timed (pool_lock_hold_ns is unavailable)";
  if (hold->events() == 0) return "no pool->lock hold in the run";
  if (!hold->probe_effect) return "the hold metric does not say what lockscope ran inside it";
  if (lock.runs == 0) return "the fexit lock programs did not run in the sampled window";
  if (unlock.runs == 0) return "the fentry unlock programs did not run in the sampled window";
  return {};
}

}  // namespace

Cost Cost::unavailable(std::string why) {
  Cost c;
  c.ok = false;
  c.reason = std::move(why);
  return c;
}

void derive_cost(Cost& c, const Metric* hold) {
  if (!c.ok) return;
  uint64_t runs = 0, ns = 0;
  for (auto& p : c.programs) {
    runs += p.runs;
    ns += p.run_time_ns;
    p.runs_per_s = c.window_s > 0 ? double(p.runs) / c.window_s : 0;
    p.ns_per_run.reset();
    if (p.runs) p.ns_per_run = double(p.run_time_ns) / double(p.runs);
  }
  c.hook_runs_per_s = c.window_s > 0 ? double(runs) / c.window_s : 0;
  c.cpu_fraction =
      c.window_s > 0 && c.cpus > 0 ? double(ns) / c.window_s / (double(c.cpus) * 1e9) : 0;
  Sum lock = sum_of(c, "fexit/_raw_spin_"), unlock = sum_of(c, "fentry/_raw_spin_unlock");
  c.added_per_hold_ns.reset();
  c.lock_ns = c.unlock_ns = c.inside_ns = 0;
  c.hold_reason = hold_gap(hold, lock, unlock);
  if (!c.hold_reason.empty()) return;
  c.lock_ns = double(lock.ns) / double(lock.runs);
  c.unlock_ns = double(unlock.ns) / double(unlock.runs);
  c.inside_ns = double(hold->probe_effect->removed_ns) / double(hold->events());
  c.added_per_hold_ns = c.lock_ns + c.unlock_ns + c.inside_ns;
}

void derive_cost(Run& run) {
  if (!run.cost) return;
  auto it = run.metrics.find(metric::kPoolLockHold);
  derive_cost(*run.cost, it == run.metrics.end() ? nullptr : &it->second);
}

void merge_cost(Cost& into, const Cost& c) {
  if (!c.ok) return;  // keep what the other runs measured
  if (!into.ok) {
    into = c;
    return;
  }
  into.window_s += c.window_s;
  for (const auto& p : c.programs) {
    ProgramCost* same = nullptr;
    for (auto& q : into.programs)
      if (q.attach == p.attach) same = &q;
    if (same == nullptr) {
      into.programs.push_back(p);
      continue;
    }
    same->runs += p.runs;
    same->run_time_ns += p.run_time_ns;
  }
  for (const auto& [k, n] : c.counted_runs) into.counted_runs[k] += n;
}

nlohmann::json cost_to_json(const Cost& c) {
  using json = nlohmann::json;
  if (!c.ok) return {{"status", "unavailable"}, {"reason", c.reason}};
  json programs = json::array();
  for (const auto& p : c.programs) {
    json jp = {{"attach", p.attach}, {"runs", p.runs}, {"run_time_ns", p.run_time_ns}};
    // Derived, for readers; ignored on load.
    jp["runs_per_s"] = p.runs_per_s;
    if (p.ns_per_run) jp["ns_per_run"] = *p.ns_per_run;
    programs.push_back(jp);
  }
  json j = {{"status", "ok"},
            {"source", c.source},
            {"window_s", c.window_s},
            {"cpus", c.cpus},
            {"programs", programs},
            {"counted_runs", c.counted_runs},
            {"hook_runs_per_s", c.hook_runs_per_s},
            {"cpu_fraction", c.cpu_fraction}};
  if (c.added_per_hold_ns)
    j["added_per_hold"] = {{"status", "ok"},
                           {"ns", *c.added_per_hold_ns},
                           {"lock_ns", c.lock_ns},
                           {"unlock_ns", c.unlock_ns},
                           {"inside_ns", c.inside_ns}};
  else
    j["added_per_hold"] = {{"status", "unavailable"}, {"reason", c.hold_reason}};
  return j;
}

}  // namespace lockscope
