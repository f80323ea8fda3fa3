// SPDX-License-Identifier: Apache-2.0
// `lockscope record` with the fentry backend on the real pre-patch (7.2.x)
// and post-patch (7.3.x) Debian kernels under QEMU, while the kernel's own
// test_workqueue module runs: the patch's effect must show directly in the
// lock-level facts. Skips with the reason when QEMU, root or the mirror is
// missing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "lockscope/core/log.hpp"
#include "lockscope/vm/vm.hpp"
#include "vm_test_util.hpp"

using namespace lockscope;
using nlohmann::json;

namespace {

struct Recorded {
  json profile;
  json lock_run;    // the run holding the lock metrics (scope "all")
  json stacks_run;  // the same from `record --stacks` (sites from kernel stacks)
  std::string output;
};

json lock_run_of(const json& profile) {
  for (const auto& run : profile.at("runs"))
    if (run.at("scope") == "all") return run;
  return json();
}

class VmRecord : public ::testing::Test {
 protected:
  void SetUp() override {
    log::init(1);
    if (auto why = vmtest::missing_prerequisite(); !why.empty()) GTEST_SKIP() << why;
  }

  // Boots `pattern`, records test_workqueue with lockscope, returns the profile.
  bool record(const char* pattern, Recorded* out, std::string* skip) {
    vm::Kernel k;
    std::string ko;
    try {
      k = vm::fetch_kernel(pattern);
      ko = vm::build_test_workqueue(k);
    } catch (const vm::Unavailable& e) {
      *skip = e.what();
      return false;
    }
    vm::BootSpec s;
    s.vmlinuz = k.vmlinuz;
    s.lockscope_binary = LOCKSCOPE_GUEST_BINARY;
    s.files = {{ko, "/lib/modules/test_workqueue.ko"}};
    s.smp = 2;
    s.memory_mb = 1024;
    s.timeout_s = 400;
    const std::string twq =
        "--workload test_workqueue=/lib/modules/test_workqueue.ko --items 2000 --threads 2 "
        "--runs 1 ";
    s.commands = {"lockscope record " + twq + "--label " + k.release + " -o $RESULTS/profile.json",
                  "lockscope record --stacks " + twq + "-o $RESULTS/stacks.json"};
    // test_workqueue sometimes prints no rows at all (one boot in ten): one retry.
    for (int attempt = 0; attempt < 2; ++attempt) {
      vm::BootResult r = vm::boot(s);
      EXPECT_FALSE(r.hung || r.panicked) << r.describe() << "\n" << r.console_tail;
      if (!r.completed || r.exit_code != 0 || !r.files.count("profile.json") ||
          !r.files.count("stacks.json")) {
        std::printf("boot %d of %s did not record: %s\n%s\n", attempt, pattern,
                    r.describe().c_str(), r.output().c_str());
        continue;
      }
      out->output = r.output();
      out->profile = json::parse(r.files.at("profile.json"));
      out->lock_run = lock_run_of(out->profile);
      out->stacks_run = lock_run_of(json::parse(r.files.at("stacks.json")));
      if (out->lock_run.is_null() || out->stacks_run.is_null()) continue;
      std::printf("%s\n%s\n", pattern, out->output.c_str());
      return true;
    }
    ADD_FAILURE() << "no recording from " << pattern << " after two boots";
    return false;
  }
};

double share(const json& run) {
  return run.at("metrics").at("wakeups_under_pool_lock").at("share").get<double>();
}
uint64_t count(const json& run, const char* metric) {
  return run.at("metrics").at(metric).at("count").get<uint64_t>();
}
double p95(const json& run, const char* metric) {
  return run.at("metrics").at(metric).at("histogram").at("p95").get<double>();
}

TEST_F(VmRecord, PatchEffectShowsInLockMetrics) {
  Recorded pre, post;
  std::string skip;
  if (!record("7.2.*", &pre, &skip)) {
    if (!skip.empty()) GTEST_SKIP() << skip;
    return;
  }
  if (!record("7.3.*", &post, &skip)) {
    if (!skip.empty()) GTEST_SKIP() << skip;
    return;
  }
  ASSERT_EQ(pre.profile.at("kernel").at("patch_state"), "pre-patch");
  ASSERT_EQ(post.profile.at("kernel").at("patch_state"), "post-patch");
  EXPECT_EQ(pre.profile.at("backend"), "fentry");
  EXPECT_EQ(post.profile.at("backend"), "fentry");
  // The six scope rows of test_workqueue became runs.
  EXPECT_GE(pre.profile.at("runs").size(), 7u);
  EXPECT_GE(post.profile.at("runs").size(), 7u);

  const json& a = pre.lock_run;
  const json& b = post.lock_run;
  std::printf(
      "pre-patch : wakeups under pool->lock %.2f%%, rq-lock nesting %llu, hold p95 %.0f ns\n",
      100 * share(a), (unsigned long long)count(a, "rq_lock_nested_under_pool_lock"),
      p95(a, "pool_lock_hold_ns"));
  std::printf(
      "post-patch: wakeups under pool->lock %.2f%%, rq-lock nesting %llu, hold p95 %.0f ns\n",
      100 * share(b), (unsigned long long)count(b, "rq_lock_nested_under_pool_lock"),
      p95(b, "pool_lock_hold_ns"));

  // Pre-patch: kick_pool() wakes the worker under pool->lock.
  EXPECT_GT(count(a, "pool_lock_hold_ns"), 1000u);
  EXPECT_GT(share(a), 0.10) << "a large share of wakeups happens under pool->lock before the patch";
  EXPECT_GT(count(a, "rq_lock_nested_under_pool_lock"), 100u);
  bool kick_site = false;
  for (const auto& s : a.at("metrics").at("wakeups_under_pool_lock").at("by_site"))
    kick_site = kick_site || s.at("site").get<std::string>().rfind("kick_pool", 0) == 0;
  EXPECT_TRUE(kick_site) << a.at("metrics").at("wakeups_under_pool_lock").dump();
  // With --stacks the same facts are attributed from kernel stacks: the rq
  // locks taken under pool->lock come from try_to_wake_up called by kick_pool.
  bool ttwu_site = false;
  for (const auto& s :
       pre.stacks_run.at("metrics").at("rq_lock_nested_under_pool_lock").at("by_site"))
    ttwu_site = ttwu_site || s.at("site").get<std::string>() == "try_to_wake_up <- kick_pool";
  EXPECT_TRUE(ttwu_site)
      << pre.stacks_run.at("metrics").at("rq_lock_nested_under_pool_lock").dump();
  EXPECT_GT(share(pre.stacks_run), 0.10);
  EXPECT_LT(share(post.stacks_run), 0.02);

  // Post-patch: the wakeup moved out from under pool->lock.
  EXPECT_GT(count(b, "pool_lock_hold_ns"), 1000u);
  EXPECT_LT(share(b), 0.02);
  EXPECT_LT(count(b, "rq_lock_nested_under_pool_lock") * 10,
            count(a, "rq_lock_nested_under_pool_lock"));
  EXPECT_LT(p95(b, "pool_lock_hold_ns"), p95(a, "pool_lock_hold_ns"));
}

}  // namespace
