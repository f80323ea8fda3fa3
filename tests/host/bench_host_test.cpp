// SPDX-License-Identifier: Apache-2.0
// Runs the real `lockscope bench` binary on this host: small pty runs over two
// scopes, bad input, and the affinity scope restored after SIGINT/SIGTERM/SIGHUP.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "lockscope/core/profile.hpp"
#include "lockscope/workloads/plan.hpp"

using namespace lockscope;

namespace {

std::string slurp(const std::string& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string scope_now() {
  std::string s = slurp(kDefaultAffinityScopePath);
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

struct Child {
  pid_t pid = -1;
  std::string out_path, err_path;
  int status = -1;
  std::string out() const { return slurp(out_path); }
  std::string err() const { return slurp(err_path); }
  int exit_code() const { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }
};

std::string temp_path(const char* tag) {
  char tmpl[64];
  std::snprintf(tmpl, sizeof tmpl, "/tmp/lockscope-bench-%s-XXXXXX", tag);
  int fd = mkstemp(tmpl);
  if (fd >= 0) close(fd);
  return tmpl;
}

// Starts LOCKSCOPE_BINARY with `args`; uid >= 0 drops privileges first.
Child spawn(const std::vector<std::string>& args, int uid = -1) {
  Child c;
  c.out_path = temp_path("out");
  c.err_path = temp_path("err");
  if (uid >= 0) {
    chmod(c.out_path.c_str(), 0666);
    chmod(c.err_path.c_str(), 0666);
  }
  c.pid = fork();
  if (c.pid == 0) {
    if (!freopen(c.out_path.c_str(), "w", stdout) || !freopen(c.err_path.c_str(), "w", stderr))
      _exit(127);
    if (uid >= 0 && (setgid(uid) != 0 || setuid(uid) != 0)) _exit(126);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(LOCKSCOPE_BINARY));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return c;
}

// Waits up to `limit`; kills and fails the test when the child hangs.
void wait_for(Child& c, std::chrono::seconds limit = std::chrono::seconds(120)) {
  auto end = std::chrono::steady_clock::now() + limit;
  for (;;) {
    pid_t r = waitpid(c.pid, &c.status, WNOHANG);
    if (r == c.pid) return;
    if (std::chrono::steady_clock::now() > end) {
      kill(c.pid, SIGKILL);
      waitpid(c.pid, &c.status, 0);
      ADD_FAILURE() << "lockscope bench did not exit within " << limit.count() << " s";
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

Child run(const std::vector<std::string>& args, int uid = -1) {
  Child c = spawn(args, uid);
  wait_for(c);
  return c;
}

class BenchHost : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) {
      GTEST_SKIP() << "needs root (writes the workqueue default affinity scope)";
    }
    if (access(kDefaultAffinityScopePath, W_OK) != 0) {
      GTEST_SKIP() << kDefaultAffinityScopePath << " missing or not writable on this kernel";
    }
    original_ = scope_now();
    // Two scopes that differ from the current one, so a change is observable.
    for (const char* s : {"cpu", "system", "smt", "numa", "cache"})
      if (s != original_ && two_.size() < 2) two_.emplace_back(s);
  }
  void TearDown() override {
    if (!original_.empty()) {
      EXPECT_EQ(scope_now(), original_);
    }
  }
  std::string original_;
  std::vector<std::string> two_;
};

}  // namespace

TEST_F(BenchHost, PtyTwoScopesInterleavedWithProfile) {
  std::string prof = temp_path("prof");
  Child c = run({"bench", "--scope", two_[0] + "," + two_[1], "--threads", "2", "--items", "2000",
                 "--runs", "2", "-o", prof, "--label", "host-test"});
  ASSERT_EQ(c.exit_code(), 0) << c.err();
  EXPECT_NE(c.out().find("affinity_scope"), std::string::npos) << c.out();
  EXPECT_NE(c.out().find(two_[0]), std::string::npos) << c.out();
  EXPECT_NE(c.out().find(two_[1]), std::string::npos) << c.out();
  EXPECT_EQ(c.err(), "") << "stderr is not a terminal: no progress expected";

  Profile p = load_profile(prof);
  std::remove(prof.c_str());
  EXPECT_EQ(p.backend, "none");
  EXPECT_EQ(p.label, "host-test");
  EXPECT_FALSE(p.hostname.empty());
  EXPECT_FALSE(p.kernel_release.empty());
  EXPECT_GT(p.nr_cpus, 0u);
  ASSERT_EQ(p.runs.size(), 4u);
  const std::vector<std::string> order = {two_[0], two_[1], two_[0], two_[1]};
  for (size_t i = 0; i < 4; ++i) {
    const lockscope::Run& r = p.runs[i];
    EXPECT_EQ(r.scope, order[i]);
    EXPECT_EQ(r.repetition, i / 2);
    EXPECT_TRUE(r.metrics.empty()) << "bench records no lock metrics";
    ASSERT_TRUE(r.workload.has_value());
    EXPECT_EQ(r.workload->name, "pty");
    EXPECT_EQ(r.workload->threads, 2u);
    EXPECT_EQ(r.workload->items, 4000u);
    EXPECT_GT(r.workload->items_per_sec, 0);
    ASSERT_TRUE(r.workload->latency.has_value());
    EXPECT_EQ(r.workload->latency->count(), 4000u);
    EXPECT_GT(r.workload->latency_ns.at("p95"), 0);
    EXPECT_LE(r.workload->latency_ns.at("p50"), r.workload->latency_ns.at("p99"));
  }
}

TEST_F(BenchHost, UnknownScopeExits2ListingValidOnes) {
  Child c = run({"bench", "--scope", "cpu,llc"});
  EXPECT_EQ(c.exit_code(), 2);
  EXPECT_NE(c.err().find("llc"), std::string::npos) << c.err();
  EXPECT_NE(c.err().find("cache_shard"), std::string::npos) << c.err();
}

TEST_F(BenchHost, NonPositiveCountsExit2) {
  for (auto args : std::vector<std::vector<std::string>>{{"--items", "0"},
                                                         {"--items", "-3"},
                                                         {"--threads", "-1"},
                                                         {"--threads", "0"},
                                                         {"--runs", "0"}}) {
    args.insert(args.begin(), "bench");
    Child c = run(args);
    EXPECT_EQ(c.exit_code(), 2) << args[1] << " " << args[2] << ": " << c.err();
  }
}

TEST_F(BenchHost, UnwritableOutputExits2BeforeRunning) {
  Child c = run({"bench", "--scope", two_[0], "--items", "100000", "--runs", "1", "-o",
                 "/proc/lockscope-nope/bench.json"});
  EXPECT_EQ(c.exit_code(), 2) << c.err();
  EXPECT_NE(c.err().find("cannot write /proc/lockscope-nope/bench.json"), std::string::npos)
      << c.err();
  // Refused before the workload: no result row was printed.
  EXPECT_EQ(c.out().find(two_[0]), std::string::npos) << c.out();
}

TEST_F(BenchHost, NotRootExits4) {
  Child c = run({"bench", "--scope", "cpu", "--items", "10", "--runs", "1"}, /*uid=*/65534);
  EXPECT_EQ(c.exit_code(), 4) << c.err();
  EXPECT_NE(c.err().find("root"), std::string::npos) << c.err();
}

TEST_F(BenchHost, MissingModuleNamesThePath) {
  Child c = run({"bench", "--workload", "test_workqueue=/nonexistent/test_workqueue.ko"});
  EXPECT_EQ(c.exit_code(), 2);
  EXPECT_NE(c.err().find("/nonexistent/test_workqueue.ko"), std::string::npos) << c.err();
  // Without a path: the running kernel's module directory is tried.
  Child d = run({"bench", "--workload", "test_workqueue", "--items", "100"});
  if (d.exit_code() == 0) {
    GTEST_SKIP() << "this kernel has test_workqueue: the default path loaded";
  }
  EXPECT_NE(d.exit_code(), 0);
  EXPECT_NE(d.err().find("test_workqueue"), std::string::npos) << d.err();
  EXPECT_NE(d.err().find("/lib/modules/"), std::string::npos) << d.err();
}

namespace {

// Starts a long run, waits until it changed the scope, sends `sig`, and checks
// that it exits promptly (interrupted, exit 3) with the scope restored.
void kill_mid_run(const std::string& original, const std::vector<std::string>& two, int sig) {
  Child c = spawn({"bench", "--scope", two[0] + "," + two[1], "--threads", "2", "--duration", "5",
                   "--runs", "2"});
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  bool changed = false;
  while (std::chrono::steady_clock::now() < end) {
    if (scope_now() == two[0]) {
      changed = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // Let the workload threads get going before the signal.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  kill(c.pid, sig);
  wait_for(c, std::chrono::seconds(10));
  EXPECT_TRUE(changed) << "the run never set scope " << two[0];
  EXPECT_EQ(c.exit_code(), 3) << c.err();
  EXPECT_NE(c.err().find("interrupted"), std::string::npos) << c.err();
  EXPECT_EQ(scope_now(), original);
}

}  // namespace

TEST_F(BenchHost, SigintMidRunRestoresScope) { kill_mid_run(original_, two_, SIGINT); }
TEST_F(BenchHost, SigtermMidRunRestoresScope) { kill_mid_run(original_, two_, SIGTERM); }
TEST_F(BenchHost, SighupMidRunRestoresScope) { kill_mid_run(original_, two_, SIGHUP); }
