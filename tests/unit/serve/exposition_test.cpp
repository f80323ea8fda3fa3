// SPDX-License-Identifier: Apache-2.0
// The pure mapping of `lockscope serve`: a run as Prometheus families.
#include "lockscope/serve/exposition.hpp"
#include "lockscope/serve/formats.hpp"

#include <gtest/gtest.h>

#include <random>
#include <regex>
#include <set>

#include "../golden.hpp"
#include "lockscope/core/error.hpp"
#include "lockscope/core/metrics.hpp"
#include "lockscope/serve/server.hpp"

namespace lockscope::serve {
namespace {

const prometheus::MetricFamily* find(const std::vector<prometheus::MetricFamily>& fs,
                                     const std::string& name) {
  for (const auto& f : fs)
    if (f.name == name) return &f;
  return nullptr;
}

std::string label(const prometheus::ClientMetric& m, const std::string& name) {
  for (const auto& l : m.label)
    if (l.name == name) return l.value;
  return "";
}

Histogram hist_of(std::initializer_list<uint64_t> values) {
  Histogram h;
  for (uint64_t v : values) h.add(v);
  return h;
}

SiteEntry site(const std::string& name, uint64_t count, std::optional<Histogram> h = std::nullopt,
               const std::string& kind = "") {
  SiteEntry e;
  e.site = name;
  e.kind = kind;
  e.count = count;
  e.hist = std::move(h);
  return e;
}

// A tracepoint-backend run: the hold metrics unavailable, queue latency and
// wakeups by kworkers measured, one drop.
lockscope::Run tracepoint_run() {
  lockscope::Run r;
  r.metrics[metric::kPoolLockHold] =
      Metric::unavailable("needs fexit on the spinlock functions and fentry on the unlocks");
  r.metrics[metric::kWakeupsUnderPoolLock] = Metric::unavailable("needs the spinlock hooks");
  Metric q;
  q.hist = hist_of({1000, 2000, 3000, 5000, 900000});
  q.count = q.hist->count();
  q.by_site = {site("flush_to_ldisc", 4, hist_of({1000, 2000, 3000, 5000})),
               site("0xffffffffc0a01234", 1, hist_of({900000}))};
  sort_sites(q.by_site);
  q.loss = MetricLoss{1, 0, 1.0 / 6};
  r.metrics[metric::kWqQueueLatency] = q;
  Metric k;
  k.count = 7;
  k.total = 70;
  r.metrics[metric::kKworkerWakeups] = k;
  r.drops["inflight_full"] = 1;
  r.drops["site_map_full"] = 0;
  r.counters["hook_events"] = 1234;
  return r;
}

Profile meta() {
  Profile p;
  p.tool_version = "0.1.0";
  p.kernel_release = "6.1.0-test";
  p.patch_state = "pre-patch";
  p.backend = "tracepoint";
  p.clocksource = "tsc";
  return p;
}

TEST(ServeBuckets, EveryEdgeIsAnExactBucketEdgeOfLockscopesHistogram) {
  const auto& edges = bucket_edges_ns();
  ASSERT_EQ(edges.size(), 55u);
  EXPECT_EQ(edges.front(), 128u);
  EXPECT_EQ(edges.back(), uint64_t(1) << 34);
  for (size_t i = 0; i < edges.size(); ++i) {
    EXPECT_EQ(Histogram::lower_bound(Histogram::index_of(edges[i])), edges[i]) << edges[i];
    if (i > 0) {
      EXPECT_LT(edges[i - 1], edges[i]);
    }
  }
}

TEST(ServeBuckets, CumulativeCountsAreExactAgainstTheRawValues) {
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> dist(9.0, 2.5);  // ~8 us median, wide
  Histogram h;
  std::vector<uint64_t> raw;
  for (int i = 0; i < 20000; ++i) {
    auto v = uint64_t(dist(rng));
    raw.push_back(v);
    h.add(v);
  }
  // The edges themselves, and one below: the `le` semantics at the boundary.
  for (uint64_t e : {uint64_t(128), uint64_t(192), uint64_t(1) << 20}) {
    raw.push_back(e);
    raw.push_back(e - 1);
    h.add(e);
    h.add(e - 1);
  }
  prometheus::ClientMetric::Histogram out;
  fill_histogram(h, out);
  ASSERT_EQ(out.bucket.size(), bucket_edges_ns().size());
  EXPECT_EQ(out.sample_count, raw.size());
  uint64_t sum = 0;
  for (uint64_t v : raw) sum += v;
  EXPECT_DOUBLE_EQ(out.sample_sum, double(sum) / 1e9);
  for (size_t i = 0; i < out.bucket.size(); ++i) {
    uint64_t edge = bucket_edges_ns()[i];
    uint64_t below = 0;
    for (uint64_t v : raw) below += v < edge ? 1 : 0;
    EXPECT_EQ(out.bucket[i].cumulative_count, below) << "edge " << edge;
    EXPECT_DOUBLE_EQ(out.bucket[i].upper_bound, double(edge) / 1e9);
  }
}

TEST(ServeNames, EveryCatalogueMetricGetsAPrometheusNameInBaseUnits) {
  std::regex ok("^lockscope_[a-z_]+_(seconds|total)$");
  for (const auto& m : metric_catalogue()) {
    std::string n = prometheus_name(m.name);
    EXPECT_TRUE(std::regex_match(n, ok)) << n;
    EXPECT_EQ(n.find("_ns"), std::string::npos) << n;
  }
  EXPECT_EQ(prometheus_name(metric::kPoolLockHold), "lockscope_pool_lock_hold_seconds");
  EXPECT_EQ(prometheus_name(metric::kWqQueueLatency), "lockscope_wq_queue_latency_seconds");
  EXPECT_EQ(prometheus_name(metric::kWakeupsUnderPoolLock),
            "lockscope_wakeups_under_pool_lock_total");
}

TEST(ServeExposition, UnavailableMetricsAreAbsentAndListedWithTheirReason) {
  SiteLabels labels(10);
  Profile p = meta();
  auto fs = exposition(tracepoint_run(), {&p, 1.5e9}, labels).families;
  EXPECT_EQ(find(fs, "lockscope_pool_lock_hold_seconds"), nullptr);
  EXPECT_EQ(find(fs, "lockscope_wakeups_under_pool_lock_total"), nullptr);
  const auto* un = find(fs, "lockscope_metric_unavailable");
  ASSERT_NE(un, nullptr);
  std::map<std::string, std::string> reasons;
  for (const auto& m : un->metric) reasons[label(m, "metric")] = label(m, "reason");
  EXPECT_EQ(reasons[metric::kPoolLockHold],
            "needs fexit on the spinlock functions and fentry on the unlocks");
  EXPECT_EQ(reasons[metric::kWakeupsUnderPoolLock], "needs the spinlock hooks");
  // Catalogue metrics the run does not hold at all are listed too.
  EXPECT_EQ(reasons[metric::kWqExec], "not in this session's load plan");
  EXPECT_EQ(reasons.count(metric::kWqQueueLatency), 0u);
}

TEST(ServeExposition, CountersHistogramsInfoAndLosses) {
  SiteLabels labels(10);
  Profile p = meta();
  auto fs = exposition(tracepoint_run(), {&p, 1.5e9}, labels).families;
  const auto* q = find(fs, "lockscope_wq_queue_latency_seconds");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->type, prometheus::MetricType::Histogram);
  ASSERT_EQ(q->metric.size(), 1u);
  EXPECT_EQ(q->metric[0].histogram.sample_count, 5u);
  const auto* k = find(fs, "lockscope_kworker_wakeups_total");
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->type, prometheus::MetricType::Counter);
  EXPECT_EQ(k->metric[0].counter.value, 7);
  EXPECT_EQ(find(fs, "lockscope_kworker_wakeups_denominator_total")->metric[0].counter.value, 70);
  const auto* info = find(fs, "lockscope_info");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(label(info->metric[0], "kernel_release"), "6.1.0-test");
  EXPECT_EQ(label(info->metric[0], "backend"), "tracepoint");
  EXPECT_EQ(label(info->metric[0], "clocksource"), "tsc");
  EXPECT_EQ(label(info->metric[0], "patch_state"), "pre-patch");
  const auto* lost = find(fs, "lockscope_lost_events_total");
  ASSERT_NE(lost, nullptr);
  std::map<std::string, double> by;
  for (const auto& m : lost->metric) by[label(m, "reason")] = m.counter.value;
  EXPECT_EQ(by["inflight_full"], 1);
  ASSERT_EQ(by.count("site_map_full"), 1u);  // a measured zero is exported
  EXPECT_EQ(by["site_map_full"], 0);
  std::string text = to_text(fs);
  EXPECT_NE(text.find("lockscope_wq_queue_latency_seconds_bucket{le=\"+Inf\"} 5"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE lockscope_wq_queue_latency_seconds histogram"), std::string::npos);
}

TEST(ServeExposition, PoolKindsPartitionTheHistogram) {
  lockscope::Run r;
  Metric hold;
  hold.hist = hist_of({200, 300, 400, 5000});
  hold.by_kind["percpu"] = hist_of({200, 300});
  hold.by_kind["unbound"] = hist_of({400, 5000});
  hold.count = 4;
  r.metrics[metric::kPoolLockHold] = hold;
  SiteLabels labels(10);
  auto fs = exposition(r, {}, labels).families;
  const auto* h = find(fs, "lockscope_pool_lock_hold_seconds");
  ASSERT_NE(h, nullptr);
  ASSERT_EQ(h->metric.size(), 2u);
  uint64_t total = 0;
  for (const auto& m : h->metric) {
    EXPECT_FALSE(label(m, "kind").empty());
    total += m.histogram.sample_count;
  }
  EXPECT_EQ(total, hold.hist->count());
}

TEST(ServeExposition, NoRawKernelAddressLeavesAsASiteLabel) {
  SiteLabels labels(10);
  auto fs = exposition(tracepoint_run(), {}, labels).families;
  const auto* s = find(fs, "lockscope_wq_queue_latency_by_site_total");
  ASSERT_NE(s, nullptr);
  std::set<std::string> sites;
  for (const auto& m : s->metric) sites.insert(label(m, "site"));
  EXPECT_EQ(sites, (std::set<std::string>{"flush_to_ldisc", "[unknown]"}));
  EXPECT_EQ(to_text(fs).find("0xffff"), std::string::npos);
}

// What Prometheus makes of successive scrapes of one family: the increase
// of each series since its last sample (a range vector skips the scrapes
// where it was absent), and the whole value of a series never seen before.
struct ScrapeChecker {
  std::map<std::string, double> last;
  // Returns the summed increase; fails the test where a series went down.
  double next(const prometheus::MetricFamily& f, int round) {
    double increase = 0;
    for (const auto& m : f.metric) {
      std::string s = label(m, "site") + "/" + label(m, "kind");
      auto it = last.find(s);
      if (it == last.end()) {
        increase += m.counter.value;
      } else {
        EXPECT_GE(m.counter.value, it->second) << "site " << s << " went down in round " << round;
        increase += m.counter.value - it->second;
      }
      last[s] = m.counter.value;
    }
    return increase;
  }
};

lockscope::Run wakeups_run(const std::map<std::string, uint64_t>& counts) {
  lockscope::Run r;
  Metric w;
  w.count = 0;
  for (const auto& [name, n] : counts) {
    w.by_site.push_back(site(name, n));
    *w.count += n;
  }
  sort_sites(w.by_site);
  r.metrics[metric::kKworkerWakeups] = w;
  return r;
}

// Cumulative runs whose site ranking changes: at most K site labels plus
// "other"; a site that grows big late takes a label; no series ever goes
// down and the increases of the series add up to the total's.
TEST(ServeSites, TopKFollowsTheRankingAndAccountsExactly) {
  SiteLabels labels(2);
  std::map<std::string, uint64_t> counts;
  ScrapeChecker check;
  uint64_t prev_total = 0;
  std::mt19937 rng(7);
  std::set<std::string> labeled_at_end;
  for (int round = 0; round < 40; ++round) {
    counts["early" + std::to_string(round % 5)] += 1 + rng() % 5;  // five small sites
    if (round >= 10) counts["late"] += 100;                        // one that becomes the largest
    if (round % 7 == 0) counts["new" + std::to_string(round)] += 1 + rng() % 3;
    uint64_t total = 0;
    for (const auto& [_, n] : counts) total += n;
    auto fs = exposition(wakeups_run(counts), {}, labels).families;
    const auto* f = find(fs, "lockscope_kworker_wakeups_by_site_total");
    ASSERT_NE(f, nullptr);
    EXPECT_LE(f->metric.size(), 3u);
    EXPECT_EQ(check.next(*f, round), double(total - prev_total)) << "round " << round;
    prev_total = total;
    if (round == 39)
      for (const auto& m : f->metric) labeled_at_end.insert(label(m, "site"));
  }
  EXPECT_EQ(labeled_at_end.count("late"), 1u) << "the largest site has no label";
  EXPECT_EQ(labeled_at_end.count("other"), 1u);
}

// One slot; A leads, B overtakes it (A goes to "other"), A wins it back:
// A's series goes on from where it stopped, nothing is counted twice.
TEST(ServeSites, ASiteThatWinsItsLabelBackGoesOnWhereItStopped) {
  SiteLabels labels(1);
  ScrapeChecker check;
  std::map<std::string, uint64_t> counts;
  uint64_t prev_total = 0;
  std::vector<std::string> holder;  // who had the label each round
  for (int round = 0; round < 30; ++round) {
    counts["A"] += round < 10 ? 10 : (round < 20 ? 1 : 100);
    counts["B"] += round < 10 ? 1 : (round < 20 ? 50 : 1);
    uint64_t total = counts["A"] + counts["B"];
    auto fs = exposition(wakeups_run(counts), {}, labels).families;
    const auto* f = find(fs, "lockscope_kworker_wakeups_by_site_total");
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(check.next(*f, round), double(total - prev_total)) << "round " << round;
    prev_total = total;
    for (const auto& m : f->metric)
      if (label(m, "site") != "other") holder.push_back(label(m, "site"));
  }
  ASSERT_EQ(holder.size(), 30u);
  EXPECT_EQ(holder.front(), "A");
  EXPECT_NE(std::find(holder.begin(), holder.end(), "B"), holder.end());
  EXPECT_EQ(holder.back(), "A");
}

TEST(ServeSites, RandomGrowthNeverBreaksTheAccounting) {
  SiteLabels labels(3);
  std::map<std::string, uint64_t> counts;
  ScrapeChecker check;
  uint64_t prev_total = 0;
  std::mt19937 rng(11);
  for (int round = 0; round < 200; ++round) {
    counts["s" + std::to_string(rng() % 12)] += rng() % 1000;
    for (auto& [_, n] : counts) n += rng() % (rng() % 4 == 0 ? 500 : 5);
    uint64_t total = 0;
    for (const auto& [_, n] : counts) total += n;
    auto fs = exposition(wakeups_run(counts), {}, labels).families;
    const auto* f = find(fs, "lockscope_kworker_wakeups_by_site_total");
    ASSERT_NE(f, nullptr);
    EXPECT_LE(f->metric.size(), 4u);
    EXPECT_EQ(check.next(*f, round), double(total - prev_total)) << "round " << round;
    prev_total = total;
  }
}

TEST(ServeSites, TopZeroMeansNoPerSiteSeries) {
  SiteLabels labels(0);
  auto fs = exposition(tracepoint_run(), {}, labels).families;
  EXPECT_EQ(find(fs, "lockscope_wq_queue_latency_by_site_total"), nullptr);
}

TEST(ServeExposition, ProgramStatsOnlyWhenTheKernelCountsThem) {
  SiteLabels labels(10);
  EXPECT_EQ(find(exposition(tracepoint_run(), {}, labels).families, "lockscope_program_runs_total"),
            nullptr);
  std::vector<ProgramStats> progs(1);
  progs[0].name = "ls_wq_start";
  progs[0].attach = "tp_btf/workqueue_execute_start";
  progs[0].run_cnt = 10;
  progs[0].run_time_ns = 2500;
  ExpositionContext ctx;
  ctx.programs = &progs;
  auto fs = exposition(tracepoint_run(), ctx, labels).families;
  const auto* runs = find(fs, "lockscope_program_runs_total");
  ASSERT_NE(runs, nullptr);
  EXPECT_EQ(label(runs->metric.at(0), "hook"), "tp_btf/workqueue_execute_start");
  EXPECT_EQ(runs->metric.at(0).counter.value, 10);
  EXPECT_DOUBLE_EQ(find(fs, "lockscope_program_run_seconds_total")->metric.at(0).counter.value,
                   2.5e-6);
}

TEST(ServeExposition, GoldenText) {
  SiteLabels labels(10);
  Profile p = meta();
  lockscope::testing::expect_golden(
      to_text(exposition(tracepoint_run(), {&p, 1.5e9}, labels).families),
      "serve/tracepoint_run.prom");
}

TEST(ServeExposition, GoldenOpenMetrics) {
  SiteLabels labels(10);
  Profile p = meta();
  lockscope::testing::expect_golden(
      to_openmetrics(exposition(tracepoint_run(), {&p, 1.5e9}, labels).families),
      "serve/tracepoint_run.om");
}

TEST(ServeExposition, CountersEndInTotalAndHistogramsKeepTheirSources) {
  // OpenMetrics names a counter's family without `_total`: every counter
  // must have it, or the two text formats would name it differently.
  SiteLabels labels(10);
  Profile p = meta();
  Exposition e = exposition(tracepoint_run(), {&p, 1.5e9}, labels);
  size_t histograms = 0;
  for (const auto& f : e.families) {
    if (f.type == prometheus::MetricType::Counter) {
      EXPECT_EQ(f.name.substr(f.name.size() - 6), "_total") << f.name;
    }
    if (f.type == prometheus::MetricType::Histogram) {
      ++histograms;
      ASSERT_EQ(e.histograms.count(f.name), 1u) << f.name;
      const auto& src = e.histograms.at(f.name);
      ASSERT_EQ(src.size(), f.metric.size()) << f.name;
      for (size_t i = 0; i < src.size(); ++i)
        EXPECT_EQ(src[i].count(), f.metric[i].histogram.sample_count) << f.name;
    }
  }
  EXPECT_GT(histograms, 0u);
}

TEST(ServeListen, ParsesNumericAddresses) {
  auto a = parse_listen("127.0.0.1:9488");
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 9488);
  EXPECT_EQ(a.text(), "127.0.0.1:9488");
  auto b = parse_listen("[::1]:0");
  EXPECT_EQ(b.host, "::1");
  EXPECT_EQ(b.port, 0);
  EXPECT_EQ(b.text(), "[::1]:0");
  EXPECT_EQ(parse_listen("0.0.0.0:65535").port, 65535);
}

TEST(ServeListen, RefusesWhatItCannotListenOnWithExit2) {
  for (const char* bad : {"9488", "localhost:9488", "127.0.0.1:", "127.0.0.1:65536",
                          "127.0.0.1:http", "[::1:9488", ":9488", "[zz]:1"}) {
    try {
      parse_listen(bad);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), kExitUsage) << bad;
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace lockscope::serve
