// SPDX-License-Identifier: Apache-2.0
// Real Debian kernels under QEMU: the newest 7.2.x (pre-patch) and 7.3.x
// (post-patch). lockscope's probe must find fentry usable and the right patch
// state; the kernel's own test_workqueue must print its six scope rows.
// Skips with the reason when QEMU, root or the package mirror is missing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "lockscope/core/log.hpp"
#include "lockscope/vm/vm.hpp"
#include "vm_test_util.hpp"

using namespace lockscope;

namespace {

constexpr const char* kPrePatch = "7.2.*";
constexpr const char* kPostPatch = "7.3.*";

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

// Why the vm tier cannot run here, or empty.
class VmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log::init(1);
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

  vm::BootSpec spec(const vm::Kernel& k) {
    vm::BootSpec s;
    s.vmlinuz = k.vmlinuz;
    s.lockscope_binary = LOCKSCOPE_GUEST_BINARY;
    s.smp = 2;
    s.memory_mb = 1024;
    s.timeout_s = int(std::strtol(env_or("LOCKSCOPE_VM_TIMEOUT", "300").c_str(), nullptr, 10));
    return s;
  }

  void probe(const char* pattern, const char* want_state) {
    vm::Kernel k;
    if (!fetch(pattern, &k)) GTEST_SKIP() << skip_reason_;
    vm::BootSpec s = spec(k);
    s.commands = {"lockscope probe --json > $RESULTS/probe.json"};
    vm::BootResult r = vm::boot(s);
    ASSERT_FALSE(r.hung) << r.describe() << "\n" << r.console_tail;
    ASSERT_FALSE(r.panicked) << r.describe() << "\n" << r.console_tail;
    ASSERT_TRUE(r.completed) << r.describe() << "\n" << r.console_tail;
    ASSERT_EQ(r.exit_code, 0) << "lockscope probe failed in the guest:\n" << r.output();
    ASSERT_EQ(r.files.count("probe.json"), 1u) << r.output();
    auto j = nlohmann::json::parse(r.files.at("probe.json"));
    EXPECT_EQ(j.at("kernel_release").get<std::string>(), k.release);
    EXPECT_EQ(j.at("patch").at("state").get<std::string>(), want_state) << j.at("patch").dump();
    for (const char* fn : {"try_to_wake_up", "_raw_spin_lock"}) {
      bool found = false;
      for (const auto& f : j.at("functions")) {
        if (f.at("name") != fn) continue;
        found = true;
        EXPECT_TRUE(f.at("fentry").at("ok").get<bool>()) << fn << ": " << f.dump();
      }
      EXPECT_TRUE(found) << fn << " missing from the probe report";
    }
    EXPECT_EQ(j.at("backend").at("name").get<std::string>(), "fentry") << j.at("backend").dump();
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
    ASSERT_TRUE(run.boot.completed && !run.boot.hung && !run.boot.panicked)
        << run.boot.describe() << "\n"
        << run.boot.console_tail;
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
}

class VmProbe : public VmTest {};
TEST_F(VmProbe, PrePatch) { probe(kPrePatch, "pre-patch"); }
TEST_F(VmProbe, PostPatch) { probe(kPostPatch, "post-patch"); }

class VmTestWorkqueue : public VmTest {};
TEST_F(VmTestWorkqueue, PrePatch) { test_workqueue(kPrePatch); }
TEST_F(VmTestWorkqueue, PostPatch) { test_workqueue(kPostPatch); }

}  // namespace
