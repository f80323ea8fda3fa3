// SPDX-License-Identifier: Apache-2.0
// What the vm-tier tests share: the reason they cannot run here, reading a
// file whole, the kernels the probe tests boot, and guest settings (lockdown,
// the clocksource) with the commands that read them back.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

namespace lockscope::vmtest {

// Why the vm tier cannot run on this machine, or empty.
inline std::string missing_prerequisite() {
  if (geteuid() != 0) return "needs root (module build chroot, QEMU guest images)";
  if (access("/usr/bin/qemu-system-x86_64", X_OK) != 0 &&
      access("/usr/local/bin/qemu-system-x86_64", X_OK) != 0)
    return "qemu-system-x86_64 not installed";
  return {};
}

inline std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// A kernel for the probe tests: a version pattern (vm::select_kernel_version)
// and, optionally, the workqueue patch state probe must report there.
struct KernelUnderTest {
  std::string pattern;      // "7.2", "6.12.*+deb12", "6.1.0-50"
  std::string patch_state;  // "pre-patch", "post-patch", "legacy"; empty: not checked
};

// How gtest names the parameter in its output.
inline void PrintTo(const KernelUnderTest& k, std::ostream* os) {
  *os << k.pattern << (k.patch_state.empty() ? "" : "=") << k.patch_state;
}

constexpr const char* kDefaultKernels = "7.2=pre-patch 7.3=post-patch 6.12=pre-patch 6.1=legacy";

// "7.2=pre-patch 7.3=post-patch, 6.12" -> entries (space or comma separated).
inline std::vector<KernelUnderTest> parse_kernel_list(const std::string& text) {
  std::vector<KernelUnderTest> out;
  std::string item;
  std::istringstream s(text);
  while (s >> item) {
    std::istringstream parts(item);
    for (std::string one; std::getline(parts, one, ',');) {
      if (one.empty()) continue;
      auto eq = one.find('=');
      out.push_back({one.substr(0, eq), eq == std::string::npos ? "" : one.substr(eq + 1)});
    }
  }
  return out;
}

// $LOCKSCOPE_VM_KERNELS, else kDefaultKernels (the pre- and post-patch kernels).
inline std::vector<KernelUnderTest> kernels_under_test() {
  const char* env = std::getenv("LOCKSCOPE_VM_KERNELS");
  auto list = parse_kernel_list(env && *env ? env : kDefaultKernels);
  return list.empty() ? parse_kernel_list(kDefaultKernels) : list;
}

// A gtest parameter name for a kernel of the list: "2_6_12".
inline std::string kernel_test_name(const ::testing::TestParamInfo<KernelUnderTest>& info) {
  std::string name = std::to_string(info.index) + "_" + info.param.pattern;
  for (char& c : name)
    if (!isalnum(static_cast<unsigned char>(c))) c = '_';
  return name;
}

// A clocksource that reads the TSC: "tsc", or "tsc-early", which a kernel
// uses from boot until its TSC calibration is refined about a second later
// (6.1's guests are still on it when a short command reads it). The same
// counter, the same cheap read; what the tests rule out is HPET or acpi_pm.
inline bool times_with_tsc(const std::string& clocksource) {
  return clocksource == "tsc" || clocksource == "tsc-early";
}

// The kernel parameter that boots a guest locked down: mode "integrity" or
// "confidentiality". For vm::BootSpec::extra_append, e.g.
//   spec.extra_append = vmtest::lockdown_param("confidentiality");
// The guest's /init mounts securityfs, so kReadLockdown shows the mode.
inline std::string lockdown_param(const std::string& mode) { return "lockdown=" + mode; }
constexpr const char* kReadLockdown = "cat /sys/kernel/security/lockdown > $RESULTS/lockdown";
constexpr const char* kReadClocksource =
    "cat /sys/devices/system/clocksource/clocksource0/current_clocksource > $RESULTS/clocksource; "
    "cat /sys/devices/system/clocksource/clocksource0/available_clocksource > "
    "$RESULTS/clocksources";

// The selected word of a /sys list such as "none [integrity] confidentiality".
inline std::string selected(const std::string& text) {
  auto open = text.find('['), close = text.find(']');
  if (open == std::string::npos || close == std::string::npos || close < open) return {};
  return text.substr(open + 1, close - open - 1);
}

inline std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

}  // namespace lockscope::vmtest
