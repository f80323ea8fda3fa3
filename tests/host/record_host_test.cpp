// SPDX-License-Identifier: Apache-2.0
// `lockscope record` on this machine's kernel for real: the tracepoint
// backend under a pty round-trip load (each byte is one flush_to_ldisc work
// item on events_unbound), the profile it writes, and clean detach after a
// normal end, SIGINT and SIGTERM (no lockscope program left in the kernel).
#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "lockscope/workload.hpp"

namespace {

using nlohmann::json;

// Names of every BPF program lockscope loads (bpf/lockscope.bpf.c,
// bpf/featprobe.bpf.c), as the kernel truncates them (15 characters).
bool is_lockscope_prog(const std::string& name) {
  for (const char* p : {"ls_", "btf_", "raw_", "empty_"})
    if (name.rfind(p, 0) == 0) return true;
  return false;
}

std::set<uint32_t> lockscope_prog_ids() {
  std::set<uint32_t> ids;
  uint32_t id = 0;
  while (bpf_prog_get_next_id(id, &id) == 0) {
    int fd = bpf_prog_get_fd_by_id(id);
    if (fd < 0) continue;
    bpf_prog_info info = {};
    uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && is_lockscope_prog(info.name)) ids.insert(id);
    close(fd);
  }
  return ids;
}

std::string tmp_path(const std::string& name) {
  return "/tmp/lockscope-host-" + std::to_string(getpid()) + "-" + name;
}

json read_json(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return json::parse(ss.str());
}

// A running `lockscope record`; stderr is read until it says it is recording.
class RecordProcess {
 public:
  explicit RecordProcess(const std::vector<std::string>& args) {
    int err[2];
    if (pipe(err) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(err[1], STDERR_FILENO);
      int devnull = open("/dev/null", O_WRONLY);
      dup2(devnull, STDOUT_FILENO);
      close(err[0]);
      std::vector<char*> argv{const_cast<char*>(LOCKSCOPE_BINARY), const_cast<char*>("record")};
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(LOCKSCOPE_BINARY, argv.data());
      _exit(127);
    }
    close(err[1]);
    err_ = err[0];
  }
  ~RecordProcess() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (err_ >= 0) close(err_);
  }
  // Waits until stderr shows the "recording with" line (programs attached).
  bool wait_recording(int timeout_ms) {
    auto t0 = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(timeout_ms)) {
      pollfd p{err_, POLLIN, 0};
      if (poll(&p, 1, 100) > 0) {
        char buf[512];
        ssize_t n = read(err_, buf, sizeof buf);
        if (n <= 0) return false;
        stderr_.append(buf, size_t(n));
        if (stderr_.find("recording with") != std::string::npos) return true;
      }
    }
    return false;
  }
  int wait_exit() {
    int st = 0;
    waitpid(pid_, &st, 0);
    reaped_ = true;
    char buf[512];
    ssize_t n;
    while ((n = read(err_, buf, sizeof buf)) > 0) stderr_.append(buf, size_t(n));
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
  void signal(int sig) { kill(pid_, sig); }
  const std::string& err() const { return stderr_; }

 private:
  pid_t pid_ = -1;
  int err_ = -1;
  bool reaped_ = false;
  std::string stderr_;
};

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
    for (uint32_t id : after) EXPECT_TRUE(before_.count(id)) << "program id " << id << " left behind";
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
  if (raw) args.push_back("--raw-tp");
  RecordProcess rec(args);
  ASSERT_TRUE(rec.wait_recording(30000)) << rec.err();
  // The load: 2 threads x 3000 pty round trips.
  std::atomic<uint64_t> done{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&] {
      lockscope::PtyChannel ch;
      for (int i = 0; i < 3000; ++i)
        if (ch.round_trip()) done++;
    });
  for (auto& t : threads) t.join();
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
  for (const char* name : {"pool_lock_hold_ns", "wakeups_under_pool_lock", "rq_lock_nested_under_pool_lock"}) {
    ASSERT_TRUE(m.contains(name)) << name;
    EXPECT_EQ(m[name]["status"], "unavailable") << name;
    EXPECT_FALSE(m[name]["reason"].get<std::string>().empty()) << name;
  }
  // The pty items show up as flush_to_ldisc on events_unbound.
  const json& q = m["wq_queue_latency_ns"];
  ASSERT_EQ(q["status"], "ok") << q.dump();
  bool found = false;
  for (const auto& s : q["by_site"]) {
    if (s["site"] != "flush_to_ldisc") continue;
    found = true;
    EXPECT_EQ(s["detail"], "events_unbound");
    EXPECT_GE(s["count"].get<uint64_t>(), 6000u);
    double p50 = s["histogram"]["p50"].get<double>();
    EXPECT_GT(p50, 100.0);   // > 100 ns: not zero
    EXPECT_LT(p50, 1e8);     // < 100 ms: not hours
  }
  EXPECT_TRUE(found) << q["by_site"].dump();
  EXPECT_GE(p["runs"][0]["counters"]["wq_queued"].get<uint64_t>(), 6000u);
  EXPECT_EQ(m["pool_lock_wait_ns"]["status"], "ok");
  ExpectNothingLeft();
  unlink(out.c_str());
}

INSTANTIATE_TEST_SUITE_P(Flavours, RecordTracepoints, ::testing::Values(false, true),
                         [](const auto& info) { return std::string(info.param ? "raw_tp" : "tp_btf"); });

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
