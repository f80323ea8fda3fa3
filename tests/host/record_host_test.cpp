// SPDX-License-Identifier: Apache-2.0
// `lockscope record` on this machine's kernel for real: the tracepoint
// backend under a pty round-trip load (each byte goes through a
// flush_to_ldisc work item on events_unbound), the profile it writes, and clean detach after a
// normal end, SIGINT and SIGTERM (no lockscope program left in the kernel).
#include <bpf/bpf.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "host_util.hpp"
#include "lockscope/workloads/plan.hpp"

namespace {

using lockscope::hosttest::lockscope_prog_ids;
using lockscope::hosttest::LockscopeProcess;
using lockscope::hosttest::min_pty_queue_events;
using lockscope::hosttest::pty_load;
using lockscope::hosttest::read_json;
using lockscope::hosttest::read_text;
using lockscope::hosttest::RecordProcess;
using lockscope::hosttest::tmp_path;
using nlohmann::json;

class RecordHost : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to load BPF programs";
    before_ = lockscope_prog_ids();
  }
  // The kernel frees a program asynchronously after its last reference is
  // dropped: give it a few seconds before calling it left behind.
  void ExpectNothingLeft() {
    std::set<uint32_t> after;
    for (int i = 0; i < 50; ++i) {
      after.clear();
      for (uint32_t id : lockscope_prog_ids())
        if (!before_.count(id)) after.insert(id);
      if (after.empty()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    for (uint32_t id : after)
      EXPECT_TRUE(before_.count(id)) << "program id " << id << " left behind";
  }
  // record ARGS (writing `out`) until SIGINT, under 2 x 500 pty round trips
  // once it says it is recording: the profile, or null after a failure.
  json RecordUnderPtyLoad(const std::vector<std::string>& args, const std::string& out) {
    RecordProcess rec(args);
    bool recording = rec.wait_recording(30000);
    EXPECT_TRUE(recording) << rec.err();
    if (!recording) return json();
    std::atomic<uint64_t> done{0};
    pty_load(2, 500, &done);
    rec.signal(SIGINT);
    int code = rec.wait_exit();
    EXPECT_EQ(code, 0) << rec.err();
    return code == 0 ? read_json(out) : json();
  }
  std::set<uint32_t> before_;
};

// Both tracepoint flavours: tp_btf, and raw_tp (the fallback for kernels
// without BTF-typed tracepoints, forced with --raw-tp).
class RecordTracepoints : public RecordHost, public ::testing::WithParamInterface<bool> {};

TEST_P(RecordTracepoints, UnderPtyLoad) {
  const bool raw = GetParam();
  std::string out = tmp_path("pty.json");
  std::vector<std::string> args{"--backend", "tracepoint", "-o", out};
  if (raw) args.emplace_back("--raw-tp");
  RecordProcess rec(args);
  ASSERT_TRUE(rec.wait_recording(30000)) << rec.err();
  // The load: 2 threads x 3000 pty round trips.
  std::atomic<uint64_t> done{0};
  pty_load(2, 3000, &done);
  rec.signal(SIGINT);
  ASSERT_EQ(rec.wait_exit(), 0) << rec.err();
  ASSERT_EQ(done.load(), 6000u);

  json p = read_json(out);
  ASSERT_EQ(p["schema"], "lockscope.profile");
  EXPECT_EQ(p["backend"], "tracepoint");
  for (const auto& h : p["hooks"]["attached"])
    EXPECT_EQ(h.get<std::string>().rfind(raw ? "raw_tp/" : "tp_btf/", 0), 0u) << h;
  const json& m = p["runs"][0]["metrics"];
  // Function-hook metrics are listed as unavailable, with the reason.
  for (const char* name :
       {"pool_lock_hold_ns", "wakeups_under_pool_lock", "rq_lock_nested_under_pool_lock"}) {
    ASSERT_TRUE(m.contains(name)) << name;
    EXPECT_EQ(m[name]["status"], "unavailable") << name;
    EXPECT_FALSE(m[name]["reason"].get<std::string>().empty()) << name;
  }
  // Every queue event is one sample of the queue latency once its item
  // starts: the samples and lockscope's count of the tracepoint's firings
  // agree, short by the items still queued when the recording ended.
  const json& q = m["wq_queue_latency_ns"];
  ASSERT_EQ(q["status"], "ok") << q.dump();
  const json& counters = p["runs"][0]["counters"];
  const std::string why = "drops " + p["runs"][0]["drops"].dump() + " counters " + counters.dump();
  const uint64_t queued = counters["wq_queued"].get<uint64_t>();
  const uint64_t samples = q["histogram"]["count"].get<uint64_t>();
  EXPECT_LE(samples, queued) << why;
  EXPECT_GE(samples + 16, queued) << why;
  // The pty items show up as flush_to_ldisc on events_unbound: one queue
  // event per round trip, bar the kernel's coalescing (min_pty_queue_events).
  bool found = false;
  for (const auto& s : q["by_site"]) {
    if (s["site"] != "flush_to_ldisc") continue;
    found = true;
    EXPECT_EQ(s["detail"], "events_unbound");
    EXPECT_GE(s["count"].get<uint64_t>(), min_pty_queue_events(done.load())) << why;
    EXPECT_LE(s["count"].get<uint64_t>(), samples);
    double p50 = s["histogram"]["p50"].get<double>();
    EXPECT_GT(p50, 100.0);  // > 100 ns: not zero
    EXPECT_LT(p50, 1e8);    // < 100 ms: not hours
  }
  EXPECT_TRUE(found) << q["by_site"].dump();
  EXPECT_EQ(m["pool_lock_wait_ns"]["status"], "ok");
  // kworkers wake the readers from flush_to_ldisc: the waker's work function
  // (task->worker_private is the kthread; the worker is its ->data, not
  // worker_private itself, which named every site worker_thread).
  const json& k = m["kworker_wakeups"];
  ASSERT_EQ(k["status"], "ok") << k.dump();
  uint64_t ldisc = 0, at_sites = 0;
  for (const auto& s : k["by_site"]) {
    EXPECT_NE(s["site"], "worker_thread") << k["by_site"].dump();
    if (s["site"] == "flush_to_ldisc") ldisc = s["count"].get<uint64_t>();
    at_sites += s["count"].get<uint64_t>();
  }
  EXPECT_GT(ldisc, 0u) << k["by_site"].dump();
  // Each CPU counts its latest site in a slot of its own state and moves it
  // into the per-site map when the site changes: the rows still add up to
  // the count (what was still in a slot is read with it), give or take the
  // few wakeups of a read that kept moving (Session::read_counts()).
  uint64_t n = k["count"].get<uint64_t>(), slack = std::max<uint64_t>(8, n / 200);
  EXPECT_LE(at_sites, n + slack) << k.dump();
  EXPECT_GE(at_sites + slack, n) << k.dump();
  ExpectNothingLeft();
  unlink(out.c_str());
}

INSTANTIATE_TEST_SUITE_P(Flavours, RecordTracepoints, ::testing::Values(false, true),
                         [](const auto& info) {
                           return std::string(info.param ? "raw_tp" : "tp_btf");
                         });

// --no-sites means no per-site rows for any metric: the work functions of
// the queue latency and the kworker wakers were still listed before.
TEST_F(RecordHost, NoSitesMeansNoSiteRows) {
  std::string out = tmp_path("nosites.json");
  json p = RecordUnderPtyLoad({"--backend", "tracepoint", "--no-sites", "-o", out}, out);
  ASSERT_FALSE(p.is_null());
  const json& m = p["runs"][0]["metrics"];
  ASSERT_EQ(m["wq_queue_latency_ns"]["status"], "ok");
  EXPECT_GE(m["wq_queue_latency_ns"]["histogram"]["count"].get<uint64_t>(),
            min_pty_queue_events(1000));
  ASSERT_EQ(m["kworker_wakeups"]["status"], "ok");
  EXPECT_GT(m["kworker_wakeups"]["count"].get<uint64_t>(), 0u);
  for (const auto& [name, metric] : m.items())
    EXPECT_FALSE(metric.contains("by_site")) << name << ": " << metric["by_site"].dump();
  unlink(out.c_str());
}

// record --floor: empty programs on the hooks the same options attach, no
// profile; with --stats their kernel run counts, which the load drives.
TEST_F(RecordHost, FloorRunsEmptyProgramsOnTheSameHooksAndWritesNoProfile) {
  std::string out = tmp_path("floor.json"), table = tmp_path("floor.txt");
  unlink(out.c_str());
  // The load is the recorded command (lockscope's own pty workload, 2 x 500
  // round trips), so all of it falls inside the floor's stats.
  LockscopeProcess rec(
      "record",
      {"--floor", "--stats", "--backend", "tracepoint", "-o", out, "--", LOCKSCOPE_BINARY, "bench",
       "--workload", "pty", "--scope", "system", "--items", "500", "--threads", "2", "--runs", "1"},
      table);
  ASSERT_EQ(rec.wait_exit(), 0) << rec.err();
  EXPECT_NE(access(out.c_str(), F_OK), 0) << "--floor wrote a profile";
  // The stats table: "SECTION RUNS RUNS/S NS/RUN RECURSION".
  std::map<std::string, uint64_t> runs;
  std::istringstream in(read_text(table));
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string section;
    uint64_t n = 0;
    if (f >> section >> n) runs[section] = n;
  }
  // The 1000 round trips queue flush_to_ldisc (min_pty_queue_events()); the
  // tracepoint fires for them under the empty program as under lockscope's.
  EXPECT_GE(runs["tp_btf/workqueue_queue_work"], min_pty_queue_events(1000)) << read_text(table);
  EXPECT_GT(runs["tp_btf/sched_switch"], 0u) << read_text(table);
  EXPECT_EQ(runs.count("fexit/_raw_spin_lock"), 0u) << "a function hook on a tracepoint backend";
  ExpectNothingLeft();
  unlink(table.c_str());
}

// record --metrics: only the hooks the selected metrics need; the others are
// "not recorded", never zero.
TEST_F(RecordHost, MetricSelectionAttachesOnlyWhatItNeeds) {
  std::string out = tmp_path("selected.json");
  json p = RecordUnderPtyLoad(
      {"--backend", "tracepoint", "--metrics", "kworker_wakeups", "-o", out}, out);
  ASSERT_FALSE(p.is_null());
  const json& r = p["runs"][0];
  EXPECT_EQ(p["hooks"]["attached"], json::array({"tp_btf/sched_waking"})) << p["hooks"].dump();
  ASSERT_EQ(r["metrics"]["kworker_wakeups"]["status"], "ok");
  EXPECT_GT(r["metrics"]["kworker_wakeups"]["count"].get<uint64_t>(), 0u);
  const json& q = r["metrics"]["wq_queue_latency_ns"];
  EXPECT_EQ(q["status"], "unavailable");
  EXPECT_NE(q["reason"].get<std::string>().find("not asked for"), std::string::npos) << q.dump();
  RecordProcess bad({"--metrics", "pool_lock_hold", "-d", "1", "-o", out});
  EXPECT_EQ(bad.wait_exit(), 2) << bad.err();
  EXPECT_NE(bad.err().find("unknown metric 'pool_lock_hold'"), std::string::npos) << bad.err();
  unlink(out.c_str());
}

TEST_F(RecordHost, DetachesAfterNormalEnd) {
  std::string out = tmp_path("normal.json");
  RecordProcess rec({"-d", "1", "-o", out});
  ASSERT_TRUE(rec.wait_recording(30000)) << rec.err();
  ASSERT_EQ(rec.wait_exit(), 0) << rec.err();
  EXPECT_EQ(read_json(out)["runs"].size(), 1u);
  ExpectNothingLeft();
  unlink(out.c_str());
}

class RecordSignal : public RecordHost, public ::testing::WithParamInterface<int> {};

TEST_P(RecordSignal, StopsCleanlyAndWritesTheProfile) {
  std::string out = tmp_path("sig.json");
  RecordProcess rec({"-o", out});  // no duration: until a signal
  ASSERT_TRUE(rec.wait_recording(30000)) << rec.err();
  EXPECT_FALSE(lockscope_prog_ids().empty()) << "programs should be attached while recording";
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  rec.signal(GetParam());
  EXPECT_EQ(rec.wait_exit(), 0) << rec.err();
  json p = read_json(out);
  EXPECT_EQ(p["runs"].size(), 1u);
  ExpectNothingLeft();
  unlink(out.c_str());
}

INSTANTIATE_TEST_SUITE_P(Signals, RecordSignal, ::testing::Values(SIGINT, SIGTERM, SIGHUP),
                         [](const auto& info) { return std::string(sigabbrev_np(info.param)); });

// record --workload: one run per (scope, repetition), each with its workload
// figures and its own lock metrics; the affinity scope is restored.
TEST_F(RecordHost, WorkloadRunsPerScope) {
  const char* scope_file = "/sys/module/workqueue/parameters/default_affinity_scope";
  std::string before;
  std::getline(std::ifstream(scope_file), before);
  std::string out = tmp_path("wl.json");
  RecordProcess rec({"--workload", "pty", "--scope", "cpu,system", "--runs", "2", "--items", "1000",
                     "--threads", "2", "-o", out});
  ASSERT_EQ(rec.wait_exit(), 0) << rec.err();
  json p = read_json(out);
  ASSERT_EQ(p["runs"].size(), 4u);
  std::vector<std::string> order;
  for (const auto& r : p["runs"]) {
    order.push_back(r["scope"]);
    EXPECT_EQ(r["workload"]["name"], "pty");
    EXPECT_EQ(r["workload"]["items"].get<uint64_t>(), 2000u);
    EXPECT_GT(r["workload"]["items_per_sec"].get<double>(), 0);
    const json& q = r["metrics"]["wq_queue_latency_ns"];
    ASSERT_EQ(q["status"], "ok");
    uint64_t flush = 0;
    for (const auto& s : q["by_site"])
      if (s["site"] == "flush_to_ldisc") flush = s["count"];
    // Each run's maps were zeroed before it: about its own 2000 items (+50
    // warm-up round trips per thread), not the whole recording's.
    EXPECT_GE(flush, min_pty_queue_events(2000));
    EXPECT_LT(flush, 2500u);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"cpu", "system", "cpu", "system"}));  // interleaved
  std::string after;
  std::getline(std::ifstream(scope_file), after);
  EXPECT_EQ(after, before);
  ExpectNothingLeft();
  unlink(out.c_str());
}

TEST_F(RecordHost, BadInputIsExit2) {
  RecordProcess a({"--backend", "nonsense", "-d", "1"});
  EXPECT_EQ(a.wait_exit(), 2) << a.err();
  RecordProcess b({"-d", "-3"});
  EXPECT_EQ(b.wait_exit(), 2) << b.err();
  RecordProcess c({"-d", "1", "-o", "/nonexistent-dir/x.json"});
  EXPECT_EQ(c.wait_exit(), 2) << c.err();
  EXPECT_NE(c.err().find("not writable"), std::string::npos) << c.err();
}

TEST_F(RecordHost, FentryRefusedOnThisHostIsExit4) {
  if (std::getenv("LOCKSCOPE_EXPECT_FENTRY")) GTEST_SKIP() << "this host allows fentry";
  RecordProcess rec({"--backend", "fentry", "-d", "1", "-o", tmp_path("f.json")});
  EXPECT_EQ(rec.wait_exit(), 4) << rec.err();
  EXPECT_NE(rec.err().find("--backend tracepoint"), std::string::npos) << rec.err();
  ExpectNothingLeft();
}

}  // namespace
