// SPDX-License-Identifier: Apache-2.0
// Child processes for the VM tier: argv only (no shell unless asked), their
// own process group, killed with the group on timeout, on the stop flag and
// when this process dies (PR_SET_PDEATHSIG).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace lockscope::vm::detail {

struct RunOptions {
  std::string cwd;
  std::string stdout_file;   // when set, stdout goes there (stderr still captured)
  int timeout_s = 0;         // 0 = none
  bool ignore_stop = false;  // cleanup that must finish even while stopping
};

struct RunResult {
  int status = -1;  // exit code; 128+signal when killed
  bool timed_out = false;
  std::string output;  // stdout (unless redirected) + stderr
};

RunResult run(const std::vector<std::string>& argv, const RunOptions& opt = {});
// Runs and throws Error(kExitUnsupported) with the output's tail when it fails.
std::string run_checked(const std::vector<std::string>& argv, const std::string& what,
                        const RunOptions& opt = {});

// A started child that is killed (whole process group) when this goes away.
class Child {
 public:
  Child() = default;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child();
  // stdout/stderr go to `log_file` (appended).
  void start(const std::vector<std::string>& argv, const std::string& log_file);
  // Non-blocking: true when exited (status set).
  bool poll(int* status);
  void kill_group();
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

bool exists(const std::string& path);
std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& text, int mode = 0644);
void make_dirs(const std::string& path);
void remove_tree(const std::string& path) noexcept;  // logs, never throws
std::string sha256_file(const std::string& path);
std::string tail_of(const std::string& text, size_t lines);
// mkdtemp under `parent`, removed on destruction unless released.
class TempDir {
 public:
  explicit TempDir(const std::string& parent, const std::string& prefix = "tmp-");
  ~TempDir();
  const std::string& path() const { return path_; }
  void release() { path_.clear(); }

 private:
  std::string path_;
};

// Exclusive lock on cache_dir()/lock, recursive within this process.
class CacheLock {
 public:
  CacheLock();
  ~CacheLock();
  CacheLock(const CacheLock&) = delete;
  CacheLock& operator=(const CacheLock&) = delete;
};

}  // namespace lockscope::vm::detail
