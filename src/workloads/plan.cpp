// SPDX-License-Identifier: Apache-2.0
// The scope/repetition plan, its runner, and the per-scope summary table.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <optional>

#include "lockscope/core/error.hpp"
#include "lockscope/core/format.hpp"
#include "lockscope/core/log.hpp"
#include "lockscope/core/signals.hpp"
#include "lockscope/stats/stats.hpp"
#include "lockscope/workloads/plan.hpp"

namespace lockscope {

const std::vector<std::string>& known_scopes() { return test_workqueue_scopes(); }

std::vector<std::string> parse_scope_list(const std::string& text) {
  const auto& known = known_scopes();
  std::string valid;
  for (const auto& k : known) valid += (valid.empty() ? "" : ", ") + k;
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] {
    if (cur.empty()) return;
    if (cur == "all") {
      for (const auto& k : known)
        if (std::find(out.begin(), out.end(), k) == out.end()) out.push_back(k);
    } else if (std::find(known.begin(), known.end(), cur) == known.end()) {
      throw usage_error("unknown affinity scope '" + cur + "'",
                        "valid scopes: " + valid + " (or all)");
    } else if (std::find(out.begin(), out.end(), cur) == out.end()) {
      out.push_back(cur);
    }
    cur.clear();
  };
  for (char c : text) {
    if (c == ',') {
      flush();
    } else if (c != ' ' && c != '\t') {
      cur += c;
    }
  }
  flush();
  if (out.empty()) throw usage_error("empty --scope list", "valid scopes: " + valid + " (or all)");
  return out;
}

std::vector<PlanStep> interleave(const std::vector<std::string>& scopes, uint32_t runs) {
  std::vector<PlanStep> steps;
  const uint32_t total = uint32_t(scopes.size()) * runs;
  for (uint32_t r = 0; r < runs; ++r)
    for (const auto& s : scopes) {
      PlanStep p;
      p.scope = s;
      p.repetition = r;
      p.index = uint32_t(steps.size());
      p.total = total;
      steps.push_back(p);
    }
  return steps;
}

std::vector<Run> run_plan(Workload& w, const BenchPlan& plan, const RunStartHook& on_run_start,
                          const RunEndHook& on_run_end, std::vector<Run>* completed) {
  if (plan.runs == 0) throw usage_error("--runs must be at least 1");
  if (plan.scopes.empty()) throw usage_error("no affinity scope to run");
  // The module reports every scope itself; the others run under the scope set.
  const bool module_scopes = !w.follows_default_scope();
  bool set_scope = !module_scopes;
  if (set_scope && access(plan.scope_path.c_str(), F_OK) != 0 && errno == ENOENT) {
    // Kernels before 6.5 have no affinity scopes: one kind of run, unscoped
    // (scope ""), unless the user named scopes.
    if (plan.scopes != known_scopes())
      throw unsupported("this kernel has no workqueue affinity scopes (" + plan.scope_path +
                            " is missing; Linux 6.5+)",
                        "leave --scope out: the workload then runs unscoped, as this kernel "
                        "queues it");
    log::warn("this kernel has no workqueue affinity scopes (Linux 6.5+): the runs are unscoped");
    set_scope = false;
  }
  // The guard outlives every step: its destructor restores the original scope
  // whether the loop ends normally, by an exception, or by a stop signal.
  std::optional<AffinityScopeGuard> guard;
  if (set_scope) guard.emplace(plan.scope_path);
  const std::vector<PlanStep> steps =
      set_scope ? interleave(plan.scopes, plan.runs) : interleave({std::string()}, plan.runs);

  std::vector<Run> out;
  try {
    for (const PlanStep& step : steps) {
      if (stop_requested()) throw Error(kExitInconclusive, interrupted_message("the plan"));
      if (guard && !guard->try_set(step.scope))
        throw unsupported("the kernel refused affinity scope '" + step.scope + "'");
      if (on_run_start) on_run_start(step);
      std::vector<WorkloadResult> results = w.run(step.scope);
      std::vector<Run> step_runs;
      for (auto& r : results) {
        if (module_scopes &&
            std::find(plan.scopes.begin(), plan.scopes.end(), r.scope) == plan.scopes.end())
          continue;  // the module ran a scope the user did not ask for
        Run run;
        run.scope = r.scope;
        run.repetition = step.repetition;
        run.duration_s = r.duration_s;
        run.workload = std::move(r);
        step_runs.push_back(std::move(run));
      }
      if (on_run_end) on_run_end(step, step_runs);
      for (auto& r : step_runs) out.push_back(std::move(r));
    }
  } catch (...) {
    if (completed) *completed = out;
    throw;
  }
  if (completed) *completed = out;
  return out;
}

std::vector<ScopeSummary> summarize(const std::vector<Run>& runs) {
  std::vector<std::string> order;
  std::map<std::string, std::vector<const WorkloadResult*>> by_scope;
  for (const auto& r : runs) {
    if (!r.workload) continue;
    if (!by_scope.count(r.scope)) order.push_back(r.scope);
    by_scope[r.scope].push_back(&*r.workload);
  }
  std::vector<ScopeSummary> out;
  for (const auto& s : order) {
    const auto& v = by_scope[s];
    ScopeSummary sum;
    sum.scope = s;
    sum.runs = uint32_t(v.size());
    std::vector<double> ips;
    std::map<std::string, std::vector<double>> lat;
    for (const auto* w : v) {
      ips.push_back(w->items_per_sec);
      for (const auto& [k, x] : w->latency_ns) lat[k].push_back(x);
    }
    sum.items_per_sec = stats::median(ips);
    for (auto& [k, xs] : lat) sum.latency_ns[k] = stats::median(xs);
    out.push_back(std::move(sum));
  }
  return out;
}

std::string render_bench_table(const std::vector<ScopeSummary>& rows) {
  static const char* kLat[] = {"p50", "p90", "p95", "p99"};
  std::string s =
      fmt::format("{:<14}  {:>12}  {:>10}  {:>10}  {:>10}  {:>10}  {:>4}\n", "affinity_scope",
                  "items/s", "p50 (ns)", "p90 (ns)", "p95 (ns)", "p99 (ns)", "runs");
  s += fmt::format("{:-<14}  {:->12}  {:->10}  {:->10}  {:->10}  {:->10}  {:->4}\n", "", "", "", "",
                   "", "", "");
  bool medians = false;
  for (const auto& r : rows) {
    medians = medians || r.runs > 1;
    s += fmt::format("{:<14}  {:>12}", r.scope.empty() ? "-" : r.scope,
                     format_grouped(r.items_per_sec));
    for (const char* k : kLat) {
      auto it = r.latency_ns.find(k);
      s += fmt::format("  {:>10}",
                       it == r.latency_ns.end() ? std::string("-") : format_grouped(it->second));
    }
    s += fmt::format("  {:>4}\n", r.runs);
  }
  if (medians) s += "(medians over the runs of each scope)\n";
  return s;
}

}  // namespace lockscope
