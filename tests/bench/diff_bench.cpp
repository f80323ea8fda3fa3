// SPDX-License-Identifier: Apache-2.0
// `lockscope diff` on two sides of 100 runs x 50 metrics (one scope): every
// compared key gets a two-sided exact rank test and a Hodges-Lehmann interval
// (100 x 100 pairwise ratios); the gate's checks get their one-sided tests.
//   make lockscope diff_bench && ./tests/bench/diff_bench
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <random>
#include <string>

#include "lockscope/diff/diff.hpp"

namespace {

using namespace lockscope;

Profile make_side(uint32_t seed, double shift, size_t runs, size_t metrics) {
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> lat(7.0, 0.6);
  Profile p;
  p.kernel_release = seed == 1 ? "base" : "cand";
  p.nr_cpus = 8;
  p.backend = "fentry";
  for (size_t r = 0; r < runs; ++r) {
    Run run;
    run.scope = "cache";
    run.repetition = uint32_t(r);
    WorkloadResult w;
    w.name = "test_workqueue";
    w.items_per_sec = 300000 * shift * (1.0 + 0.05 * std::generate_canonical<double, 32>(rng));
    w.latency_ns["p95"] = 3000 / shift;
    run.workload = w;
    for (size_t m = 0; m < metrics; ++m) {
      Metric met;
      Histogram h;
      for (int i = 0; i < 200; ++i) h.add(uint64_t(lat(rng) / shift));
      met.hist = h;
      met.count = h.count();
      met.total = 4 * h.count();
      run.metrics["metric_" + std::to_string(m) + "_ns"] = std::move(met);
    }
    p.runs.push_back(std::move(run));
  }
  return p;
}

diff::Side side_of(Profile p, const std::string& name) {
  diff::Side s;
  s.path = name;
  s.files = {name};
  s.profiles.push_back(std::move(p));
  return s;
}

void BM_DiffCompare(benchmark::State& state) {
  size_t runs = size_t(state.range(0)), metrics = size_t(state.range(1));
  diff::Side base = side_of(make_side(1, 1.0, runs, metrics), "base");
  diff::Side cand = side_of(make_side(2, 1.1, runs, metrics), "cand");
  size_t rows = 0;
  for (auto _ : state) {
    diff::Report r = diff::compare(base, cand, diff::Options{});
    diff::apply_gate(r,
                     {diff::parse_gate("metric_7_ns.p95 <= -5%"), diff::parse_gate("tput >= +5%")});
    rows = r.rows.size();
    benchmark::DoNotOptimize(r);
  }
  state.counters["compared_keys"] = double(rows);
}
BENCHMARK(BM_DiffCompare)->Args({100, 50})->Args({5, 50})->Unit(benchmark::kMillisecond);

// The whole command's work: load two profile files, compare, render.
void BM_DiffLoadCompareRender(benchmark::State& state) {
  char dir[] = "/tmp/lockscope-diff-bench-XXXXXX";
  if (!mkdtemp(dir)) {
    state.SkipWithError("mkdtemp failed");
    return;
  }
  std::string b = std::string(dir) + "/base.json", c = std::string(dir) + "/cand.json";
  save_profile(make_side(1, 1.0, 100, 50), b);
  save_profile(make_side(2, 1.1, 100, 50), c);
  for (auto _ : state) {
    diff::Report r = diff::compare(diff::load_side(b), diff::load_side(c), diff::Options{});
    std::string out = diff::render_text(r) + diff::render_json(r);
    benchmark::DoNotOptimize(out);
  }
  std::remove(b.c_str());
  std::remove(c.c_str());
  rmdir(dir);
}
BENCHMARK(BM_DiffLoadCompareRender)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
