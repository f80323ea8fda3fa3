// SPDX-License-Identifier: Apache-2.0
// The recording loop: wait (a duration, a command's life, or until stopped)
// while the session's programs count, then read the maps.
#include "lockscope/record/recorder.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <thread>

#include "lockscope/bpf_shared.h"
#include "lockscope/core/error.hpp"
#include "lockscope/core/log.hpp"
#include "lockscope/core/metrics.hpp"
#include "lockscope/core/signals.hpp"
#include "lockscope/record/run_builder.hpp"

namespace lockscope {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Drops named "recursion_misses.<hook>": runs of a program the kernel skipped
// because it was already running on that CPU.
// Each metric's losses then count the share of its programs' runs skipped:
// the misses of a class of programs against the runs the class counted.
void add_recursion_misses(Run& run, const Snapshot& snap, const std::vector<ProgramStats>& now,
                          const std::vector<ProgramStats>& before) {
  std::map<std::string, uint64_t> misses;
  std::vector<uint64_t> class_misses(LS_RUN_MAX, 0);
  for (const auto& p : stats_since(now, before)) {
    uint64_t miss = p.recursion_misses;
    if (miss == 0) continue;
    run.drops["recursion_misses." + p.attach] = miss;
    misses[p.attach] = miss;
    int c = run_class(p.attach);
    if (c >= 0) class_misses[size_t(c)] += miss;
  }
  std::map<std::string, double> skipped;
  for (const auto& [section, miss] : misses) {
    int c = run_class(section);
    uint64_t runs = c >= 0 && size_t(c) < snap.runs.size() ? snap.runs[size_t(c)] : 0;
    uint64_t cm = c >= 0 ? class_misses[size_t(c)] : miss;
    skipped[section] = double(cm) / double(runs + cm);
  }
  account_losses(run, skipped);
}

pid_t spawn(const std::vector<std::string>& cmd) {
  pid_t pid = fork();
  if (pid < 0)
    throw Error(kExitUsage, std::string("cannot start command: ") + std::strerror(errno));
  if (pid == 0) {
    std::vector<char*> argv;
    argv.reserve(cmd.size() + 1);
    for (const auto& a : cmd) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    // Default dispositions for the child, whatever lockscope installed.
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    execvp(argv[0], argv.data());
    std::fprintf(stderr, "lockscope: cannot run %s: %s\n", argv[0], std::strerror(errno));
    _exit(127);
  }
  return pid;
}

// Waits for the child; forwards a stop request to it. Returns its status.
int wait_child(pid_t pid, double deadline_s, Clock::time_point t0, const IntervalFn& tick,
               double interval_s) {
  int status = 0;
  bool forwarded = false;
  Clock::time_point sent{};
  double next_tick = interval_s;
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return -1;
    double t = seconds_since(t0);
    bool stop = stop_requested() || (deadline_s > 0 && t >= deadline_s);
    if (stop && !forwarded) {
      kill(pid, stop_signal() ? stop_signal() : SIGTERM);
      forwarded = true;
      sent = Clock::now();
    }
    if (forwarded && seconds_since(sent) > 5.0) kill(pid, SIGKILL);
    if (interval_s > 0 && t >= next_tick) {
      tick(t);
      next_tick += interval_s;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

Recording record(BpfSession& session, const RecordPlan& plan, const IntervalFn& tick) {
  Recording rec;
  auto t0 = Clock::now();
  auto stats0 = session.program_stats();
  CostSampler sampler(session, plan.cost_window_s);
  if (!plan.command.empty()) {
    pid_t pid = spawn(plan.command);
    int status = wait_child(pid, plan.duration_s, t0, tick, plan.interval_s);
    if (status == -1)
      rec.command_status = "unknown";
    else if (WIFEXITED(status))
      rec.command_status = "exit " + std::to_string(WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
      rec.command_status = std::string("killed by ") + strsignal(WTERMSIG(status));
  } else {
    double next_tick = plan.interval_s;
    while (!stop_requested()) {
      double t = seconds_since(t0);
      if (plan.duration_s > 0 && t >= plan.duration_s) break;
      if (plan.interval_s > 0 && t >= next_tick) {
        tick(t);
        next_tick += plan.interval_s;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  CostSample cost = sampler.finish();
  Recording done = capture(session, std::move(stats0), seconds_since(t0));
  done.cost = std::move(cost);
  done.command_status = std::move(rec.command_status);
  done.stopped_by_signal = stop_signal();
  return done;
}

Recording capture(BpfSession& session, std::vector<ProgramStats> stats_before, double duration_s) {
  Recording rec;
  rec.duration_s = duration_s;
  rec.snapshot = session.snapshot();
  rec.stats_before = std::move(stats_before);
  rec.stats_after = session.program_stats();
  return rec;
}

Run finish_run(const Recording& rec, const std::map<std::string, Availability>& availability,
               const Symbolizer& syms) {
  Run run = build_run(rec.snapshot, availability, syms);
  run.duration_s = rec.duration_s;
  add_recursion_misses(run, rec.snapshot, rec.stats_after, rec.stats_before);
  if (rec.cost) {
    auto hold = run.metrics.find(metric::kPoolLockHold);
    run.cost = cost_from_sample(*rec.cost, hold == run.metrics.end() ? nullptr : &hold->second);
  }
  return run;
}

Profile new_recording_profile(const ProbeReport& probe, const LoadPlan& plan,
                              const BpfSession& session, const std::string& label) {
  Profile p = new_host_profile();
  p.label = label;
  p.kernel_release = probe.kernel_release;
  p.patch_state = probe.patch_state;
  p.patch_variant = probe.patch_variant;
  p.backend = plan.backend;
  p.hooks_attached = session.attached();
  p.hooks_refused = session.refused();
  p.site_source = !plan.track_sites ? "none" : plan.track_stacks ? "stacks" : "acquirers";
  return p;
}

}  // namespace lockscope
