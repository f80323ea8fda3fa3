// SPDX-License-Identifier: Apache-2.0
// The workqueue default affinity scope: set per run, always restored.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "lockscope/core/error.hpp"
#include "lockscope/core/log.hpp"
#include "lockscope/core/text.hpp"
#include "lockscope/workloads/scope.hpp"

namespace lockscope {
namespace {

std::string read_scope(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    throw unsupported(
        "cannot read " + path + ": " + std::strerror(errno),
        "this kernel has no workqueue affinity scopes (Linux 6.5+), or sysfs is not mounted");
  std::stringstream ss;
  ss << in.rdbuf();
  return trim(ss.str());
}

// Returns 0 or the errno of the write.
int write_scope(const std::string& path, const std::string& value) {
  int fd = open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) return errno;
  int err = 0;
  for (;;) {
    ssize_t n = write(fd, value.data(), value.size());
    if (n == ssize_t(value.size())) break;
    if (n < 0 && errno == EINTR) continue;  // a stop signal: finish the write anyway
    err = n < 0 ? errno : EIO;
    break;
  }
  close(fd);
  return err;
}

}  // namespace

AffinityScopeGuard::AffinityScopeGuard(std::string path) : path_(std::move(path)) {
  original_ = read_scope(path_);
}

AffinityScopeGuard::~AffinityScopeGuard() {
  try {
    restore();
  } catch (const std::exception& e) {
    log::error("could not restore {} to '{}': {}", path_, original_, e.what());
  }
}

std::string AffinityScopeGuard::current() const { return read_scope(path_); }

bool AffinityScopeGuard::try_set(const std::string& scope) {
  int err = write_scope(path_, scope);
  if (err == EINVAL) return false;
  if (err == EACCES || err == EPERM)
    throw unsupported("cannot write " + path_ + ": " + std::strerror(err), "run as root");
  if (err != 0) throw unsupported("cannot write " + path_ + ": " + std::strerror(err));
  // Older parsers match by prefix: "cache_shard" is taken as "cache".
  return current() == scope;
}

std::vector<std::string> AffinityScopeGuard::supported(const std::vector<std::string>& wanted) {
  std::vector<std::string> ok;
  for (const auto& s : wanted)
    if (try_set(s)) ok.push_back(s);
  restore();
  return ok;
}

void AffinityScopeGuard::restore() {
  if (current() == original_) return;
  int err = write_scope(path_, original_);
  if (err != 0)
    throw unsupported("cannot restore " + path_ + " to '" + original_ + "': " + std::strerror(err));
  log::debug("restored {} to '{}'", path_, original_);
}

}  // namespace lockscope
