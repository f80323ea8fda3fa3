// SPDX-License-Identifier: Apache-2.0
// A run's cost in the profile: derived figures, the merge of two runs'
// windows, the JSON round trip, profiles written before costs were recorded,
// and malformed costs refused with the reason.
#include "lockscope/core/cost.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "lockscope/core/error.hpp"
#include "lockscope/core/metrics.hpp"

namespace lockscope {
namespace {

Cost two_programs(double window_s) {
  Cost c;
  c.ok = true;
  c.source = kCostSource;
  c.window_s = window_s;
  c.cpus = 2;
  c.programs = {{"fexit/_raw_spin_lock", 1000, 150'000, 0, std::nullopt},
                {"fentry/_raw_spin_unlock", 1000, 50'000, 0, std::nullopt}};
  c.counted_runs = {{"locked", 1000}, {"unlock", 1000}};
  return c;
}

lockscope::Run run_with_cost() {
  lockscope::Run r;
  r.duration_s = 3;
  Metric hold;
  hold.hist = Histogram{};
  for (int i = 0; i < 10; ++i) hold.hist->add(1000);
  hold.probe_effect = ProbeEffect{2'500, 20};  // 250 ns per hold
  r.metrics[metric::kPoolLockHold] = hold;
  r.cost = two_programs(1.0);
  derive_cost(r);
  return r;
}

Profile profile_of(const lockscope::Run& r) {
  Profile p;
  p.tool_version = "0.1.0";
  p.backend = "fentry";
  p.runs.push_back(r);
  return p;
}

TEST(Cost, DerivedFromTheRunsHoldMetric) {
  lockscope::Run r = run_with_cost();
  const Cost& c = *r.cost;
  EXPECT_DOUBLE_EQ(c.hook_runs_per_s, 2000.0);
  EXPECT_DOUBLE_EQ(c.cpu_fraction, 200'000.0 / 1.0 / 2e9);
  ASSERT_TRUE(c.added_per_hold_ns) << c.hold_reason;
  EXPECT_DOUBLE_EQ(*c.added_per_hold_ns, 150.0 + 50.0 + 250.0);
}

TEST(Cost, MergeAddsWindowsAndRuns) {
  Cost a = two_programs(1.0), b = two_programs(3.0);
  b.programs[0].run_time_ns = 450'000;  // 450 ns per run in the second window
  b.programs.push_back({"tp_btf/sched_switch", 600, 60'000, 0, std::nullopt});
  merge_cost(a, b);
  derive_cost(a, nullptr);
  EXPECT_DOUBLE_EQ(a.window_s, 4.0);
  ASSERT_EQ(a.programs.size(), 3u);
  EXPECT_EQ(a.programs[0].runs, 2000u);
  EXPECT_DOUBLE_EQ(*a.programs[0].ns_per_run, 300.0);
  EXPECT_EQ(a.counted_runs.at("locked"), 2000u);
  EXPECT_DOUBLE_EQ(a.hook_runs_per_s, 4600.0 / 4.0);
  // An unavailable window leaves the measured one as it is, and the other way round.
  Cost none = Cost::unavailable("cannot enable kernel BPF stats: Operation not permitted");
  Cost kept = two_programs(1.0);
  merge_cost(kept, none);
  EXPECT_DOUBLE_EQ(kept.window_s, 1.0);
  merge_cost(none, two_programs(2.0));
  EXPECT_TRUE(none.ok);
  EXPECT_DOUBLE_EQ(none.window_s, 2.0);
}

TEST(Cost, RoundTripThroughTheProfile) {
  Profile p = profile_of(run_with_cost());
  std::string text = profile_to_json(p);
  Profile q = profile_from_json(text, "test");
  EXPECT_EQ(profile_to_json(q), text);
  ASSERT_TRUE(q.runs[0].cost);
  const Cost& c = *q.runs[0].cost;
  EXPECT_TRUE(c.ok);
  EXPECT_EQ(c.source, "kernel BPF stats");
  EXPECT_EQ(c.programs.at(1).attach, "fentry/_raw_spin_unlock");
  EXPECT_EQ(c.counted_runs.at("unlock"), 1000u);
  ASSERT_TRUE(c.added_per_hold_ns);  // derived again on load
  EXPECT_DOUBLE_EQ(*c.added_per_hold_ns, 450.0);
  auto j = nlohmann::json::parse(text)["runs"][0]["cost"];
  EXPECT_DOUBLE_EQ(j["added_per_hold"]["ns"].get<double>(), 450.0);
  EXPECT_DOUBLE_EQ(j["programs"][0]["ns_per_run"].get<double>(), 150.0);
}

TEST(Cost, UnavailableRoundTripsWithItsReason) {
  lockscope::Run r = run_with_cost();
  r.cost = Cost::unavailable("cannot enable kernel BPF stats: Operation not permitted");
  std::string text = profile_to_json(profile_of(r));
  auto j = nlohmann::json::parse(text)["runs"][0]["cost"];
  EXPECT_EQ(j["status"], "unavailable");
  EXPECT_FALSE(j.contains("hook_runs_per_s")) << "no figures, not zeros";
  Profile q = profile_from_json(text, "test");
  ASSERT_TRUE(q.runs[0].cost);
  EXPECT_FALSE(q.runs[0].cost->ok);
  EXPECT_EQ(q.runs[0].cost->reason, "cannot enable kernel BPF stats: Operation not permitted");
}

TEST(Cost, PerHoldUnavailableIsWrittenWithTheReason) {
  lockscope::Run r = run_with_cost();
  r.metrics[metric::kPoolLockHold] = Metric::unavailable("needs fentry (EPERM)");
  derive_cost(r);
  auto j = nlohmann::json::parse(profile_to_json(profile_of(r)))["runs"][0]["cost"];
  EXPECT_EQ(j["status"], "ok");
  EXPECT_EQ(j["added_per_hold"]["status"], "unavailable");
  EXPECT_NE(j["added_per_hold"]["reason"].get<std::string>().find("pool_lock_hold_ns"),
            std::string::npos);
  EXPECT_FALSE(j["added_per_hold"].contains("ns"));
}

TEST(Cost, ProfilesWithoutACostStillLoad) {
  auto j = nlohmann::json::parse(profile_to_json(profile_of(run_with_cost())));
  j["runs"][0].erase("cost");
  Profile q = profile_from_json(j.dump(), "old");
  ASSERT_EQ(q.runs.size(), 1u);
  EXPECT_FALSE(q.runs[0].cost);
  EXPECT_EQ(profile_to_json(q).find("\"cost\""), std::string::npos);
}

std::string error_of(const nlohmann::json& j) {
  try {
    profile_from_json(j.dump(), "bad.json");
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), kExitUsage);
    return e.what();
  }
  return "accepted";
}

TEST(Cost, MalformedCostIsRefusedWithTheReason) {
  auto good = nlohmann::json::parse(profile_to_json(profile_of(run_with_cost())));
  auto j = good;
  j["runs"][0]["cost"]["window_s"] = 0;
  EXPECT_NE(error_of(j).find("runs[0].cost.window_s"), std::string::npos) << error_of(j);
  j = good;
  j["runs"][0]["cost"]["cpus"] = 0;
  EXPECT_NE(error_of(j).find("runs[0].cost.cpus"), std::string::npos) << error_of(j);
  j = good;
  j["runs"][0]["cost"].erase("programs");
  EXPECT_NE(error_of(j).find("missing field 'programs'"), std::string::npos) << error_of(j);
  j = good;
  j["runs"][0]["cost"]["programs"][0]["runs"] = -1;
  EXPECT_NE(error_of(j).find("programs[0].runs"), std::string::npos) << error_of(j);
  j = good;
  j["runs"][0]["cost"]["status"] = "maybe";
  EXPECT_NE(error_of(j).find("cost.status"), std::string::npos) << error_of(j);
}

}  // namespace
}  // namespace lockscope
