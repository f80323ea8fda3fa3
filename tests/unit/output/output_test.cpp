// SPDX-License-Identifier: Apache-2.0
// What users see: golden text/markdown reports of fixed profiles, SVG that
// parses as XML and holds the expected series, terminal width and colour
// rules, units, and the exit codes of the real `lockscope report`.
#include "lockscope/output/output.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "../golden.hpp"
#include "lockscope/core/error.hpp"

namespace lockscope::output {
namespace {

const std::string kData = std::string(LOCKSCOPE_TEST_DATA) + "/output/";

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void expect_golden(const std::string& actual, const std::string& name) {
  testing::expect_golden(actual, "output/" + name);
}

size_t columns(const std::string& line) {
  size_t n = 0;
  for (unsigned char c : line)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> v;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) v.push_back(l);
  return v;
}

// A minimal XML well-formedness check: one root, balanced and properly nested
// tags, quoted attributes, no duplicate attribute, known entities only.
// Returns an empty string when well-formed, else what is wrong.
std::string xml_problem(const std::string& x, std::map<std::string, int>* tag_count = nullptr) {
  std::vector<std::string> stack;
  size_t i = 0, roots = 0;
  auto is_name = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == ':' ||
           c == '.';
  };
  auto check_text = [&](const std::string& t) -> std::string {
    for (size_t k = 0; k < t.size(); ++k) {
      if (t[k] == '<') return "'<' in text";
      if (t[k] == '&') {
        size_t e = t.find(';', k);
        if (e == std::string::npos) return "unterminated entity";
        std::string ent = t.substr(k + 1, e - k - 1);
        if (ent != "amp" && ent != "lt" && ent != "gt" && ent != "quot" && ent != "apos" &&
            !(ent.size() > 1 && ent[0] == '#'))
          return "unknown entity &" + ent + ";";
      }
    }
    return {};
  };
  while (i < x.size()) {
    size_t lt = x.find('<', i);
    std::string text = x.substr(i, lt == std::string::npos ? std::string::npos : lt - i);
    if (auto p = check_text(text); !p.empty()) return p;
    if (stack.empty() && text.find_first_not_of(" \t\r\n") != std::string::npos)
      return "text outside the root element";
    if (lt == std::string::npos) break;
    if (x.compare(lt, 5, "<?xml") == 0) {
      if (lt != 0) return "XML declaration not at the start";
      size_t e = x.find("?>", lt);
      if (e == std::string::npos) return "unterminated declaration";
      i = e + 2;
      continue;
    }
    if (x.compare(lt, 4, "<!--") == 0) {
      size_t e = x.find("-->", lt);
      if (e == std::string::npos) return "unterminated comment";
      i = e + 3;
      continue;
    }
    size_t gt = x.find('>', lt);
    if (gt == std::string::npos) return "unterminated tag";
    std::string tag = x.substr(lt + 1, gt - lt - 1);
    i = gt + 1;
    if (!tag.empty() && tag[0] == '/') {
      std::string name = tag.substr(1);
      while (!name.empty() && std::isspace(static_cast<unsigned char>(name.back())))
        name.pop_back();
      if (stack.empty() || stack.back() != name)
        return "closing </" + name + "> does not match <" + (stack.empty() ? "" : stack.back()) +
               ">";
      stack.pop_back();
      continue;
    }
    bool self_closing = !tag.empty() && tag.back() == '/';
    if (self_closing) tag.pop_back();
    size_t k = 0;
    while (k < tag.size() && is_name(tag[k])) ++k;
    std::string name = tag.substr(0, k);
    if (name.empty()) return "tag without a name";
    std::vector<std::string> attrs;
    while (k < tag.size()) {
      while (k < tag.size() && std::isspace(static_cast<unsigned char>(tag[k]))) ++k;
      if (k >= tag.size()) break;
      size_t a = k;
      while (k < tag.size() && is_name(tag[k])) ++k;
      std::string an = tag.substr(a, k - a);
      if (an.empty() || k >= tag.size() || tag[k] != '=') return "bad attribute in <" + name + ">";
      if (std::find(attrs.begin(), attrs.end(), an) != attrs.end())
        return "duplicate attribute " + an + " in <" + name + ">";
      attrs.push_back(an);
      ++k;
      if (k >= tag.size() || (tag[k] != '"' && tag[k] != '\'')) return "unquoted attribute " + an;
      char q = tag[k];
      size_t e = tag.find(q, k + 1);
      if (e == std::string::npos) return "unterminated attribute " + an;
      if (auto p = check_text(tag.substr(k + 1, e - k - 1)); !p.empty()) return p + " in " + an;
      k = e + 1;
    }
    if (stack.empty() && ++roots > 1) return "more than one root element";
    if (tag_count) ++(*tag_count)[name];
    if (!self_closing) stack.push_back(name);
  }
  if (!stack.empty()) return "unclosed <" + stack.back() + ">";
  if (roots != 1) return "no root element";
  return {};
}

size_t occurrences(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

ReportOptions text_options(Format f, const std::string& source) {
  ReportOptions o;
  o.format = f;
  o.width = 80;
  o.color = false;
  o.source = source;
  return o;
}

// ---- golden outputs ----------------------------------------------------------

TEST(Report, GoldenTextOfARecording) {
  Profile p = load_profile(kData + "record.json");
  expect_golden(render_report(p, text_options(Format::kText, "record.json")), "record.txt");
}

TEST(Report, GoldenMarkdownOfABench) {
  Profile p = load_profile(kData + "bench_base.json");
  expect_golden(render_report(p, text_options(Format::kMarkdown, "bench_base.json")),
                "bench_base.md");
}

TEST(Report, GoldenIntervalLines) {
  Profile p = load_profile(kData + "record.json");
  std::string s = render_interval_header() + render_interval_line(1.0, p.runs.at(0));
  expect_golden(s, "interval.txt");
}

// ---- content rules -------------------------------------------------------------

TEST(Report, DropsAreShownAndUnavailableMetricsCarryTheirReason) {
  Profile p = load_profile(kData + "record.json");
  std::string t = render_report(p, text_options(Format::kText, ""));
  EXPECT_NE(t.find("DROPS: 3 events lost (ringbuf_full 3)"), std::string::npos);
  // Named once, before the runs, with the reason.
  EXPECT_NE(t.find("\nunavailable: pool_lock_wait_ns: lock:contention_begin not attached"),
            std::string::npos);
  EXPECT_LT(t.find("unavailable: pool_lock_wait_ns"), t.find("== recording"));
  p.runs[0].drops.clear();
  t = render_report(p, text_options(Format::kText, ""));
  EXPECT_EQ(t.find("DROPS"), std::string::npos);
}

// The cost line next to the metrics: hook runs/s, CPU share, time added per
// pool->lock hold, the window; -v lists each program; --format json keeps it.
Cost sampled_cost() {
  Cost c;
  c.ok = true;
  c.source = "kernel BPF stats";
  c.window_s = 1.0;
  c.cpus = 4;
  c.programs = {{"fexit/_raw_spin_lock", 300'000, 30'000'000, 0, std::nullopt},
                {"fentry/_raw_spin_unlock", 100'000, 8'000'000, 0, std::nullopt},
                {"tp_btf/sched_switch", 12'345, 2'000'000, 0, std::nullopt}};
  return c;
}

TEST(Report, CostLineNextToTheMetrics) {
  Profile p = load_profile(kData + "record.json");
  EXPECT_EQ(render_report(p, text_options(Format::kText, "")).find("cost "), std::string::npos)
      << "a profile without a cost says nothing about it";
  Metric& hold = p.runs[0].metrics.at(metric::kPoolLockHold);
  hold.probe_effect = ProbeEffect{hold.events() * 1000, hold.events()};  // 1 µs inside each hold
  p.runs[0].cost = sampled_cost();
  p = profile_from_json(profile_to_json(p), "with-cost");  // derived figures made on load
  std::string t = render_report(p, text_options(Format::kText, ""));
  // 412,345 runs/s; 40 ms of 4 CPU-seconds; 100 + 80 + 1000 ns per hold.
  EXPECT_NE(t.find("\ncost  412,345 hook runs/s, 1.0% of CPU, +1.18 µs per pool->lock hold "
                   "(sampled 1.0 s, kernel BPF stats)\n"),
            std::string::npos)
      << t;
  EXPECT_LT(t.find("== recording"), t.find("\ncost  "));
  EXPECT_LT(t.find("\ncost  "), t.find(metric::kPoolLockHold));
  EXPECT_EQ(t.find("ns/run"), std::string::npos) << "the table is -v's";

  ReportOptions v = text_options(Format::kText, "");
  v.verbose = true;
  v.width = 120;
  std::string tv = render_report(p, v);
  EXPECT_NE(tv.find("tp_btf/sched_switch"), std::string::npos) << tv;
  EXPECT_NE(tv.find("162.0"), std::string::npos) << "sched_switch ns/run\n" << tv;
  EXPECT_NE(tv.find("fexit lock 100 ns + fentry unlock 80 ns + inside the hold 1.00 µs = 1.18 µs"),
            std::string::npos)
      << tv;

  std::string md = render_report(p, text_options(Format::kMarkdown, ""));
  EXPECT_NE(md.find("Cost: 412,345 hook runs/s"), std::string::npos) << md;

  auto j = nlohmann::json::parse(render_report(p, text_options(Format::kJson, "")));
  const auto& c = j["groups"][0]["cost"];
  EXPECT_EQ(c["status"], "ok");
  EXPECT_DOUBLE_EQ(c["hook_runs_per_s"].get<double>(), 412'345.0);
  EXPECT_DOUBLE_EQ(c["added_per_hold"]["ns"].get<double>(), 1180.0);
}

TEST(Report, UnavailableCostSaysWhy) {
  Profile p = load_profile(kData + "record.json");
  p.runs[0].cost = Cost::unavailable("cannot enable kernel BPF stats: Operation not permitted");
  std::string t = render_report(p, text_options(Format::kText, ""));
  EXPECT_NE(
      t.find("\ncost  unavailable: cannot enable kernel BPF stats: Operation not permitted\n"),
      std::string::npos)
      << t;
  // No holds timed (tracepoint backend): the rates stay, the per-hold figure says why.
  p.runs[0].metrics.at(metric::kPoolLockHold) = Metric::unavailable("needs fentry (EPERM)");
  p.runs[0].cost = sampled_cost();
  p = profile_from_json(profile_to_json(p), "no-holds");
  t = render_report(p, text_options(Format::kText, ""));
  EXPECT_NE(t.find("(sampled 1.0 s, kernel BPF stats); per pool->lock hold: unavailable (no "
                   "pool->lock hold was timed (pool_lock_hold_ns is unavailable))"),
            std::string::npos)
      << t;
}

TEST(Report, SitesSortedByTotalTime) {
  Profile p = load_profile(kData + "record.json");
  // Make the last site the heaviest: it must move to the top.
  Metric& m = p.runs[0].metrics.at(metric::kPoolLockHold);
  m.by_site.back().hist->add(10'000'000);
  ReportOptions o = text_options(Format::kText, "");
  o.metrics = {metric::kPoolLockHold};
  o.width = 200;
  std::string t = render_report(p, o);
  size_t kick = t.find("kick_pool_pick <- __queue_work"), qw = t.find("  __queue_work");
  ASSERT_NE(kick, std::string::npos);
  ASSERT_NE(qw, std::string::npos);
  EXPECT_LT(kick, qw);
}

// A pool->lock wait metric as a recording under fentry has it: three
// callers, one of which waited long once.
Profile with_waits() {
  Profile p = load_profile(kData + "record.json");
  Metric w;
  w.hist = Histogram{};
  auto site = [&](const char* name, std::initializer_list<uint64_t> waits) {
    SiteEntry e{name, "", "percpu", 0, Histogram{}};
    for (uint64_t v : waits) e.hist->add(v), w.hist->add(v);
    e.count = e.hist->count();
    w.by_site.push_back(e);
  };
  site("worker_thread", {900, 1100, 1300, 1500, 800, 700});
  site("__queue_work", {2'000, 150'000});
  site("pwq_dec_nr_in_flight", {400});
  w.count = w.hist->count();
  sort_sites(w.by_site);
  p.runs[0].metrics[metric::kPoolLockWait] = w;
  return p;
}

TEST(Report, GoldenWaitsPerCallerByTotalWait) {
  ReportOptions o = text_options(Format::kText, "record.json");
  o.metrics = {metric::kPoolLockWait};
  std::string t = render_report(with_waits(), o);
  expect_golden(t, "waits.txt");
  // perf lock contention's columns, the caller with the most total wait first.
  EXPECT_NE(t.find("contended 9 · total wait"), std::string::npos);
  size_t head = t.find("caller");
  ASSERT_NE(head, std::string::npos);
  for (const char* c : {"contended", "total wait", "max", "mean"})
    EXPECT_NE(t.find(c, head), std::string::npos) << c;
  EXPECT_LT(t.find("__queue_work", head), t.find("worker_thread", head));
  EXPECT_LT(t.find("worker_thread", head), t.find("pwq_dec_nr_in_flight", head));
  // The same table in the page.
  o.format = Format::kHtml;
  std::string h = render_report(with_waits(), o);
  EXPECT_NE(h.find("<th class=\"l\">caller</th>"), std::string::npos);
  EXPECT_NE(h.find("<th>total wait</th>"), std::string::npos);
}

TEST(Report, MergedRunsWhoseCountsSpreadSaySo) {
  auto run = [](uint64_t waits, uint64_t holds) {
    lockscope::Run r;
    r.scope = "cpu";
    Metric w, h;
    w.hist = Histogram{};
    for (uint64_t i = 0; i < waits; ++i) w.hist->add(1000);
    h.count = holds;
    r.metrics[metric::kPoolLockWait] = w;
    r.metrics[metric::kWakeupsUnderPoolLock] = h;
    return r;
  };
  Profile p;
  p.runs = {run(116, 1000), run(5092, 1100)};
  EXPECT_EQ(group_runs(p).at(0).title,
            "scope cpu (2 runs merged: pool_lock_wait_ns n 116 … 5,092)");
  // Within the noise: no spread named (a 10% change; twice but small counts).
  p.runs = {run(1000, 1000), run(1100, 1100)};
  EXPECT_EQ(group_runs(p).at(0).title, "scope cpu (2 runs merged)");
  p.runs = {run(2, 1000), run(5, 1000)};
  EXPECT_EQ(group_runs(p).at(0).title, "scope cpu (2 runs merged)");
  // The metric that spreads the most is named.
  p.runs = {run(100, 10), run(300, 1000), run(200, 500)};
  EXPECT_EQ(group_runs(p).at(0).title,
            "scope cpu (3 runs merged: wakeups_under_pool_lock n 10 … 1,000)");
}

TEST(Report, RepetitionsOfAScopeAreMergedAndRunSelectsOne) {
  Profile p = load_profile(kData + "bench_base.json");
  auto groups = group_runs(p);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[1].scope, "cache");
  uint64_t sum = p.runs[1].metrics.at(metric::kPoolLockHold).hist->count() +
                 p.runs[2].metrics.at(metric::kPoolLockHold).hist->count();
  EXPECT_EQ(groups[1].merged.metrics.at(metric::kPoolLockHold).hist->count(), sum);
  EXPECT_EQ(*groups[1].merged.metrics.at(metric::kWakeupsUnderPoolLock).count, 2u + 7u);
  auto one = group_runs(p, 2u);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].run_indices, std::vector<size_t>{2});
  EXPECT_EQ(group_runs(p, std::nullopt, "cpu").size(), 1u);
}

TEST(Report, BadSelectionsAreUsageErrors) {
  Profile p = load_profile(kData + "bench_base.json");
  ReportOptions o = text_options(Format::kText, "");
  o.metrics = {"no_such_metric"};
  try {
    render_report(p, o);
    FAIL() << "an unknown metric must be refused";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), kExitUsage);
    EXPECT_NE(e.hint().find("pool_lock_hold_ns"), std::string::npos);
  }
  EXPECT_THROW(group_runs(p, 99u), Error);
  EXPECT_THROW(group_runs(p, std::nullopt, "numa"), Error);
  EXPECT_THROW(parse_format("png"), Error);
}

TEST(Report, JsonHasPercentilesWithErrorBounds) {
  Profile p = load_profile(kData + "record.json");
  std::string j = render_report(p, text_options(Format::kJson, "x"));
  EXPECT_NE(j.find("\"error_bound\""), std::string::npos);
  EXPECT_NE(j.find("\"p99\""), std::string::npos);
  EXPECT_NE(j.find("\"total_drops\": 3"), std::string::npos);
}

// ---- pictures -------------------------------------------------------------------

TEST(Pictures, XmlCheckerRejectsBrokenXml) {
  EXPECT_EQ(xml_problem("<a><b x=\"1\"/></a>"), "");
  EXPECT_NE(xml_problem("<a><b></a></b>"), "");
  EXPECT_NE(xml_problem("<a x=1/>"), "");
  EXPECT_NE(xml_problem("<a>&nbsp;</a>"), "");
  EXPECT_NE(xml_problem("<a>x < y</a>"), "");
  EXPECT_NE(xml_problem("<a/><b/>"), "");
  EXPECT_NE(xml_problem("<a>"), "");
}

TEST(Pictures, ReportSvgIsWellFormedWithOneSeriesPerTimeMetric) {
  Profile p = load_profile(kData + "bench_base.json");
  p.label = "a <b> & \"c\"";  // must be escaped
  std::string svg = render_report(p, text_options(Format::kSvg, "bench_base.json"));
  std::map<std::string, int> tags;
  EXPECT_EQ(xml_problem(svg, &tags), "");
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_EQ(occurrences(svg, "class=\"series hist\""), 2u);  // cpu and cache
  EXPECT_NE(svg.find("id=\"hist-cpu-pool_lock_hold_ns\""), std::string::npos);
  EXPECT_NE(svg.find("id=\"hist-cache-pool_lock_hold_ns\""), std::string::npos);
  EXPECT_EQ(occurrences(svg, "class=\"marker p99\""), 2u);
  EXPECT_EQ(tags["svg"], 1);
}

TEST(Pictures, DiffSvgOverlaysBaseAndCandidatePerScope) {
  Profile base = load_profile(kData + "bench_base.json");
  Profile cand = load_profile(kData + "bench_cand.json");
  std::string svg = render_diff_svg(base, cand);
  std::map<std::string, int> tags;
  ASSERT_EQ(xml_problem(svg, &tags), "");
  EXPECT_EQ(tags["polyline"], 4);  // 2 scopes x (base, cand)
  for (const char* id : {"cdf-base-cpu-pool_lock_hold_ns", "cdf-cand-cpu-pool_lock_hold_ns",
                         "cdf-base-cache-pool_lock_hold_ns", "cdf-cand-cache-pool_lock_hold_ns"})
    EXPECT_NE(svg.find(std::string("id=\"") + id + "\""), std::string::npos) << id;
  // The CDFs are normalised: the legend gives each side's n, the candidate's
  // against the baseline's.
  EXPECT_EQ(occurrences(svg, "class=\"legend\""), 4u);
  // No empty subtitle line.
  EXPECT_EQ(svg.find("fill=\"#555\"></text>"), std::string::npos);
  Profile more = cand;  // many more events of the same shape
  for (auto& r : more.runs)
    if (auto it = r.metrics.find(metric::kPoolLockHold); it != r.metrics.end() && it->second.hist)
      it->second.hist->merge(Histogram(*it->second.hist)), it->second.hist->add(250);
  uint64_t nb = group_runs(base)[0].merged.metrics.at(metric::kPoolLockHold).hist->count();
  uint64_t nc = group_runs(more)[0].merged.metrics.at(metric::kPoolLockHold).hist->count();
  ASSERT_NE(nb, nc);
  std::string ratio = fmt::format("{:.3g}× ", double(nc) / double(nb));
  svg = render_diff_svg(base, more);
  EXPECT_NE(svg.find(": n " + format_count(nb) + " · p50"), std::string::npos);
  EXPECT_NE(svg.find(": n " + format_count(nc) + " (" + ratio), std::string::npos) << ratio;
  DiffPictureOptions o;
  o.scope = "cache";
  std::string one = render_diff_svg(base, cand, o);
  ASSERT_EQ(xml_problem(one), "");
  EXPECT_EQ(occurrences(one, "<polyline"), 2u);
  o.scope = "numa";
  EXPECT_THROW(render_diff_svg(base, cand, o), Error);
}

TEST(Pictures, HtmlPagesInlineTheirSvgs) {
  Profile base = load_profile(kData + "bench_base.json");
  Profile cand = load_profile(kData + "bench_cand.json");
  std::string html = render_report(base, text_options(Format::kHtml, "b"));
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(occurrences(html, "<svg "), 2u);
  EXPECT_EQ(html.find("<?xml"), std::string::npos);
  std::string d = render_diff_html(base, cand);
  EXPECT_EQ(occurrences(d, "<svg "), 2u);
  EXPECT_NE(d.find("-40.1%"), std::string::npos);  // cache p50 got faster in the fixture
}

TEST(Pictures, FlameGraphPerStackedMetricWithTooltipsAndZoomData) {
  Profile p = load_profile(kData + "stacks_base.json");
  std::string svg = render_report(p, text_options(Format::kSvg, "s"));
  std::map<std::string, int> tags;
  EXPECT_EQ(xml_problem(svg, &tags), "");
  for (const char* m :
       {"pool_lock_hold_ns", "wakeups_under_pool_lock", "rq_lock_nested_under_pool_lock"})
    EXPECT_NE(svg.find(std::string("<g class=\"flame\" id=\"flame-all-") + m + "\""),
              std::string::npos)
        << m;
  // The hold graph: "all" plus one frame per acquirer, widths adding up to the whole.
  const Metric& hold = p.runs.at(0).metrics.at("pool_lock_hold_ns");
  uint64_t total = 0;
  for (const auto& st : hold.by_site) total += st.hist->sum();
  const SiteEntry& top = hold.by_site.front();  // most time first
  std::string tip = "<title>" + top.site + ": " + format_ns(double(top.hist->sum())) + " (" +
                    format_share(double(top.hist->sum()) / double(total)) + ")</title>";
  EXPECT_NE(svg.find(tip), std::string::npos) << tip;
  std::string hold_svg = svg.substr(svg.find("id=\"flame-all-pool_lock_hold_ns\""));
  hold_svg = hold_svg.substr(0, hold_svg.find("</g>\n</g>"));
  EXPECT_EQ(occurrences(hold_svg, "class=\"frame\""), 1 + hold.by_site.size());
  double w1 = 0;
  for (size_t at = hold_svg.find("data-d=\"1\""); at != std::string::npos;
       at = hold_svg.find("data-d=\"1\"", at + 1)) {
    size_t w = hold_svg.rfind("data-w=\"", at) + 8;
    w1 += std::stod(hold_svg.substr(w, hold_svg.find('"', w) - w));
  }
  EXPECT_NEAR(w1, 1.0, 1e-4);
  // Events (wakeups) are counted, not timed.
  EXPECT_NE(svg.find("<title>kick_pool: 900 events"), std::string::npos);
  // The page: the same graphs inline, the zoom/search script, the search box.
  std::string html = render_report(p, text_options(Format::kHtml, "s"));
  EXPECT_EQ(occurrences(html, "<g class=\"flame\""), 3u);
  EXPECT_NE(html.find("id=\"flame-search\""), std::string::npos);
  EXPECT_NE(html.find("addEventListener('click'"), std::string::npos);
  // No stacks, no flame graph, no search box.
  Profile b = load_profile(kData + "bench_base.json");
  for (auto& r : b.runs)
    for (auto& [_, m] : r.metrics) m.by_site.clear();
  html = render_report(b, text_options(Format::kHtml, "b"));
  EXPECT_EQ(html.find("id=\"flame-search\""), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
}

TEST(Pictures, DiffHasADifferentialFlameGraphPerStackedMetric) {
  Profile b = load_profile(kData + "stacks_base.json");
  Profile c = load_profile(kData + "stacks_cand.json");
  std::string svg = render_diff_svg(b, c);
  EXPECT_EQ(xml_problem(svg), "");
  for (const char* m :
       {"pool_lock_hold_ns", "wakeups_under_pool_lock", "rq_lock_nested_under_pool_lock"})
    EXPECT_NE(svg.find(std::string("id=\"diffflame-") + m + "\""), std::string::npos) << m;
  // The seed's question: __queue_work woke under pool->lock through kick_pool
  // before the patch (900) and not after: all blue. kick_pool_pick is new: red.
  size_t wake = svg.find("id=\"diffflame-wakeups_under_pool_lock\"");
  size_t kick = svg.find("<title>kick_pool: baseline 900 → candidate 0 (-100.0%)</title>", wake);
  ASSERT_NE(kick, std::string::npos);
  EXPECT_NE(svg.substr(kick, 200).find("fill=\"rgb(105,105,255)\""), std::string::npos)
      << svg.substr(kick, 200);
  size_t pick = svg.find("<title>kick_pool_pick: baseline 0 → candidate 30 (new)</title>", wake);
  ASSERT_NE(pick, std::string::npos);
  EXPECT_NE(svg.substr(pick, 200).find("fill=\"rgb(255,105,105)\""), std::string::npos);
}

// ---- terminal ---------------------------------------------------------------------

TEST(Terminal, HistogramBarsFitTheWidth) {
  Profile p = load_profile(kData + "record.json");
  for (const char* m : {metric::kPoolLockHold, metric::kWqQueueLatency}) {
    const Histogram& h = *p.runs[0].metrics.at(m).hist;
    size_t prev_bar = 0;
    for (int w : {40, 80, 200}) {
      auto ls = lines(render_ascii_histogram(h, w));
      ASSERT_GT(ls.size(), 2u);
      size_t bar = 0;
      for (const auto& l : ls) {
        EXPECT_LE(columns(l), size_t(w)) << "width " << w << ": " << l;
        size_t a = l.find('|'), b = l.rfind('|');
        if (a != std::string::npos && b > a) bar = b - a - 1;
      }
      EXPECT_GE(bar, 8u) << "width " << w;
      EXPECT_GE(bar, prev_bar) << "bars grow with the terminal";
      prev_bar = bar;
    }
  }
}

TEST(Terminal, HistogramRowsArePowersOfTwoWithCounts) {
  Histogram h;
  h.add(1000, 3);  // row 512 -> 1023
  h.add(5000, 1);  // row 4096 -> 8191
  auto ls = lines(render_ascii_histogram(h, 80, false, Units::kNs));
  ASSERT_EQ(ls.size(), 1u + 4u);  // header + rows 512, 1024, 2048, 4096
  EXPECT_NE(ls[1].find("512 -> 1023"), std::string::npos);
  EXPECT_NE(ls[1].find(": 3 "), std::string::npos);
  EXPECT_NE(ls[2].find(": 0 "), std::string::npos);
  EXPECT_NE(ls[4].find("4096 -> 8191"), std::string::npos);
  // The largest row has the full bar; a single tail event still gets a star.
  EXPECT_EQ(ls[1].find(' ', ls[1].find('|')), std::string::npos);
  EXPECT_NE(ls[4].find("|*"), std::string::npos);
}

TEST(Terminal, HistogramUnitsFollowTheMagnitudeUnlessFixed) {
  Histogram h;
  h.add(700, 2);      // row 512 -> 1023 ns
  h.add(3000000, 1);  // row 2097152 -> 4194303 ns
  auto ls = lines(render_ascii_histogram(h, 80));
  ASSERT_EQ(ls.size(), 1u + 13u);
  EXPECT_NE(ls[0].find("range"), std::string::npos) << ls[0];
  EXPECT_NE(ls[1].find("512ns -> 1.02µs"), std::string::npos) << ls[1];
  EXPECT_NE(ls[13].find("2.10ms -> 4.19ms"), std::string::npos) << ls[13];
  ls = lines(render_ascii_histogram(h, 80, false, Units::kUs));
  EXPECT_NE(ls[0].find("µs"), std::string::npos) << ls[0];
  EXPECT_NE(ls[13].find("2097.15 -> 4194.3"), std::string::npos) << ls[13];
  ls = lines(render_ascii_histogram(h, 80, false, Units::kNs));
  EXPECT_NE(ls[13].find("2097152 -> 4194303"), std::string::npos) << ls[13];
  EXPECT_EQ(parse_units("µs"), Units::kUs);
  EXPECT_THROW(parse_units("furlongs"), Error);
}

TEST(Report, RefusedHooksAreOneLineUnlessVerbose) {
  Profile p = load_profile(kData + "record.json");
  p.hooks_refused.clear();
  for (const char* h : {"fentry/_raw_spin_lock", "fentry/_raw_spin_unlock", "fexit/_raw_spin_lock"})
    p.hooks_refused.push_back({h, "load: refused by the kernel (EPERM): lockdown"});
  ReportOptions o = text_options(Format::kText, "");
  std::string t = render_report(p, o);
  EXPECT_NE(t.find("\n3 hooks refused: load: refused by the kernel (EPERM): lockdown; -v lists "
                   "them\n"),
            std::string::npos)
      << t;
  EXPECT_EQ(t.find("hook refused: fentry/_raw_spin_lock"), std::string::npos);
  o.verbose = true;
  t = render_report(p, o);
  EXPECT_NE(t.find("hook refused: fentry/_raw_spin_unlock (load: refused"), std::string::npos);
  p.hooks_refused[1].reason = "inlined";
  o.verbose = false;
  EXPECT_NE(render_report(p, o).find("3 hooks refused for 2 reasons, e.g. load: refused"),
            std::string::npos);
}

TEST(Report, CutSiteNamesStayDistinct) {
  Profile p = load_profile(kData + "record.json");
  Metric& m = p.runs[0].metrics.at(metric::kWakeupsUnderPoolLock);
  m.by_site = {{"virtio_transport_send_pkt_work <- process_one_work", "", "", 5, std::nullopt},
               {"virtio_transport_rx_work <- process_one_work", "", "", 4, std::nullopt}};
  ReportOptions o = text_options(Format::kText, "");
  o.width = 40;
  o.metrics = {metric::kWakeupsUnderPoolLock};
  auto ls = lines(render_report(p, o));
  std::vector<std::string> rows;
  for (const auto& l : ls)
    if (l.find("virtio") != std::string::npos) rows.push_back(l.substr(0, l.find("  ", 2)));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_NE(rows[0], rows[1]);
  EXPECT_NE(rows[0].find("…"), std::string::npos) << rows[0];
}

struct Pty {
  int master = -1, slave = -1;
  Pty() {
    master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) return;
    slave = open(ptsname(master), O_RDWR | O_NOCTTY);
  }
  ~Pty() {
    if (slave >= 0) close(slave);
    if (master >= 0) close(master);
  }
};

struct EnvGuard {
  std::string name;
  std::optional<std::string> old;
  explicit EnvGuard(std::string n) : name(std::move(n)) {
    if (const char* v = std::getenv(name.c_str())) old = v;
  }
  ~EnvGuard() {
    if (old)
      setenv(name.c_str(), old->c_str(), 1);
    else
      unsetenv(name.c_str());
  }
};

TEST(Terminal, WidthFromTerminalThenColumnsThenDefault) {
  EnvGuard g("COLUMNS");
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  unsetenv("COLUMNS");
  EXPECT_EQ(terminal_width(fds[1]), 80);
  setenv("COLUMNS", "123", 1);
  EXPECT_EQ(terminal_width(fds[1]), 123);
  setenv("COLUMNS", "junk", 1);
  EXPECT_EQ(terminal_width(fds[1]), 80);
  close(fds[0]);
  close(fds[1]);
  Pty t;
  if (t.slave < 0) GTEST_SKIP() << "no pseudo-terminal available for the TIOCGWINSZ part";
  struct winsize ws {};
  ws.ws_col = 57;
  ws.ws_row = 20;
  ASSERT_EQ(ioctl(t.slave, TIOCSWINSZ, &ws), 0);
  setenv("COLUMNS", "123", 1);
  EXPECT_EQ(terminal_width(t.slave), 57);
}

TEST(Terminal, ColourOnlyOnATerminalWithoutNoColor) {
  EnvGuard g("NO_COLOR");
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  unsetenv("NO_COLOR");
  EXPECT_FALSE(use_color(fds[1]));
  close(fds[0]);
  close(fds[1]);
  Pty t;
  if (t.slave < 0) GTEST_SKIP() << "no pseudo-terminal available";
  EXPECT_TRUE(use_color(t.slave));
  setenv("NO_COLOR", "1", 1);
  EXPECT_FALSE(use_color(t.slave));

  Profile p = load_profile(kData + "record.json");
  ReportOptions o = text_options(Format::kText, "");
  EXPECT_EQ(render_report(p, o).find('\033'), std::string::npos);
  o.color = true;
  EXPECT_NE(render_report(p, o).find('\033'), std::string::npos);
}

TEST(Interval, ColumnsLineUpAndUnavailableIsADash) {
  Profile p = load_profile(kData + "record.json");
  std::string h = render_interval_header(), l = render_interval_line(2.5, p.runs[0]);
  EXPECT_EQ(columns(h), columns(l));
  EXPECT_NE(l.find("403"), std::string::npos);  // holds
  EXPECT_NE(l.find("37"), std::string::npos);   // wakeups
  lockscope::Run empty;
  empty.metrics[metric::kPoolLockHold] = Metric::unavailable("x");
  std::string e = render_interval_line(0, empty);
  EXPECT_EQ(columns(e), columns(h));
  EXPECT_NE(e.find(" - "), std::string::npos);
}

// ---- the real binary ---------------------------------------------------------------

int run_binary(const std::string& args, std::string* out = nullptr) {
  std::string cmd = std::string(LOCKSCOPE_BINARY) + " " + args + " 2>/dev/null";
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) return -1;
  std::string o;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) o.append(buf, n);
  int st = pclose(f);
  if (out) *out = o;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

class Binary : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(LOCKSCOPE_BINARY, X_OK) != 0)
      GTEST_SKIP() << "lockscope binary not built: " << LOCKSCOPE_BINARY;
  }
};

TEST_F(Binary, ExitCodes) {
  std::string out;
  EXPECT_EQ(run_binary("report " + kData + "record.json", &out), 0);
  EXPECT_NE(out.find("pool_lock_hold_ns"), std::string::npos);
  EXPECT_EQ(out.find('\033'), std::string::npos) << "no colour into a pipe";
  EXPECT_EQ(run_binary("report " + kData + "does-not-exist.json"), 2);
  EXPECT_EQ(run_binary("report " + kData + "malformed.json"), 2);
  EXPECT_EQ(run_binary("report " + kData + "record.json --format png"), 2);
  EXPECT_EQ(run_binary("report " + kData + "record.json -m nope"), 2);
  EXPECT_EQ(run_binary("report " + kData + "bench_base.json --run 7"), 2);
  EXPECT_EQ(run_binary("report"), 2);
  EXPECT_EQ(run_binary("report " + kData + "record.json -v --units ns"), 0);
  EXPECT_EQ(run_binary("report " + kData + "record.json --units furlongs"), 2);
  EXPECT_EQ(run_binary("report " + kData + "record.json -f folded --weight bytes"), 2);
  EXPECT_EQ(run_binary("report " + kData + "record.json -f folded -m pool_lock_wait_ns"), 2);
}

TEST_F(Binary, HelpShowsAnExample) {
  std::string out;
  EXPECT_EQ(run_binary("report --help", &out), 0);
  EXPECT_NE(out.find("lockscope report profile.json"), std::string::npos);
}

TEST_F(Binary, WritesSvgToAFile) {
  char dir[] = "/tmp/lockscope-output-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string path = std::string(dir) + "/r.svg";
  EXPECT_EQ(run_binary("report " + kData + "bench_base.json -f svg -o " + path), 0);
  std::string svg = read(path);
  EXPECT_EQ(xml_problem(svg), "");
  unlink(path.c_str());
  rmdir(dir);
}

}  // namespace
}  // namespace lockscope::output
