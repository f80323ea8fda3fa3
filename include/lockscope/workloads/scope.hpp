// SPDX-License-Identifier: Apache-2.0
// The workqueue's default affinity scope: the scopes lockscope knows, parsing
// --scope, and an RAII owner that restores the kernel's setting.
#pragma once

#include <string>
#include <vector>

namespace lockscope {

inline constexpr const char* kDefaultAffinityScopePath =
    "/sys/module/workqueue/parameters/default_affinity_scope";

// Every scope lockscope knows, in the seed's order (== test_workqueue_scopes()).
const std::vector<std::string>& known_scopes();

// Parses "--scope": "all" or a comma-separated list (spaces ignored,
// duplicates dropped, order kept). Unknown names -> usage_error listing the
// valid ones. Empty list -> usage_error.
std::vector<std::string> parse_scope_list(const std::string& text);

// RAII owner of default_affinity_scope: remembers the value at construction
// and writes it back in the destructor (normal return, exception, or a stop
// signal that made the run loop unwind). Not copyable.
class AffinityScopeGuard {
 public:
  explicit AffinityScopeGuard(std::string path = kDefaultAffinityScopePath);
  ~AffinityScopeGuard();
  AffinityScopeGuard(const AffinityScopeGuard&) = delete;
  AffinityScopeGuard& operator=(const AffinityScopeGuard&) = delete;

  const std::string& original() const { return original_; }
  // Writes `scope` and reads it back. Returns false when the kernel refuses it
  // (EINVAL) or silently maps it to another scope (6.x kernels accept
  // "cache_shard" as a prefix match of "cache"). Throws on other errors.
  bool try_set(const std::string& scope);
  std::string current() const;
  // The subset of `wanted` this kernel accepts (each tried, then restored).
  std::vector<std::string> supported(const std::vector<std::string>& wanted);
  void restore();

 private:
  std::string path_;
  std::string original_;
};

}  // namespace lockscope
