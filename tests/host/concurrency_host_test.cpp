// SPDX-License-Identifier: Apache-2.0
// Two `lockscope record` instances at once, under one pty load: each loads its
// own programs and maps, both profiles are valid and both see the whole load,
// and nothing of either is left in the kernel afterwards.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <thread>

#include "host_util.hpp"
#include "lockscope/workloads/plan.hpp"

namespace {

using lockscope::hosttest::left_behind;
using lockscope::hosttest::lockscope_link_ids;
using lockscope::hosttest::lockscope_prog_ids;
using lockscope::hosttest::min_pty_queue_events;
using lockscope::hosttest::pty_load;
using lockscope::hosttest::read_json;
using lockscope::hosttest::RecordProcess;
using lockscope::hosttest::tmp_path;
using nlohmann::json;

uint64_t flush_to_ldisc_count(const json& p) {
  uint64_t n = 0;
  for (const auto& s : p["runs"][0]["metrics"]["wq_queue_latency_ns"]["by_site"])
    if (s["site"] == "flush_to_ldisc") n += s["count"].get<uint64_t>();
  return n;
}

TEST(ConcurrencyHost, TwoRecordersAtOnceBothSeeTheLoad) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to load BPF programs";
  auto progs_before = lockscope_prog_ids();
  auto links_before = lockscope_link_ids();
  std::string out_a = tmp_path("conc-a.json"), out_b = tmp_path("conc-b.json");
  RecordProcess a({"--backend", "tracepoint", "-o", out_a, "--label", "a"});
  RecordProcess b({"--backend", "tracepoint", "-o", out_b, "--label", "b"});
  ASSERT_TRUE(a.wait_recording(30000)) << a.err();
  ASSERT_TRUE(b.wait_recording(30000)) << b.err();
  // Both have their own programs attached.
  size_t progs_during = lockscope_prog_ids().size() - progs_before.size();
  size_t links_during = lockscope_link_ids().size() - links_before.size();

  const int kThreads = 2, kItems = 3000;
  std::atomic<uint64_t> done{0};
  pty_load(kThreads, kItems, &done);
  a.signal(SIGINT);
  b.signal(SIGINT);
  ASSERT_EQ(a.wait_exit(), 0) << a.err();
  ASSERT_EQ(b.wait_exit(), 0) << b.err();
  ASSERT_EQ(done.load(), uint64_t(kThreads * kItems));

  json pa = read_json(out_a), pb = read_json(out_b);
  EXPECT_EQ(pa["label"], "a");
  EXPECT_EQ(pb["label"], "b");
  uint64_t na = flush_to_ldisc_count(pa), nb = flush_to_ldisc_count(pb);
  EXPECT_GE(na, min_pty_queue_events(done.load()));
  EXPECT_GE(nb, min_pty_queue_events(done.load()));
  // What each counted is its own count of the tracepoint's firings, bar
  // the items still queued at its end: nothing lost between the two.
  for (const json* p : {&pa, &pb}) {
    const json& r = (*p)["runs"][0];
    uint64_t queued = r["counters"]["wq_queued"].get<uint64_t>();
    uint64_t samples = r["metrics"]["wq_queue_latency_ns"]["histogram"]["count"].get<uint64_t>();
    EXPECT_LE(samples, queued) << r["counters"];
    EXPECT_GE(samples + 16, queued) << r["counters"];
  }
  // Both watched the same window (the load), so they count the same items;
  // one instance must not steal or double the other's events.
  uint64_t hi = std::max(na, nb), lo = std::min(na, nb);
  EXPECT_LE(hi - lo, hi / 20 + 200) << "a=" << na << " b=" << nb;
  for (const json* p : {&pa, &pb})
    EXPECT_EQ((*p)["runs"][0]["drops"].value("site_map_full", uint64_t(0)), 0u)
        << (*p)["runs"][0]["drops"];
  std::printf(
      "two recorders: %zu programs and %zu links attached while both ran; flush_to_ldisc a=%llu "
      "b=%llu "
      "for %llu items\n",
      progs_during, links_during, (unsigned long long)na, (unsigned long long)nb,
      (unsigned long long)done.load());
  EXPECT_GE(progs_during, 2u);

  EXPECT_TRUE(left_behind(progs_before, lockscope_prog_ids).empty()) << "programs left behind";
  EXPECT_TRUE(left_behind(links_before, lockscope_link_ids).empty()) << "links left behind";
  unlink(out_a.c_str());
  unlink(out_b.c_str());
}

}  // namespace
