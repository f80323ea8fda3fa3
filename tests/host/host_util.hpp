// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the host tests: run the real lockscope binary
// (LOCKSCOPE_BINARY) as a child, and list the BPF programs and links
// lockscope leaves in the kernel.
#pragma once

#include <bpf/bpf.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "lockscope/workloads/plan.hpp"

namespace lockscope::hosttest {

// Names of every BPF program lockscope loads (bpf/lockscope.bpf.c,
// bpf/featprobe.bpf.c, bpf/floor.bpf.c), as the kernel truncates them (15
// characters).
inline bool is_lockscope_prog(const std::string& name) {
  for (const char* p : {"ls_", "btf_", "raw_", "empty_", "floor_"})
    if (name.rfind(p, 0) == 0) return true;
  return false;
}

inline bool prog_name(uint32_t prog_id, std::string* name) {
  int fd = bpf_prog_get_fd_by_id(prog_id);
  if (fd < 0) return false;
  bpf_prog_info info = {};
  uint32_t len = sizeof info;
  bool ok = bpf_obj_get_info_by_fd(fd, &info, &len) == 0;
  close(fd);
  if (ok) *name = info.name;
  return ok;
}

inline std::set<uint32_t> lockscope_prog_ids() {
  std::set<uint32_t> ids;
  uint32_t id = 0;
  std::string name;
  while (bpf_prog_get_next_id(id, &id) == 0)
    if (prog_name(id, &name) && is_lockscope_prog(name)) ids.insert(id);
  return ids;
}

// BPF links whose program is one of lockscope's. Links are owned by file
// descriptors: when the last fd closes (also on SIGKILL) the kernel detaches.
inline std::set<uint32_t> lockscope_link_ids() {
  std::set<uint32_t> ids;
  uint32_t id = 0;
  std::string name;
  while (bpf_link_get_next_id(id, &id) == 0) {
    int fd = bpf_link_get_fd_by_id(id);
    if (fd < 0) continue;
    bpf_link_info info = {};
    uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && prog_name(info.prog_id, &name) &&
        is_lockscope_prog(name))
      ids.insert(id);
    close(fd);
  }
  return ids;
}

// `threads` threads doing `items` pty round trips each (each one an item of
// the kernel's flush_to_ldisc work); counts the completed ones in *done.
// min_pty_queue_events() says how many of them queue that item.
inline void pty_load(int threads, int items, std::atomic<uint64_t>* done) {
  std::vector<std::thread> ts;
  ts.reserve(size_t(threads));
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([=] {
      lockscope::PtyChannel ch;
      for (int i = 0; i < items; ++i)
        if (ch.round_trip()) (*done)++;
    });
  for (auto& t : ts) t.join();
}

// The fewest flush_to_ldisc queue events `round_trips` pty round trips make.
// A write queues its pty's work item unless the item is still pending:
// queue_work() then returns false and no tracepoint fires. That happens
// when the worker that delivered the last byte is still in its loop, the
// write before this one queued the item again, and that run has not begun
// yet; the byte goes out with it. A few round trips in 6000 do this under
// load (5997 and 5999 queue events have been seen). Each test that counts
// queue events also checks lockscope against its own count of the
// tracepoint's firings (counters.wq_queued), so what this slack allows is
// the kernel's coalescing, never a pair lockscope lost.
inline uint64_t min_pty_queue_events(uint64_t round_trips) {
  return round_trips - round_trips / 100;
}

inline std::string tmp_path(const std::string& name) {
  return "/tmp/lockscope-host-" + std::to_string(getpid()) + "-" + name;
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline nlohmann::json read_json(const std::string& path) {
  return nlohmann::json::parse(read_text(path));
}

// A running `lockscope SUBCOMMAND ARGS...`; stdout goes to `stdout_path`
// (default /dev/null), stderr is collected.
class LockscopeProcess {
 public:
  LockscopeProcess(const std::string& subcommand, const std::vector<std::string>& args,
                   const std::string& stdout_path = "/dev/null") {
    int err[2];
    if (pipe(err) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(err[1], STDERR_FILENO);
      int out = open(stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(out, STDOUT_FILENO);
      close(err[0]);
      std::vector<char*> argv{const_cast<char*>(LOCKSCOPE_BINARY),
                              const_cast<char*>(subcommand.c_str())};
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(LOCKSCOPE_BINARY, argv.data());
      _exit(127);
    }
    close(err[1]);
    err_ = err[0];
  }
  ~LockscopeProcess() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (err_ >= 0) close(err_);
  }
  LockscopeProcess(const LockscopeProcess&) = delete;
  LockscopeProcess& operator=(const LockscopeProcess&) = delete;

  // Reads stderr until it contains `marker` (true) or timeout/EOF (false).
  bool wait_for(const std::string& marker, int timeout_ms) {
    auto t0 = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(timeout_ms)) {
      if (stderr_.find(marker) != std::string::npos) return true;
      pollfd p{err_, POLLIN, 0};
      if (poll(&p, 1, 100) > 0) {
        char buf[512];
        ssize_t n = read(err_, buf, sizeof buf);
        if (n <= 0) return false;
        stderr_.append(buf, size_t(n));
      }
    }
    return stderr_.find(marker) != std::string::npos;
  }
  // `record` prints "recording with ..." once its programs are attached.
  bool wait_recording(int timeout_ms) { return wait_for("recording with", timeout_ms); }
  // Exit code, or 128 + signal number.
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
  pid_t pid() const { return pid_; }
  const std::string& err() const { return stderr_; }

 private:
  pid_t pid_ = -1;
  int err_ = -1;
  bool reaped_ = false;
  std::string stderr_;
};

// `lockscope record ARGS...`
class RecordProcess : public LockscopeProcess {
 public:
  explicit RecordProcess(const std::vector<std::string>& args) : LockscopeProcess("record", args) {}
};

// Lockscope programs/links present now that were not in `before`. The kernel
// frees a program asynchronously after its last reference is dropped: this
// waits up to `wait_ms` for them to go before reporting them.
template <typename List>
std::set<uint32_t> left_behind(const std::set<uint32_t>& before, List list, int wait_ms = 5000) {
  std::set<uint32_t> after;
  for (int waited = 0;; waited += 100) {
    after.clear();
    for (uint32_t id : list())
      if (!before.count(id)) after.insert(id);
    if (after.empty() || waited >= wait_ms) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return after;
}

}  // namespace lockscope::hosttest
