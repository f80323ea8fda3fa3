// SPDX-License-Identifier: Apache-2.0
// The profile format: a round trip through JSON keeps everything, atomic
// writes never leave a half file, and malformed input is refused with the
// reason (exit 2).
#include "lockscope/core/profile.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "lockscope/core/error.hpp"
#include "lockscope/core/metrics.hpp"

namespace lockscope {
namespace {

Profile sample() {
  Profile p;
  p.tool_version = "0.1.0";
  p.created = "2026-11-27T18:00:00Z";
  p.label = "baseline";
  p.hostname = "guest";
  p.kernel_release = "7.2.12+deb13-cloud-amd64";
  p.nr_cpus = 4;
  p.patch_state = "pre-patch";
  p.backend = "fentry";
  p.hooks_attached = {"fentry/_raw_spin_lock", "tp_btf/sched_switch"};
  p.hooks_refused = {{"fentry/kick_pool_pick", "not in kernel BTF"}};
  Run r;
  r.scope = "cache";
  r.repetition = 2;
  r.boot = 3;
  r.duration_s = 1.5;
  WorkloadResult w;
  w.name = "pty";
  w.scope = "cache";
  w.threads = 2;
  w.items = 4000;
  w.duration_s = 1.25;
  w.items_per_sec = 3200;
  w.latency_ns = {{"p50", 1000}, {"p95", 4000}};
  Histogram lat;
  for (uint64_t v : {900u, 1000u, 4100u}) lat.add(v);
  w.latency = lat;
  r.workload = w;
  Metric hold;
  hold.hist = Histogram{};
  for (uint64_t v = 100; v < 100000; v += 997) hold.hist->add(v);
  hold.count = hold.hist->count();
  hold.by_kind["unbound"] = *hold.hist;
  SiteEntry site{"__queue_work", "", "unbound", hold.hist->count(), *hold.hist};
  hold.by_site.push_back(site);
  r.metrics[metric::kPoolLockHold] = hold;
  Metric wake;
  wake.count = 40;
  wake.total = 100;
  wake.by_site.push_back({"kick_pool <- __queue_work", "", "", 40, std::nullopt});
  r.metrics[metric::kWakeupsUnderPoolLock] = wake;
  r.metrics[metric::kWqExec] = Metric::unavailable("needs the workqueue tracepoints");
  r.counters = {{"wakeups", 100}, {"hook_events", 100000}};
  r.drops = {{"stack_failed", 0}, {"recursion_misses.fentry/_raw_spin_lock", 5}};
  p.runs.push_back(r);
  return p;
}

TEST(Profile, RoundTripKeepsEverything) {
  Profile p = sample();
  Profile q = profile_from_json(profile_to_json(p), "test");
  EXPECT_EQ(profile_to_json(q), profile_to_json(p));
  ASSERT_EQ(q.runs.size(), 1u);
  const lockscope::Run& r = q.runs[0];
  EXPECT_EQ(r.scope, "cache");
  EXPECT_EQ(r.repetition, 2u);
  EXPECT_EQ(r.boot, 3);
  ASSERT_TRUE(r.workload);
  EXPECT_EQ(r.workload->latency, p.runs[0].workload->latency);
  EXPECT_EQ(*r.metrics.at(metric::kPoolLockHold).hist,
            *p.runs[0].metrics.at(metric::kPoolLockHold).hist);
  EXPECT_DOUBLE_EQ(*r.metrics.at(metric::kWakeupsUnderPoolLock).share(), 0.4);
  EXPECT_FALSE(r.metrics.at(metric::kWqExec).ok());
  EXPECT_EQ(r.metrics.at(metric::kWqExec).reason, "needs the workqueue tracepoints");
  EXPECT_EQ(q.hooks_refused.at(0).name, "fentry/kick_pool_pick");
}

TEST(Profile, HostFactsIncludeTheClocksource) {
  Profile p = sample();
  p.clocksource = "tsc";
  EXPECT_EQ(profile_from_json(profile_to_json(p), "test").clocksource, "tsc");
  // This host's: what the kernel says it uses.
  std::ifstream cs("/sys/devices/system/clocksource/clocksource0/current_clocksource");
  std::string want;
  if (!std::getline(cs, want)) GTEST_SKIP() << "no clocksource in sysfs here";
  EXPECT_EQ(new_host_profile().clocksource, want);
}

TEST(Profile, OldBackendNameReadsAsBoth) {
  Profile p = sample();
  p.backend = "fentry+tracepoint";
  EXPECT_EQ(profile_from_json(profile_to_json(p), "test").backend, "both");
}

TEST(Profile, LossFraction) {
  lockscope::Run r = sample().runs[0];
  EXPECT_EQ(r.total_drops(), 5u);
  EXPECT_DOUBLE_EQ(r.loss_fraction(), 5.0 / 100000.0);
  r.counters.erase("hook_events");
  EXPECT_DOUBLE_EQ(r.loss_fraction(), 1.0);  // lost data and no denominator: all suspect
  r.drops.clear();
  EXPECT_DOUBLE_EQ(r.loss_fraction(), 0.0);
}

int code_of(const std::string& text) {
  try {
    profile_from_json(text, "bad");
  } catch (const Error& e) {
    return e.code();
  }
  return 0;
}

TEST(Profile, MalformedInputIsExit2WithTheReason) {
  std::string good = profile_to_json(sample());
  EXPECT_EQ(code_of(good.substr(0, good.size() / 2)), kExitUsage);  // truncated
  EXPECT_EQ(code_of("[]"), kExitUsage);
  auto j = nlohmann::json::parse(good);
  j["schema"] = "something.else";
  EXPECT_EQ(code_of(j.dump()), kExitUsage);
  j = nlohmann::json::parse(good);
  j["version"] = 99;
  try {
    profile_from_json(j.dump(), "v99.json");
    FAIL() << "version 99 accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("version 99"), std::string::npos) << e.what();
  }
  j = nlohmann::json::parse(good);
  j["runs"][0]["metrics"]["pool_lock_hold_ns"]["histogram"]["count"] = 1;  // buckets disagree
  EXPECT_EQ(code_of(j.dump()), kExitUsage);
  j = nlohmann::json::parse(good);
  j["runs"][0]["metrics"]["pool_lock_hold_ns"]["histogram"]["sub_bits"] = 4;
  EXPECT_EQ(code_of(j.dump()), kExitUsage);
}

TEST(Profile, AtomicWriteReplacesOnlyOnSuccess) {
  char dir[] = "/tmp/lockscope-profile-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string path = std::string(dir) + "/p.json";
  save_profile(sample(), path);
  Profile back = load_profile(path);
  EXPECT_EQ(back.label, "baseline");
  // An unwritable destination keeps the old file and says why (exit 2).
  if (geteuid() != 0) {
    chmod(dir, 0500);
    EXPECT_THROW(save_profile(Profile{}, path), Error);
    chmod(dir, 0700);
  }
  EXPECT_THROW(save_profile(sample(), std::string(dir) + "/missing/p.json"), Error);
  EXPECT_EQ(load_profile(path).label, "baseline");
  // No temporary files left behind.
  int files = 0;
  for (const char* name : {"p.json"})
    files += access((std::string(dir) + "/" + name).c_str(), F_OK) == 0;
  EXPECT_EQ(files, 1);
  unlink(path.c_str());
  rmdir(dir);
}

}  // namespace
}  // namespace lockscope
