// SPDX-License-Identifier: Apache-2.0
// The load plan is a pure function of a probe report and the request: these
// tests build probe reports by hand (a locked-down host, a pre-patch guest, a
// post-patch guest) and check what `probe` and `record` would load.
#include "lockscope/record/load_plan.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "lockscope/core/error.hpp"
#include "lockscope/core/metrics.hpp"
#include "lockscope/probe/hooks.hpp"

namespace lockscope {
namespace {

const AttachResult kOk{true, 0, {}};
const AttachResult kEperm{false, 1,
                          "load: refused by the kernel (EPERM): lockdown or a security policy"};
const AttachResult kAbsent{false, 2, "not in kernel BTF (inlined away or absent)"};

// Every function and tracepoint the probe examines, with one answer each.
ProbeReport report(const AttachResult& fentry, const AttachResult& tp_btf,
                   const AttachResult& raw_tp = kOk) {
  ProbeReport r;
  r.btf = true;
  r.lockdown = "none";
  for (const auto& f : probe_functions()) r.functions.push_back({f, fentry.ok, fentry, fentry});
  for (const auto& t : probe_tracepoints()) {
    TracepointStatus s{t, tp_btf, {}};
    if (!tp_btf.ok) s.raw_tp = raw_tp;
    r.tracepoints.push_back(s);
  }
  r.read_kernel = kOk;
  r.btf_walk = kOk;
  return r;
}

std::string section(const HookInfo& h) {
  const char* kind = h.kind == HookKind::kFentry  ? "fentry/"
                     : h.kind == HookKind::kFexit ? "fexit/"
                                                  : "tp_btf/";
  return kind + std::string(h.target);
}

void set_function(ProbeReport& r, const std::string& name, const AttachResult& a) {
  for (auto& f : r.functions)
    if (f.name == name) {
      f.in_btf = a.ok;
      f.fentry = a;
      f.fexit = a;
    }
}

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

const HookRefusal* refusal(const LoadPlan& p, const std::string& name) {
  for (const auto& r : p.refused)
    if (r.name == name) return &r;
  return nullptr;
}

TEST(LoadPlan, LockedDownHostFallsBackToTracepoints) {
  ProbeReport r = report(kEperm, kOk);
  r.lockdown = "integrity";
  LoadPlan p = make_load_plan(r, PlanRequest{});
  EXPECT_EQ(p.backend, "tracepoint");
  EXPECT_NE(p.reason.find("function hooks unavailable (fexit/_raw_spin_lock: load: refused"),
            std::string::npos)
      << p.reason;
  for (const auto& h : hook_catalogue()) {
    if (is_function_hook(h)) {
      EXPECT_FALSE(has(p.programs, section(h))) << h.target;
      ASSERT_NE(refusal(p, hook_name(h)), nullptr) << h.target;
    } else {
      EXPECT_EQ(has(p.programs, section(h)), bool(h.families & kFamilyTracepoint)) << h.target;
    }
  }
  EXPECT_TRUE(p.required.empty());
  EXPECT_TRUE(p.track_wq_latency);
  const Availability& hold = p.metrics.at(metric::kPoolLockHold);
  EXPECT_FALSE(hold.ok);
  EXPECT_NE(hold.reason.find("needs fexit on the spinlock functions"), std::string::npos);
  EXPECT_NE(hold.reason.find("EPERM"), std::string::npos) << hold.reason;
  EXPECT_TRUE(p.metrics.at(metric::kWqQueueLatency).ok);
  EXPECT_TRUE(p.metrics.at(metric::kKworkerWakeups).ok);
  EXPECT_TRUE(p.metrics.at(metric::kPoolLockWait).ok);
  ASSERT_EQ(p.hints.size(), 1u);
  EXPECT_NE(p.hints[0].find("lockdown is 'integrity'"), std::string::npos);
}

TEST(LoadPlan, ExplicitFentryOnALockedDownHostIsUnsupported) {
  ProbeReport r = report(kEperm, kOk);
  for (Backend b : {Backend::kFentry, Backend::kBoth}) {
    PlanRequest q;
    q.backend = b;
    try {
      make_load_plan(r, q);
      FAIL() << backend_name(b) << " was planned on a kernel that refuses fentry";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), kExitUnsupported);
      EXPECT_NE(std::string(e.what()).find("fexit/_raw_spin_lock"), std::string::npos) << e.what();
    }
  }
}

TEST(LoadPlan, PostPatchGuestUsesFentryAndNamesWhatIsMissing) {
  ProbeReport r = report(kOk, kOk);
  set_function(r, "kick_pool", kAbsent);  // inlined away in the merged patch
  set_function(r, "wake_up_q", kAbsent);
  LoadPlan p = make_load_plan(r, PlanRequest{});
  EXPECT_EQ(p.backend, "fentry");
  EXPECT_TRUE(has(p.programs, "fexit/_raw_spin_lock_irq"));
  EXPECT_TRUE(has(p.programs, "fentry/_raw_spin_lock_irq"));
  EXPECT_TRUE(has(p.programs, "fexit/_raw_spin_trylock"));
  EXPECT_TRUE(has(p.programs, "fentry/kick_pool_pick"));
  EXPECT_FALSE(has(p.programs, "fentry/kick_pool"));
  ASSERT_NE(refusal(p, "fentry/kick_pool"), nullptr);
  EXPECT_EQ(refusal(p, "fentry/kick_pool")->reason, kAbsent.detail);
  EXPECT_TRUE(p.waits_from_hooks);
  // The fentry backend's tracepoints: wakeups, pool and rq lock learning.
  for (const char* tp : {"sched_waking", "workqueue_queue_work", "sched_switch"})
    EXPECT_TRUE(has(p.programs, std::string("tp_btf/") + tp)) << tp;
  // Waits come from the lock hooks, not from the contention tracepoints.
  for (const char* tp : {"workqueue_execute_start", "contention_begin", "workqueue_activate_work"})
    EXPECT_FALSE(has(p.programs, std::string("tp_btf/") + tp)) << tp;
  // Its own hooks are required; waits and attribution hooks are not.
  EXPECT_TRUE(has(p.required, "fexit/_raw_spin_lock"));
  EXPECT_TRUE(has(p.required, "fentry/_raw_spin_unlock_irq"));
  EXPECT_FALSE(has(p.required, "fentry/_raw_spin_lock"));
  EXPECT_FALSE(has(p.required, "fentry/kick_pool_pick"));
  EXPECT_FALSE(has(p.required, "tp_btf/sched_switch"));
  EXPECT_TRUE(p.metrics.at(metric::kPoolLockHold).ok);
  EXPECT_TRUE(p.metrics.at(metric::kRqLockNested).ok);
  EXPECT_TRUE(p.metrics.at(metric::kPoolLockWait).ok);
  EXPECT_TRUE(p.metrics.at(metric::kKickUnderPoolLock).ok);  // kick_pool_pick alone will do
  const Availability& q = p.metrics.at(metric::kWqQueueLatency);
  EXPECT_FALSE(q.ok);
  EXPECT_NE(q.reason.find("not selected by --backend fentry"), std::string::npos) << q.reason;
  EXPECT_TRUE(p.hints.empty());
}

// record --metrics: only the hooks the selected metrics need.
TEST(LoadPlan, CountsOnlyLoadNoWaitHooksAndNoClock) {
  PlanRequest q;
  q.metrics = {metric::kWakeupsUnderPoolLock, metric::kKickUnderPoolLock};
  LoadPlan p = make_load_plan(report(kOk, kOk), q);
  EXPECT_EQ(p.backend, "fentry");
  EXPECT_FALSE(p.time_holds);
  EXPECT_TRUE(has(p.programs, "fexit/_raw_spin_lock_irq"));
  EXPECT_TRUE(has(p.programs, "fentry/_raw_spin_unlock_irq"));
  EXPECT_TRUE(has(p.programs, "tp_btf/sched_waking"));
  EXPECT_TRUE(has(p.programs, "fentry/kick_pool"));         // provides hold coverage
  EXPECT_TRUE(has(p.programs, "fentry/process_one_work"));  // learns pool locks
  EXPECT_TRUE(has(p.programs, "tp_btf/sched_switch"));      // closes holds left open
  EXPECT_FALSE(has(p.programs, "fentry/_raw_spin_lock"));   // waits not asked for
  EXPECT_FALSE(has(p.programs, "fentry/_raw_spin_lock_irq"));
  EXPECT_FALSE(has(p.programs, "tp_btf/workqueue_queue_work"));
  EXPECT_FALSE(p.waits_from_hooks);
  EXPECT_TRUE(p.metrics.at(metric::kWakeupsUnderPoolLock).ok);
  EXPECT_TRUE(p.metrics.at(metric::kKickUnderPoolLock).ok);
  const Availability& h = p.metrics.at(metric::kPoolLockHold);
  EXPECT_FALSE(h.ok);
  EXPECT_NE(h.reason.find("not asked for (record --metrics)"), std::string::npos) << h.reason;
}

TEST(LoadPlan, HoldTimesAloneNeedNoWakeupTracepoint) {
  PlanRequest q;
  q.metrics = {metric::kPoolLockHold};
  LoadPlan p = make_load_plan(report(kOk, kOk), q);
  EXPECT_TRUE(p.time_holds);
  EXPECT_TRUE(has(p.programs, "fexit/_raw_spin_lock"));
  EXPECT_FALSE(has(p.programs, "tp_btf/sched_waking"));
  EXPECT_FALSE(has(p.programs, "fentry/_raw_spin_lock"));
  EXPECT_TRUE(p.metrics.at(metric::kPoolLockHold).ok);
  EXPECT_FALSE(p.metrics.at(metric::kWakeupsUnderPoolLock).ok);
  // A wait metric brings the entry hooks back.
  q.metrics = {metric::kPoolLockWait};
  p = make_load_plan(report(kOk, kOk), q);
  EXPECT_TRUE(has(p.programs, "fentry/_raw_spin_lock"));
  EXPECT_TRUE(p.waits_from_hooks);
  EXPECT_TRUE(p.metrics.at(metric::kPoolLockWait).ok);
}

TEST(LoadPlan, MetricSelectionIsCheckedAgainstTheCatalogue) {
  EXPECT_EQ(
      parse_metric_selection({"pool_lock_hold_ns,wakeups_under_pool_lock", "pool_lock_hold_ns"}),
      (std::vector<std::string>{"pool_lock_hold_ns", "wakeups_under_pool_lock"}));
  EXPECT_TRUE(parse_metric_selection({}).empty());
  try {
    parse_metric_selection({"pool_lock_hold"});
    FAIL() << "an unknown metric was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), kExitUsage);
    EXPECT_NE(std::string(e.what()).find("unknown metric 'pool_lock_hold'"), std::string::npos);
    EXPECT_NE(e.hint().find("pool_lock_hold_ns"), std::string::npos) << e.hint();
  }
  EXPECT_THROW(parse_metric_selection({","}), Error);
}

TEST(LoadPlan, BothLoadsEveryFamily) {
  PlanRequest q;
  q.backend = Backend::kBoth;
  LoadPlan p = make_load_plan(report(kOk, kOk), q);
  EXPECT_EQ(p.backend, "both");
  for (const auto& h : hook_catalogue()) EXPECT_TRUE(has(p.programs, section(h))) << h.target;
  for (const auto& [name, a] : p.metrics) EXPECT_TRUE(a.ok) << name << ": " << a.reason;
}

TEST(LoadPlan, RawTracepointsWhereTpBtfIsRefusedOrForced) {
  LoadPlan fallback = make_load_plan(report(kEperm, kEperm, kOk), PlanRequest{});
  EXPECT_TRUE(has(fallback.programs, "raw_tp/sched_switch"));
  EXPECT_FALSE(has(fallback.programs, "tp_btf/sched_switch"));
  PlanRequest forced;
  forced.force_raw_tp = true;
  LoadPlan f = make_load_plan(report(kEperm, kOk), forced);
  EXPECT_TRUE(has(f.programs, "raw_tp/contention_begin"));
  EXPECT_FALSE(has(f.programs, "tp_btf/contention_begin"));
  // raw_tp bodies read with bpf_probe_read_kernel(): not where it is refused.
  ProbeReport locked = report(kEperm, kOk);
  locked.read_kernel = {false, 22, "load: the kernel rejected it (EINVAL)"};
  LoadPlan none = make_load_plan(locked, forced);
  EXPECT_TRUE(none.programs.empty());
  ASSERT_NE(refusal(none, "tracepoint/sched_switch"), nullptr);
  EXPECT_NE(refusal(none, "tracepoint/sched_switch")->reason.find("bpf_probe_read_kernel"),
            std::string::npos);
}

TEST(LoadPlan, ContentionTracepointsThatCannotFireAreRefused) {
  ProbeReport r = report(kEperm, kOk);
  r.contention_fires = false;
  r.contention_why = "virt_spin_lock() has no tracepoint";
  LoadPlan p = make_load_plan(r, PlanRequest{});
  EXPECT_FALSE(has(p.programs, "tp_btf/contention_begin"));
  const Availability& w = p.metrics.at(metric::kPoolLockWait);
  EXPECT_FALSE(w.ok);  // never "ok, 0 events"
  EXPECT_NE(w.reason.find("virt_spin_lock"), std::string::npos) << w.reason;
}

TEST(LoadPlan, WithoutProbeReadsSitesNeedStacks) {
  ProbeReport r = report(kOk, kOk);
  r.read_kernel = {false, 22, "load: refused"};
  LoadPlan p = make_load_plan(r, PlanRequest{});
  EXPECT_EQ(p.backend, "fentry");
  EXPECT_FALSE(p.can_read_kernel);
  ASSERT_EQ(p.hints.size(), 1u);
  EXPECT_NE(p.hints[0].find("--stacks"), std::string::npos);
  PlanRequest q;
  q.track_stacks = true;
  EXPECT_TRUE(make_load_plan(r, q).hints.empty());
}

TEST(LoadPlan, NothingAttachableIsBackendNone) {
  LoadPlan p = make_load_plan(report(kEperm, kEperm, kEperm), PlanRequest{});
  EXPECT_EQ(p.backend, "none");
  EXPECT_TRUE(p.programs.empty());
  const HookRefusal* r = refusal(p, "tracepoint/sched_switch");
  ASSERT_NE(r, nullptr);
  EXPECT_NE(r->reason.find("tp_btf: "), std::string::npos);
  EXPECT_NE(r->reason.find("; raw_tp: "), std::string::npos);
}

TEST(LoadPlan, SitesAndStacksFollowTheRequest) {
  PlanRequest q;
  q.track_sites = false;
  q.track_stacks = true;  // stacks are per-site rows: off with sites
  LoadPlan p = make_load_plan(report(kOk, kOk), q);
  EXPECT_FALSE(p.track_sites);
  EXPECT_FALSE(p.track_stacks);
  q.track_sites = true;
  EXPECT_TRUE(make_load_plan(report(kOk, kOk), q).track_stacks);
}

TEST(LoadPlan, AvailabilityFollowsWhatReallyAttached) {
  LoadPlan p = make_load_plan(report(kOk, kOk), PlanRequest{});
  std::vector<std::string> attached = p.programs;
  attached.erase(std::find(attached.begin(), attached.end(), "tp_btf/sched_switch"));
  auto a = metric_availability(p, attached);
  EXPECT_TRUE(a.at(metric::kPoolLockHold).ok);
  EXPECT_FALSE(a.at(metric::kRqLockNested).ok);
  EXPECT_NE(a.at(metric::kRqLockNested).reason.find("tracepoint/sched_switch"), std::string::npos)
      << a.at(metric::kRqLockNested).reason;
  EXPECT_FALSE(a.at(metric::kRqLockWait).ok);
  EXPECT_TRUE(a.at(metric::kPoolLockWait).ok);
}

TEST(LoadPlan, EveryCatalogueMetricIsPlanned) {
  LoadPlan p = make_load_plan(report(kEperm, kOk), PlanRequest{});
  for (const auto& m : metric_catalogue()) EXPECT_EQ(p.metrics.count(m.name), 1u) << m.name;
  EXPECT_EQ(p.metrics.size(), metric_catalogue().size());
}

TEST(LoadPlan, ProbeOutputNamesBackendAndMetrics) {
  LoadPlan p = make_load_plan(report(kEperm, kOk), PlanRequest{});
  std::string text = load_plan_text(p);
  EXPECT_EQ(text.rfind("backend       tracepoint -- function hooks unavailable", 0), 0u) << text;
  EXPECT_NE(text.find("  pool_lock_hold_ns"), std::string::npos) << text;
  nlohmann::json j = nlohmann::json::object();
  add_load_plan_json(j, p);
  EXPECT_EQ(j["backend"]["name"], "tracepoint");
  EXPECT_EQ(j["metrics"][metric::kWqExec]["available"], true);
  EXPECT_EQ(j["metrics"][metric::kPoolLockHold]["available"], false);
  EXPECT_TRUE(j["metrics"][metric::kPoolLockHold].contains("reason"));
}

TEST(LoadPlan, BackendWords) {
  for (Backend b : {Backend::kAuto, Backend::kFentry, Backend::kTracepoint, Backend::kBoth})
    EXPECT_EQ(parse_backend(backend_name(b)), b);
  EXPECT_THROW(parse_backend("fentry+tracepoint"), Error);
}

}  // namespace
}  // namespace lockscope
