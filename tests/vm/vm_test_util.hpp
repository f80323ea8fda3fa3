// SPDX-License-Identifier: Apache-2.0
// What the vm-tier tests share: the reason they cannot run here, and reading
// a file whole.
#pragma once

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

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

}  // namespace lockscope::vmtest
