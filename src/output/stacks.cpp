// SPDX-License-Identifier: Apache-2.0
// Stacks from the profile's sites, and the folded-stack formats of `report`
// and `diff` (flamegraph.pl and difffolded.pl read them).
#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "internal.hpp"
#include "lockscope/core/error.hpp"

namespace lockscope::output {

Weight parse_weight(const std::string& name) {
  if (name == "time") return Weight::kTime;
  if (name == "count") return Weight::kCount;
  throw usage_error("unknown weight '" + name + "'", "use time or count");
}

namespace {

// "kick_pool <- __queue_work" -> {__queue_work, kick_pool}; "pool->lock from
// worker_thread" -> {worker_thread}.
std::vector<std::string> frames_of(const std::string& site) {
  std::string s = site;
  const std::string from = "pool->lock from ";
  if (s.rfind(from, 0) == 0) s = s.substr(from.size());
  std::vector<std::string> leaf_first;
  const std::string sep = " <- ";
  size_t pos = 0;
  while (true) {
    size_t next = s.find(sep, pos);
    leaf_first.push_back(s.substr(pos, next == std::string::npos ? std::string::npos : next - pos));
    if (next == std::string::npos) break;
    pos = next + sep.size();
  }
  std::vector<std::string> out;
  for (auto it = leaf_first.rbegin(); it != leaf_first.rend(); ++it)
    if (!it->empty()) out.push_back(*it);
  if (out.empty()) out.emplace_back("[unknown]");
  return out;
}

std::string clean_frame(const std::string& f) {
  std::string o = f;
  for (char& c : o) {
    if (c == ';') c = ':';
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return o;
}

}  // namespace

std::vector<std::string> stacked_metrics(const Run& r) {
  std::vector<std::string> names;
  for (const auto& [n, m] : r.metrics)
    if (m.ok() && !m.by_site.empty()) names.push_back(n);
  return metric_order(names);
}

std::vector<std::string> stacked_metrics(const Run& a, const Run& b) {
  std::vector<std::string> names = stacked_metrics(a), more = stacked_metrics(b);
  names.insert(names.end(), more.begin(), more.end());
  return metric_order(names);  // each once
}

std::vector<StackSample> run_stacks(const Run& r, const std::vector<std::string>& metrics) {
  std::vector<std::string> names = metrics.empty() ? stacked_metrics(r) : metrics;
  std::vector<StackSample> out;
  for (const auto& name : names) {
    auto it = r.metrics.find(name);
    if (it == r.metrics.end() || !it->second.ok()) continue;
    std::map<std::vector<std::string>, StackSample> by;
    for (const auto& site : it->second.by_site) {
      std::vector<std::string> frames = frames_of(site.site);
      StackSample& s = by[frames];
      s.metric = name;
      s.frames = frames;
      s.count += site.count;
      if (site.hist) {
        s.timed = true;
        s.ns += site.hist->sum();
      }
    }
    for (auto& [_, s] : by) out.push_back(std::move(s));
  }
  return out;
}

std::string stacks_note(const Profile& p) {
  if (p.site_source == "stacks") return {};
  std::string why = p.site_source == "acquirers"
                        ? "recorded without --stacks"
                        : "the profile does not say how its sites were named";
  return "no kernel stacks in this profile (" + why +
         "): each stack is a site, 'acquirer;workqueue function' or the work function "
         "(record --stacks names them from the first frames of kernel stacks)";
}

namespace detail {

Run merged_selection(const Profile& p, const Selection& s) {
  std::vector<const Run*> runs;
  for (const auto& g : s.groups)
    for (size_t i : g.run_indices) runs.push_back(&p.runs[i]);
  return merge_runs(runs);
}

std::string folded_stack(const StackSample& s, bool metric_root) {
  std::string out = metric_root ? clean_frame(s.metric) : std::string();
  for (const auto& f : s.frames) out += (out.empty() ? "" : ";") + clean_frame(f);
  return out;
}

uint64_t stack_value(const StackSample& s, Weight w) {
  return w == Weight::kTime && s.timed ? s.ns : s.count;
}

namespace {

// The metrics a stack format writes: the selection's metrics that have
// sites. Throws usage_error when a named metric has none, or none has any.
std::vector<std::string> folded_metrics(const Run& merged, const Selection& s,
                                        const ReportOptions& o) {
  std::vector<std::string> have = stacked_metrics(merged);
  std::vector<std::string> out;
  for (const auto& m : s.metrics) {
    bool stacked = std::find(have.begin(), have.end(), m) != have.end();
    if (stacked) out.push_back(m);
    if (!stacked && !o.metrics.empty()) {
      std::string list;
      for (const auto& h : have) list += (list.empty() ? "" : ", ") + h;
      throw usage_error("metric '" + m + "' has no sites in this profile: no stacks to write",
                        have.empty() ? "the profile holds no sites (recorded with --no-sites?)"
                                     : "metrics with sites: " + list);
    }
  }
  if (out.empty())
    throw usage_error("the selected runs hold no sites: no stacks to write",
                      "record without --no-sites (and with --stacks for kernel stacks)");
  return out;
}

}  // namespace

std::vector<StackSample> selected_stacks(const Profile& p, const Selection& s,
                                         const ReportOptions& o, bool* metric_root) {
  Run merged = merged_selection(p, s);
  std::vector<std::string> metrics = folded_metrics(merged, s, o);
  *metric_root = metrics.size() > 1;
  return run_stacks(merged, metrics);
}

std::string render_folded(const Profile& p, const Selection& s, const ReportOptions& o) {
  bool root = false;
  std::vector<StackSample> stacks = selected_stacks(p, s, o, &root);
  std::string out;
  for (const auto& st : stacks) {
    uint64_t v = stack_value(st, o.weight);
    if (v == 0) continue;
    out += folded_stack(st, root) + " " + std::to_string(v) + "\n";
  }
  return out;
}

}  // namespace detail

std::string render_folded_diff(const Profile& base, const Profile& cand,
                               const FoldedDiffOptions& o) {
  Run b = merge_scope(base, o.scope), c = merge_scope(cand, o.scope);
  std::vector<std::string> names;
  if (o.metrics.empty()) {
    names = stacked_metrics(b, c);
  } else {
    for (const auto& m : o.metrics) {
      bool known = b.metrics.count(m) || c.metrics.count(m);
      if (!known)
        throw usage_error("metric '" + m + "' is in neither profile",
                          "diff --format folded takes metrics with sites, e.g. "
                          "wakeups_under_pool_lock");
    }
    names = o.metrics;
  }
  if (names.empty())
    throw usage_error("neither profile holds sites: no stacks to compare",
                      "record without --no-sites (and with --stacks for kernel stacks)");
  bool root = names.size() > 1;
  // Keyed by (metric position, stack) so metrics stay in display order.
  std::map<std::pair<size_t, std::string>, std::pair<uint64_t, uint64_t>> lines;
  auto add = [&](const Run& r, bool is_base) {
    for (const auto& st : run_stacks(r, names)) {
      size_t pos = size_t(std::find(names.begin(), names.end(), st.metric) - names.begin());
      auto& v = lines[{pos, detail::folded_stack(st, root)}];
      (is_base ? v.first : v.second) += detail::stack_value(st, o.weight);
    }
  };
  add(b, true);
  add(c, false);
  std::string out;
  for (const auto& [k, v] : lines) {
    if (v.first == 0 && v.second == 0) continue;
    out += fmt::format("{} {} {}\n", k.second, v.first, v.second);
  }
  return out;
}

}  // namespace lockscope::output
