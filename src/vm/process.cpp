// SPDX-License-Identifier: Apache-2.0
#include "vm/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/ranges.h>

#include "lockscope/core/error.hpp"
#include "lockscope/core/log.hpp"
#include "lockscope/core/signals.hpp"
#include "lockscope/vm/vm.hpp"

namespace lockscope::vm::detail {
namespace {

[[noreturn]] void exec_child(const std::vector<std::string>& argv, const std::string& cwd,
                             int out_fd, int err_fd, pid_t parent) {
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  signal(SIGHUP, SIG_DFL);
  int devnull = open("/dev/null", O_RDONLY);
  if (devnull >= 0) dup2(devnull, 0);
  dup2(out_fd, 1);
  dup2(err_fd, 2);
  if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(127);
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  execvp(args[0], args.data());
  dprintf(2, "cannot run %s: %s\n", args[0], strerror(errno));
  _exit(127);
}

int decode_status(int st) {
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return -1;
}

}  // namespace

RunResult run(const std::vector<std::string>& argv, const RunOptions& opt) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw Error(kExitUnsupported, "pipe failed");
  int out_fd = fds[1];
  int file_fd = -1;
  if (!opt.stdout_file.empty()) {
    file_fd = open(opt.stdout_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (file_fd < 0) {
      close(fds[0]);
      close(fds[1]);
      throw Error(kExitUnsupported, "cannot write " + opt.stdout_file + ": " + strerror(errno));
    }
    out_fd = file_fd;
  }
  log::debug("run: {}", fmt::join(argv, " "));
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) throw Error(kExitUnsupported, "fork failed");
  if (pid == 0) exec_child(argv, opt.cwd, out_fd, fds[1], parent);
  setpgid(pid, pid);
  close(fds[1]);
  if (file_fd >= 0) close(file_fd);

  RunResult r;
  auto start = std::chrono::steady_clock::now();
  bool exited = false;
  int st = 0;
  bool eof = false;
  char buf[8192];
  while (!(exited && eof)) {
    if (!eof) {
      struct pollfd p = {fds[0], POLLIN, 0};
      int n = poll(&p, 1, 200);
      if (n > 0) {
        ssize_t got = read(fds[0], buf, sizeof buf);
        if (got > 0)
          r.output.append(buf, size_t(got));
        else if (got == 0)
          eof = true;
      }
    } else {
      usleep(50 * 1000);
    }
    if (!exited && waitpid(pid, &st, WNOHANG) == pid) {
      exited = true;
      // Drain what is left without waiting for grandchildren holding the pipe.
      fcntl(fds[0], F_SETFL, O_NONBLOCK);
      ssize_t got;
      while ((got = read(fds[0], buf, sizeof buf)) > 0) r.output.append(buf, size_t(got));
      eof = true;
    }
    double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    bool timeout = opt.timeout_s > 0 && elapsed > opt.timeout_s;
    if (!exited && (timeout || (!opt.ignore_stop && stop_requested()))) {
      kill(-pid, SIGKILL);
      waitpid(pid, &st, 0);
      close(fds[0]);
      if (!timeout) throw Error(kExitInconclusive, "interrupted while running " + argv[0]);
      r.timed_out = true;
      r.status = decode_status(st);
      return r;
    }
  }
  close(fds[0]);
  r.status = decode_status(st);
  return r;
}

std::string run_checked(const std::vector<std::string>& argv, const std::string& what,
                        const RunOptions& opt) {
  RunResult r = run(argv, opt);
  if (r.status != 0 || r.timed_out)
    throw Error(kExitUnsupported,
                what + " failed (" + argv[0] +
                    (r.timed_out ? " timed out" : " exit " + std::to_string(r.status)) +
                    "): " + tail_of(r.output, 6),
                "run with -vv to see the commands");
  return r.output;
}

Child::~Child() {
  if (pid_ > 0) {
    kill_group();
    int st;
    waitpid(pid_, &st, 0);
  }
}

void Child::start(const std::vector<std::string>& argv, const std::string& log_file) {
  int fd = open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(kExitUnsupported, "cannot write " + log_file + ": " + strerror(errno));
  log::debug("start: {}", fmt::join(argv, " "));
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    close(fd);
    throw Error(kExitUnsupported, "fork failed");
  }
  if (pid == 0) exec_child(argv, "", fd, fd, parent);
  setpgid(pid, pid);
  close(fd);
  pid_ = pid;
}

bool Child::poll(int* status) {
  if (pid_ <= 0) return true;
  int st;
  if (waitpid(pid_, &st, WNOHANG) == pid_) {
    *status = decode_status(st);
    pid_ = -1;
    return true;
  }
  return false;
}

void Child::kill_group() {
  if (pid_ > 0) kill(-pid_, SIGKILL);
}

bool exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const std::string& path, const std::string& text, int mode) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) throw Error(kExitUnsupported, "cannot write " + tmp);
  }
  chmod(tmp.c_str(), mode_t(mode));
  if (rename(tmp.c_str(), path.c_str()) != 0)
    throw Error(kExitUnsupported, "cannot rename " + tmp + ": " + strerror(errno));
}

void make_dirs(const std::string& path) {
  std::string cur;
  std::stringstream ss(path);
  std::string part;
  if (!path.empty() && path[0] == '/') cur = "";
  while (std::getline(ss, part, '/')) {
    if (part.empty()) continue;
    cur += "/" + part;
    if (mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST)
      throw Error(kExitUnsupported, "cannot create " + cur + ": " + strerror(errno));
  }
}

void remove_tree(const std::string& path) noexcept {
  if (path.empty() || path == "/") return;
  // Runs from destructors, also while lockscope is stopping: never throws and
  // is not cut short by the stop flag. rm, not std::filesystem::remove_all:
  // --one-file-system keeps it out of anything still mounted in a chroot.
  try {
    RunOptions o;
    o.timeout_s = 300;
    o.ignore_stop = true;
    RunResult r = run({"rm", "-rf", "--one-file-system", path}, o);
    if (r.status != 0) log::warn("could not remove {}: {}", path, tail_of(r.output, 1));
  } catch (const std::exception& e) {
    log::warn("could not remove {}: {}", path, e.what());
  }
}

std::string sha256_file(const std::string& path) {
  std::string out = run_checked({"sha256sum", path}, "sha256sum " + path);
  return out.substr(0, out.find(' '));
}

std::string tail_of(const std::string& text, size_t lines) {
  size_t pos = text.size();
  if (pos && text[pos - 1] == '\n') --pos;
  for (size_t n = 0; n < lines && pos != std::string::npos && pos > 0; ++n)
    pos = text.rfind('\n', pos - 1);
  if (pos == std::string::npos) return text;
  return text.substr(pos == 0 ? 0 : pos + 1);
}

TempDir::TempDir(const std::string& parent, const std::string& prefix) {
  make_dirs(parent);
  std::string templ = parent + "/" + prefix + "XXXXXX";
  if (!mkdtemp(templ.data())) throw Error(kExitUnsupported, "mkdtemp in " + parent + " failed");
  path_ = templ;
}

TempDir::~TempDir() {
  if (!path_.empty()) remove_tree(path_);
}

namespace {
int g_lock_fd = -1;
int g_lock_depth = 0;
}  // namespace

CacheLock::CacheLock() {
  if (g_lock_depth++ > 0) return;
  std::string dir = cache_dir();
  make_dirs(dir);
  g_lock_fd = open((dir + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (g_lock_fd < 0) {
    --g_lock_depth;
    throw Error(kExitUnsupported, "cannot open " + dir + "/lock");
  }
  if (flock(g_lock_fd, LOCK_EX | LOCK_NB) != 0) {
    log::info("waiting for another lockscope using the cache {}", dir);
    while (flock(g_lock_fd, LOCK_EX) != 0) {
      if (stop_requested()) {
        close(g_lock_fd);
        g_lock_fd = -1;
        --g_lock_depth;
        throw Error(kExitInconclusive, "interrupted while waiting for the cache lock");
      }
    }
  }
}

CacheLock::~CacheLock() {
  if (--g_lock_depth > 0) return;
  if (g_lock_fd >= 0) close(g_lock_fd);
  g_lock_fd = -1;
}

}  // namespace lockscope::vm::detail
