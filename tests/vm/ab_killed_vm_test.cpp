// SPDX-License-Identifier: Apache-2.0
// `lockscope ab` killed at several points: before any boot, while a guest
// runs (SIGINT, SIGTERM, SIGKILL) and between boots (SIGHUP). Afterwards no
// QEMU that ab started may be left running, the workqueue affinity scope of
// this host is untouched (ab never changes it), the documented exit code is
// returned and the profiles finished before the signal are still there and
// load. Skips with the reason when QEMU, root or the package mirror is missing.
#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "vm_test_util.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using lockscope::vmtest::missing_prerequisite;
using lockscope::vmtest::slurp;

using Clock = std::chrono::steady_clock;

// "ppid comm" of a process, or false when it is gone.
bool proc_stat(pid_t pid, pid_t* ppid, std::string* comm) {
  std::string s = slurp("/proc/" + std::to_string(pid) + "/stat");
  auto l = s.find('('), r = s.rfind(')');
  if (l == std::string::npos || r == std::string::npos || r + 4 >= s.size()) return false;
  *comm = s.substr(l + 1, r - l - 1);
  char state = s[r + 2];
  if (state == 'Z' || state == 'X') return false;  // dead, waiting to be reaped
  *ppid = pid_t(std::strtol(s.c_str() + r + 4, nullptr, 10));
  return true;
}

bool is_qemu(const std::string& comm) { return comm.rfind("qemu-system", 0) == 0; }

// QEMU processes whose parent is `parent`.
std::set<pid_t> qemu_children(pid_t parent) {
  std::set<pid_t> out;
  DIR* d = opendir("/proc");
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (*end || pid <= 0) continue;
    pid_t ppid = 0;
    std::string comm;
    if (proc_stat(pid_t(pid), &ppid, &comm) && ppid == parent && is_qemu(comm))
      out.insert(pid_t(pid));
  }
  closedir(d);
  return out;
}

bool qemu_alive(pid_t pid) {
  pid_t ppid = 0;
  std::string comm;
  return proc_stat(pid, &ppid, &comm) && is_qemu(comm);
}

const char* kScopeFile = "/sys/module/workqueue/parameters/default_affinity_scope";

struct KillPoint {
  const char* name;
  int sig;
  enum When { kAtStart, kGuestRunning, kAfterFirstBoot } when;
  int expected_code;  // exit code; 128 + sig when the signal kills the process
};

void PrintTo(const KillPoint& k, std::ostream* os) { *os << k.name; }

class VmAbKilled : public ::testing::TestWithParam<KillPoint> {};

TEST_P(VmAbKilled, LeavesNoQemuAndKeepsFinishedBoots) {
  const KillPoint k = GetParam();
  if (auto why = missing_prerequisite(); !why.empty()) GTEST_SKIP() << why;

  char tmpl[] = "/tmp/lockscope-ab-killed-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string tmp = tmpl, dir = tmp + "/ab", err_path = tmp + "/stderr";
  const std::string scope_before = slurp(kScopeFile);

  // While a guest runs, it runs long (many items): a QEMU that outlived ab
  // cannot have ended by itself in the few seconds the check allows.
  const std::string items = k.when == KillPoint::kAfterFirstBoot ? "1000" : "200000";
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int out = open("/dev/null", O_WRONLY);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0 || err < 0) _exit(125);
    dup2(out, 1);
    dup2(err, 2);
    execl(LOCKSCOPE_BINARY, LOCKSCOPE_BINARY, "ab", "--baseline", "7.2.*", "--candidate", "7.3.*",
          "--boots", "2", "--items", items.c_str(), "--threads", "2", "--smp", "2", "--timeout",
          "400", "--guest-binary", LOCKSCOPE_GUEST_BINARY, "-o", dir.c_str(), nullptr);
    _exit(127);
  }

  // Wait for the kill point, collecting every QEMU ab starts meanwhile.
  std::set<pid_t> qemus;
  const std::string first_profile = dir + "/baseline/boot-001.json";
  auto t0 = Clock::now();
  auto seconds = [&] { return std::chrono::duration<double>(Clock::now() - t0).count(); };
  int status = 0;
  bool exited = false;
  Clock::time_point seen{};  // when the first QEMU showed up
  while (!exited) {
    auto q = qemu_children(pid);
    qemus.insert(q.begin(), q.end());
    bool now = false;
    if (k.when == KillPoint::kAtStart) now = seconds() > 0.3;
    // Give the guest a few seconds: it is booting or running the workload.
    if (k.when == KillPoint::kGuestRunning && !qemus.empty()) {
      if (seen == Clock::time_point{}) seen = Clock::now();
      now = std::chrono::duration<double>(Clock::now() - seen).count() > 3;
    }
    if (k.when == KillPoint::kAfterFirstBoot) now = fs::exists(first_profile);
    if (now) break;
    if (seconds() > 600) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      FAIL() << "kill point '" << k.name << "' not reached in 600 s:\n" << slurp(err_path);
    }
    if (waitpid(pid, &status, WNOHANG) == pid) exited = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (exited) {
    std::string err = slurp(err_path);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 4)
      GTEST_SKIP() << "environment lacks what lockscope ab needs:\n" << err;
    FAIL() << "ab ended before the kill point, status " << status << ":\n" << err;
  }
  if (k.when == KillPoint::kGuestRunning) {
    ASSERT_FALSE(qemus.empty());
  }

  ASSERT_EQ(kill(pid, k.sig), 0);
  auto sent = Clock::now();
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  double stop_s = std::chrono::duration<double>(Clock::now() - sent).count();
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::string err = slurp(err_path);
  EXPECT_EQ(code, k.expected_code) << err;

  // Every QEMU ab started is gone (SIGKILL: the kernel kills them through
  // PR_SET_PDEATHSIG as ab dies; allow two seconds for init to reap them).
  for (pid_t q : qemus) {
    auto until = Clock::now() + std::chrono::seconds(2);
    while (qemu_alive(q) && Clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_FALSE(qemu_alive(q)) << "QEMU " << q << " outlived lockscope ab";
  }
  EXPECT_EQ(slurp(kScopeFile), scope_before);

  // Nothing half-written in DIR; a finished boot's profile is still there.
  size_t partial = 0;
  if (fs::exists(dir))
    for (const auto& e : fs::recursive_directory_iterator(dir))
      if (e.path().filename().string().find(".tmp") != std::string::npos) ++partial;
  EXPECT_EQ(partial, 0u);
  if (k.when == KillPoint::kAfterFirstBoot) {
    json p;
    ASSERT_NO_THROW(p = json::parse(slurp(first_profile))) << first_profile;
    EXPECT_EQ(p.at("schema"), "lockscope.profile");
    EXPECT_NE(slurp(dir + "/boots.txt").find("baseline"), std::string::npos);
    EXPECT_NE(err.find("profiles so far in"), std::string::npos) << err;
  }
  std::printf("%s: %zu QEMU seen, exit %d after %.2f s; stderr tail:\n%s\n", k.name, qemus.size(),
              code, stop_s, err.substr(err.size() > 600 ? err.size() - 600 : 0).c_str());
  if (!HasFailure()) fs::remove_all(tmp);
}

// Interrupted ab exits 3 (inconclusive: docs/ab.md); SIGKILL cannot be caught.
INSTANTIATE_TEST_SUITE_P(
    Points, VmAbKilled,
    ::testing::Values(KillPoint{"SIGTERM_at_start", SIGTERM, KillPoint::kAtStart, 3},
                      KillPoint{"SIGINT_guest_running", SIGINT, KillPoint::kGuestRunning, 3},
                      KillPoint{"SIGTERM_guest_running", SIGTERM, KillPoint::kGuestRunning, 3},
                      KillPoint{"SIGKILL_guest_running", SIGKILL, KillPoint::kGuestRunning, 137},
                      KillPoint{"SIGHUP_after_first_boot", SIGHUP, KillPoint::kAfterFirstBoot, 3}),
    [](const ::testing::TestParamInfo<KillPoint>& i) { return std::string(i.param.name); });

}  // namespace
