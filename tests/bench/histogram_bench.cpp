// SPDX-License-Identifier: Apache-2.0
// Histogram costs in user space: bucketing, merging per-CPU BPF copies, and
// percentile look-ups (run by hand: build/tests/bench/histogram_bench).
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "lockscope/bpf_shared.h"
#include "lockscope/core/histogram.hpp"

namespace {

using lockscope::Histogram;

std::vector<uint64_t> values(size_t n) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> d(9.0, 1.5);
  std::vector<uint64_t> v(n);
  for (auto& x : v) x = uint64_t(d(rng));
  return v;
}

void BM_IndexOf(benchmark::State& st) {
  auto v = values(4096);
  size_t i = 0;
  for (auto _ : st) benchmark::DoNotOptimize(Histogram::index_of(v[i++ & 4095]));
}
BENCHMARK(BM_IndexOf);

void BM_Add(benchmark::State& st) {
  auto v = values(4096);
  Histogram h;
  size_t i = 0;
  for (auto _ : st) h.add(v[i++ & 4095]);
}
BENCHMARK(BM_Add);

// Merging one CPU's copy of a BPF histogram (what every snapshot does per CPU).
void BM_MergeBpf(benchmark::State& st) {
  static ls_hist h{};
  for (uint64_t x : values(100000)) {
    h.buckets[Histogram::index_of(x)]++;
    h.count++;
    h.sum += x;
  }
  h.min = 1;
  h.max = 1 << 30;
  for (auto _ : st) {
    Histogram m;
    m.merge_bpf(h);
    benchmark::DoNotOptimize(m.count());
  }
}
BENCHMARK(BM_MergeBpf);

void BM_Merge(benchmark::State& st) {
  Histogram a, b;
  for (uint64_t x : values(100000)) (x & 1 ? a : b).add(x);
  for (auto _ : st) {
    Histogram m = a;
    m.merge(b);
    benchmark::DoNotOptimize(m.count());
  }
}
BENCHMARK(BM_Merge);

void BM_Percentile(benchmark::State& st) {
  Histogram h;
  for (uint64_t x : values(100000)) h.add(x);
  for (auto _ : st) benchmark::DoNotOptimize(h.percentile(95));
}
BENCHMARK(BM_Percentile);

}  // namespace

BENCHMARK_MAIN();
