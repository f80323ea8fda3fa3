// SPDX-License-Identifier: Apache-2.0
// Real Debian kernels under QEMU. lockscope's probe must find fentry usable
// (and, where the list says so, the right patch state) on every kernel of
// $LOCKSCOPE_VM_KERNELS (default: the newest 7.2, pre-patch, 7.3,
// post-patch, 6.12, pre-patch, and 6.1, before kick_pool()); guests must time with the TSC;
// lockdown= on the guest's command line must lock it down; the kernel's own test_workqueue must
// print its six scope rows on 7.2 and 7.3. Skips with the reason when QEMU, root or the package
// mirror is missing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "lockscope/core/log.hpp"
#include "lockscope/vm/vm.hpp"
#include "vm_test_util.hpp"

using namespace lockscope;

namespace {

constexpr const char* kPrePatch = "7.2";
constexpr const char* kPostPatch = "7.3";

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

bool sound(const vm::BootResult& r) { return r.completed && !r.hung && !r.panicked; }

class VmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Once per process: log::init registers a named logger and throws when
    // called again, and one process runs every kernel of the list.
    static const bool logging = (log::init(1), true);
    (void)logging;
    if (auto why = vmtest::missing_prerequisite(); !why.empty()) GTEST_SKIP() << why;
  }

  // Fetch (cached); an unreachable mirror with an empty cache is a skip.
  bool fetch(const std::string& pattern, vm::Kernel* k) {
    try {
      *k = vm::fetch_kernel(pattern);
      return true;
    } catch (const vm::Unavailable& e) {
      skip_reason_ = e.what();
      return false;
    }
  }

  static vm::BootSpec spec(const vm::Kernel& k) {
    vm::BootSpec s;
    s.vmlinuz = k.vmlinuz;
    s.lockscope_binary = LOCKSCOPE_GUEST_BINARY;
    s.smp = 2;
    s.memory_mb = 1024;
    s.timeout_s = int(std::strtol(env_or("LOCKSCOPE_VM_TIMEOUT", "300").c_str(), nullptr, 10));
    return s;
  }

  // Boots and requires the guest to have run its commands to the end.
  static vm::BootResult boot_ok(const vm::BootSpec& s) {
    vm::BootResult r = vm::boot(s);
    EXPECT_TRUE(sound(r)) << r.describe() << "\n" << r.console_tail;
    return r;
  }

  void test_workqueue(const char* pattern) {
    vm::Kernel k;
    if (!fetch(pattern, &k)) GTEST_SKIP() << skip_reason_;
    std::string ko = vm::build_test_workqueue(k);
    vm::BootSpec s = spec(k);
    s.lockscope_binary.clear();  // not needed for this boot
    auto run = vm::run_test_workqueue(s, ko, 2000, 2);
    if (run.retried)
      std::printf("note: the first boot printed no test_workqueue rows; retried once\n");
    ASSERT_TRUE(sound(run.boot)) << run.boot.describe() << "\n" << run.boot.console_tail;
    const auto& scopes = test_workqueue_scopes();
    ASSERT_GE(run.rows.size(), scopes.size()) << "dmesg:\n" << run.boot.files["dmesg"];
    for (size_t i = 0; i < scopes.size(); ++i) {
      EXPECT_EQ(run.rows[i].scope, scopes[i]);
      EXPECT_GT(run.rows[i].items_per_sec, 0) << scopes[i];
      EXPECT_GT(run.rows[i].p50_ns, 0) << scopes[i];
      EXPECT_LE(run.rows[i].p50_ns, run.rows[i].p90_ns) << scopes[i];
      EXPECT_LE(run.rows[i].p90_ns, run.rows[i].p95_ns) << scopes[i];
      std::printf("%s %-12s %10.0f items/s p50=%.0f ns\n", k.release.c_str(),
                  run.rows[i].scope.c_str(), run.rows[i].items_per_sec, run.rows[i].p50_ns);
    }
  }

  std::string skip_reason_;
};

// One line of what probe found, for the test log.
std::string summary(const nlohmann::json& j) {
  int fentry_ok = 0, functions = 0, tracepoints = 0, tracepoints_ok = 0;
  for (const auto& f : j.at("functions")) {
    ++functions;
    fentry_ok += f.at("fentry").at("ok").get<bool>();
  }
  for (const auto& t : j.at("tracepoints")) {
    ++tracepoints;
    tracepoints_ok += t.at("usable").get<bool>();
  }
  return j.at("kernel_release").get<std::string>() + ": backend " +
         j.at("backend").at("name").get<std::string>() + ", patch " +
         j.at("patch").at("state").get<std::string>() + ", lockdown " +
         j.value("lockdown", std::string("?")) + ", fentry " + std::to_string(fentry_ok) + "/" +
         std::to_string(functions) + " functions, tracepoints " + std::to_string(tracepoints_ok) +
         "/" + std::to_string(tracepoints) + " usable";
}

// Fixture setup for the tier: kernels and modules into the cache, once.
class VmPrepare : public VmTest {};
TEST_F(VmPrepare, FetchKernelsAndBuildModules) {
  for (const char* pattern : {kPrePatch, kPostPatch}) {
    vm::Kernel k;
    if (!fetch(pattern, &k)) GTEST_SKIP() << skip_reason_;
    std::string ko;
    try {
      ko = vm::build_test_workqueue(k);
    } catch (const vm::Unavailable& e) {
      GTEST_SKIP() << e.what();
    }
    EXPECT_EQ(access(ko.c_str(), R_OK), 0) << ko;
    EXPECT_EQ(access(k.vmlinuz.c_str(), R_OK), 0) << k.vmlinuz;
  }
  for (const auto& want : vmtest::kernels_under_test()) {
    vm::Kernel k;
    if (!fetch(want.pattern, &k)) GTEST_SKIP() << skip_reason_;
    EXPECT_EQ(access(k.vmlinuz.c_str(), R_OK), 0) << k.vmlinuz;
  }
}

// lockscope probe in the guest, on each kernel of $LOCKSCOPE_VM_KERNELS; the
// guest's clocksource on each.
class VmProbe : public VmTest, public ::testing::WithParamInterface<vmtest::KernelUnderTest> {};
TEST_P(VmProbe, FentryUsable) {
  const vmtest::KernelUnderTest& want = GetParam();
  vm::Kernel k;
  if (!fetch(want.pattern, &k)) GTEST_SKIP() << skip_reason_;
  vm::BootSpec s = spec(k);
  s.commands = {vmtest::kReadClocksource, "lockscope probe --json > $RESULTS/probe.json"};
  vm::BootResult r = boot_ok(s);
  ASSERT_TRUE(sound(r));
  ASSERT_EQ(r.exit_code, 0) << "lockscope probe failed in the guest:\n" << r.output();
  // Each kernel of the list times with the TSC too (vm.Clock checks one).
  EXPECT_TRUE(vmtest::times_with_tsc(vmtest::first_line(r.files["clocksource"])))
      << "current: " << vmtest::first_line(r.files["clocksource"]) << ", "
      << "available: " << vmtest::first_line(r.files["clocksources"]);
  ASSERT_EQ(r.files.count("probe.json"), 1u) << r.output();
  auto j = nlohmann::json::parse(r.files.at("probe.json"));
  std::printf("probe: %s\n", summary(j).c_str());
  EXPECT_EQ(j.at("kernel_release").get<std::string>(), k.release);
  if (!want.patch_state.empty()) {
    EXPECT_EQ(j.at("patch").at("state").get<std::string>(), want.patch_state)
        << j.at("patch").dump();
  }
  // The lock functions a pool->lock hold needs: fexit starts it (the lock is
  // held), fentry times the wait before it, fentry of the unlock ends it.
  for (const char* fn : {"_raw_spin_lock", "_raw_spin_lock_irq", "_raw_spin_unlock_irq"}) {
    bool found = false;
    for (const auto& f : j.at("functions")) {
      if (f.at("name") != fn) continue;
      found = true;
      EXPECT_TRUE(f.at("fentry").at("ok").get<bool>()) << fn << ": " << f.dump();
      if (std::string(fn).find("unlock") == std::string::npos) {
        ASSERT_TRUE(f.contains("fexit")) << fn << ": " << f.dump();
        EXPECT_TRUE(f.at("fexit").at("ok").get<bool>()) << fn << ": " << f.dump();
      }
    }
    EXPECT_TRUE(found) << fn << " missing from the probe report";
  }
  EXPECT_EQ(j.at("backend").at("name").get<std::string>(), "fentry") << j.at("backend").dump();
}

INSTANTIATE_TEST_SUITE_P(Kernels, VmProbe, ::testing::ValuesIn(vmtest::kernels_under_test()),
                         vmtest::kernel_test_name);

// The guest's clock: with the TSC, bpf_ktime_get_ns() is cheap; on HPET (what
// tsc=unstable gave) every timestamp is an emulated device read and lock
// holds come out inflated.
class VmClock : public VmTest {};
TEST_F(VmClock, GuestTimesWithTsc) {
  vm::Kernel k;
  if (!fetch(kPrePatch, &k)) GTEST_SKIP() << skip_reason_;
  vm::BootSpec s = spec(k);
  s.lockscope_binary.clear();
  s.commands = {vmtest::kReadClocksource};
  vm::BootResult r = boot_ok(s);
  ASSERT_TRUE(sound(r));
  ASSERT_EQ(r.exit_code, 0) << r.output();
  std::string current = vmtest::first_line(r.files["clocksource"]);
  EXPECT_EQ(current, "tsc") << "the guest's clocksource is '" << current
                            << "' (available: " << vmtest::first_line(r.files["clocksources"])
                            << "); kernel command line: " << vm::kernel_command_line(s);
}

// lockdown= on the guest's kernel command line gives a locked-down kernel
// with fentry-capable BTF. What probe says there is printed, not checked.
// A really locked-down kernel with fentry-capable BTF: probe must promise
// only what record can load (confidentiality withholds
// bpf_probe_read_kernel(); empty programs still pass), and record then
// measures every metric probe calls available, and no other.
class VmLockdown : public VmTest, public ::testing::WithParamInterface<const char*> {};
TEST_P(VmLockdown, ProbeAndRecordAgree) {
  vm::Kernel k;
  if (!fetch(kPrePatch, &k)) GTEST_SKIP() << skip_reason_;
  vm::BootSpec s = spec(k);
  s.smp = 2;
  s.extra_append = vmtest::lockdown_param(GetParam());
  s.commands = {vmtest::kReadLockdown, "lockscope probe --json > $RESULTS/probe.json",
                "mkdir -p /dev/pts; mount -t devpts devpts /dev/pts",
                "lockscope record --workload pty --scope system --runs 1 --threads 2 "
                "--items 500 -o $RESULTS/record.json"};
  vm::BootResult r = boot_ok(s);
  ASSERT_TRUE(sound(r)) << r.describe();
  ASSERT_EQ(r.exit_code, 0) << r.output();
  EXPECT_EQ(vmtest::selected(r.files["lockdown"]), GetParam()) << r.files["lockdown"];
  ASSERT_TRUE(r.files.count("probe.json") && r.files.count("record.json")) << r.output();
  auto probe = nlohmann::json::parse(r.files.at("probe.json"));
  auto rec = nlohmann::json::parse(r.files.at("record.json"));
  std::printf("probe: %s\n", summary(probe).c_str());
  EXPECT_EQ(rec.at("backend"), probe.at("backend").at("name"));
  EXPECT_EQ(rec.at("backend"), "fentry");  // fentry attaches under both modes
  EXPECT_EQ(probe.at("programs").at("read_kernel").at("ok").get<bool>(),
            std::string(GetParam()) != "confidentiality")
      << probe.at("programs").dump();
  EXPECT_TRUE(probe.at("programs").at("btf_walk").at("ok").get<bool>());
  ASSERT_FALSE(rec.at("runs").empty());
  const auto& metrics = rec.at("runs").back().at("metrics");
  for (const auto& [name, want] : probe.at("metrics").items()) {
    ASSERT_TRUE(metrics.contains(name)) << name;
    const auto& m = metrics.at(name);
    bool ok = m.at("status") == "ok";
    // Available in the plan, and fired in the run: the one exception is a
    // metric whose source did not fire here (then its reason says so).
    if (want.at("available").get<bool>())
      EXPECT_TRUE(ok || m.at("reason").get<std::string>().find("never") != std::string::npos)
          << name << ": " << m.dump();
    else
      EXPECT_FALSE(ok) << name << " measured although probe said: " << want.dump();
  }
  EXPECT_GT(metrics.at("pool_lock_hold_ns").at("count").get<uint64_t>(), 100u);
  EXPECT_GT(metrics.at("wakeups_under_pool_lock").at("count").get<uint64_t>(), 0u);
}
INSTANTIATE_TEST_SUITE_P(Modes, VmLockdown, ::testing::Values("integrity", "confidentiality"),
                         [](const ::testing::TestParamInfo<const char*>& i) {
                           return std::string(i.param);
                         });

class VmTestWorkqueue : public VmTest {};
TEST_F(VmTestWorkqueue, PrePatch) { test_workqueue(kPrePatch); }
TEST_F(VmTestWorkqueue, PostPatch) { test_workqueue(kPostPatch); }

}  // namespace
