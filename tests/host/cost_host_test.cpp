// SPDX-License-Identifier: Apache-2.0
// What a recording costs, on this machine's kernel: the kernel's BPF stats
// sampled during `record` must agree with lockscope's own per-class run
// counters (st->runs[] in bpf/lockscope.bpf.c, counted by the programs
// themselves) and with the per-program table `record --stats` prints; and
// `report` shows the cost line. Tracepoint backend (this host refuses fentry).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "host_util.hpp"

namespace {

using lockscope::hosttest::LockscopeProcess;
using lockscope::hosttest::read_json;
using lockscope::hosttest::read_text;
using lockscope::hosttest::tmp_path;
using nlohmann::json;

// A command that wakes and switches a lot: a pipe between two processes.
const std::vector<std::string> kLoad = {"--", "sh", "-c", "yes | head -c 150000000 > /dev/null"};

class CostHost : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to load BPF programs";
  }
  void TearDown() override {
    for (const auto& f : files_) unlink(f.c_str());
  }
  std::string file(const std::string& name) {
    files_.push_back(tmp_path(name));
    return files_.back();
  }
  std::vector<std::string> files_;
};

// The kernel's runs of the programs on tracepoint `tp` in a cost.
uint64_t kernel_runs(const json& cost, const std::string& tp) {
  uint64_t n = 0;
  for (const auto& p : cost["programs"]) {
    std::string a = p["attach"];
    if (a.size() > tp.size() && a.compare(a.size() - tp.size(), tp.size(), tp) == 0 &&
        a[a.size() - tp.size() - 1] == '/')
      n += p["runs"].get<uint64_t>();
  }
  return n;
}

// Two counts of the same runs, read a moment apart: within 1% (and a few
// runs that happen between the two reads).
void expect_close(uint64_t kernel, uint64_t counted, const std::string& what) {
  double tol = std::max(0.01 * double(counted), 50.0);
  EXPECT_NEAR(double(kernel), double(counted), tol)
      << what << ": kernel BPF stats " << kernel << ", lockscope's own counters " << counted;
}

// The sched_waking and sched_switch programs: the kernel's run counts over
// the window against lockscope's own counts over the same window.
void expect_counts_agree(const json& cost) {
  ASSERT_EQ(cost["status"], "ok") << cost.dump();
  for (const auto& [tp, cls] :
       std::map<std::string, std::string>{{"sched_waking", "waking"}, {"sched_switch", "switch"}}) {
    ASSERT_TRUE(cost["counted_runs"].contains(cls)) << cost.dump();
    uint64_t counted = cost["counted_runs"][cls];
    EXPECT_GT(counted, 0u) << cls;
    expect_close(kernel_runs(cost, tp), counted, tp);
  }
}

// The rows of the `record --stats` table: attach -> runs.
std::map<std::string, uint64_t> stats_table(const std::string& stdout_text) {
  std::map<std::string, uint64_t> rows;
  std::istringstream in(stdout_text);
  bool in_table = false;
  for (std::string line; std::getline(in, line);) {
    std::istringstream f(line);
    std::string attach, runs;
    f >> attach >> runs;
    if (attach == "program" && runs == "runs") {
      in_table = true;
      continue;
    }
    if (!in_table) continue;
    if (attach.find('/') == std::string::npos || runs.empty()) break;
    rows[attach] = std::stoull(runs);
  }
  return rows;
}

// --stats: the window is the whole recording, the same one the table covers.
TEST_F(CostHost, StatsOverTheRecordingAgreeWithLockscopesCountsAndTheTable) {
  std::string out = file("cost.json"), table = file("cost.out");
  std::vector<std::string> args{"--backend", "tracepoint", "--stats", "-o", out};
  args.insert(args.end(), kLoad.begin(), kLoad.end());
  LockscopeProcess rec("record", args, table);
  ASSERT_EQ(rec.wait_exit(), 0) << rec.err();

  json run = read_json(out)["runs"][0];
  const json& cost = run["cost"];
  expect_counts_agree(cost);
  EXPECT_EQ(cost["source"], "kernel BPF stats");
  double window = cost["window_s"];
  EXPECT_GT(window, 0.0);
  EXPECT_LE(window, run["duration_s"].get<double>() + 0.05);

  // hook_runs_per_s: every program's runs over the window, > 0, and the
  // rate of the table `record --stats` printed for the same recording.
  uint64_t runs = 0;
  for (const auto& p : cost["programs"]) runs += p["runs"].get<uint64_t>();
  double rate = cost["hook_runs_per_s"];
  EXPECT_GT(rate, 0.0);
  EXPECT_NEAR(rate, double(runs) / window, 1e-6 * rate);
  auto rows = stats_table(read_text(table));
  ASSERT_FALSE(rows.empty()) << read_text(table);
  uint64_t table_runs = 0;
  for (const auto& p : cost["programs"]) {
    std::string a = p["attach"];
    ASSERT_TRUE(rows.count(a)) << a << " not in the --stats table:\n" << read_text(table);
    expect_close(p["runs"].get<uint64_t>(), rows[a], a + " (profile vs --stats table)");
    table_runs += rows[a];
  }
  double table_rate = double(table_runs) / run["duration_s"].get<double>();
  EXPECT_NEAR(rate, table_rate, 0.05 * table_rate);
  EXPECT_GT(cost["cpu_fraction"].get<double>(), 0.0);

  // No pool->lock hold is timed with the tracepoint backend: the per-hold
  // figure is unavailable with the reason, not zero.
  if (!std::getenv("LOCKSCOPE_EXPECT_FENTRY")) {
    EXPECT_EQ(cost["added_per_hold"]["status"], "unavailable");
    EXPECT_FALSE(cost["added_per_hold"].contains("ns"));
    EXPECT_FALSE(cost["added_per_hold"]["reason"].get<std::string>().empty());
  }

  // report: the cost line, next to the metrics.
  std::string rep = file("cost.txt");
  LockscopeProcess report("report", {out}, rep);
  ASSERT_EQ(report.wait_exit(), 0) << report.err();
  std::string text = read_text(rep);
  size_t at = text.find("\ncost  ");
  ASSERT_NE(at, std::string::npos) << text;
  std::string line = text.substr(at + 1, text.find('\n', at + 1) - at - 1);
  EXPECT_NE(line.find(" hook runs/s, "), std::string::npos) << line;
  EXPECT_NE(line.find("kernel BPF stats)"), std::string::npos) << line;
}

// Without --stats only the first second is sampled: lockscope's own counts
// of that window agree with the kernel's all the same.
TEST_F(CostHost, FirstSecondSampledOfALongerRecording) {
  std::string out = file("window.json");
  LockscopeProcess rec("record", {"--backend", "tracepoint", "-d", "3", "-o", out});
  ASSERT_TRUE(rec.wait_recording(30000)) << rec.err();
  ASSERT_EQ(std::system("yes | head -c 80000000 > /dev/null"), 0);
  ASSERT_EQ(rec.wait_exit(), 0) << rec.err();
  json run = read_json(out)["runs"][0];
  const json& cost = run["cost"];
  expect_counts_agree(cost);
  double window = cost["window_s"];
  EXPECT_GE(window, 1.0);
  EXPECT_LT(window, run["duration_s"].get<double>()) << "the window is not the whole run";
}

// record --workload: one window per run, from the run's own start.
TEST_F(CostHost, OneSamplePerWorkloadRun) {
  std::string out = file("wl.json");
  LockscopeProcess rec(
      "record", {"--backend", "tracepoint", "--stats", "--workload", "pty", "--scope", "system",
                 "--runs", "2", "--items", "500", "--threads", "2", "-o", out});
  ASSERT_EQ(rec.wait_exit(), 0) << rec.err();
  json p = read_json(out);
  ASSERT_EQ(p["runs"].size(), 2u);
  for (const auto& r : p["runs"]) {
    ASSERT_TRUE(r.contains("cost")) << r.dump();
    expect_counts_agree(r["cost"]);
    EXPECT_LE(r["cost"]["window_s"].get<double>(), r["duration_s"].get<double>() + 0.05);
  }
}

}  // namespace
