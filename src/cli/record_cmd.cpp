// SPDX-License-Identifier: Apache-2.0
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "commands.hpp"
#include "lockscope/core/error.hpp"
#include "lockscope/core/log.hpp"
#include "lockscope/core/signals.hpp"
#include "lockscope/output/output.hpp"
#include "lockscope/probe/probe.hpp"
#include "lockscope/record/recorder.hpp"
#include "lockscope/record/run_builder.hpp"
#include "lockscope/workloads/plan.hpp"
#include "session_options.hpp"

namespace lockscope::cli {

namespace {

struct RecordOpts : SessionOpts {
  double duration = 0;
  std::string output = "lockscope.json";
  double interval = 0;
  std::vector<std::string> command;
  WorkloadRequest workload{"", "all", kUnsetCount, kUnsetCount, 0, 1};  // --workload; "" = none
};

Attached attach(const RecordOpts& o, bool announces_end) {
  return attach_session(o, "lockscope record", announces_end);
}

// The lock metrics of one plan step, merged into the step's workload runs.
// test_workqueue measures all six scopes in one module load, so its lock
// metrics cannot be split by scope: they go into one extra run, scope "all".
void attach_lock_metrics(std::vector<Run>& runs, Run lock, bool per_scope, uint32_t repetition) {
  if (!per_scope) {
    lock.scope = "all";
    lock.repetition = repetition;
    runs.push_back(std::move(lock));
    return;
  }
  for (Run& r : runs) {
    r.metrics = lock.metrics;
    r.counters = lock.counters;
    r.drops = lock.drops;
    r.cost = lock.cost;
  }
}

// record --workload: one run per (scope, repetition), maps zeroed before
// each step and read after it.
int record_workload(const RecordOpts& o, PreparedWorkload pw) {
  Attached a = attach(o, true);
  std::vector<ProgramStats> stats0;
  auto t0 = std::chrono::steady_clock::now();
  std::optional<CostSampler> sampler;  // one sampled window per run
  RunStartHook start = [&](const PlanStep& s) {
    a.session->reset();
    stats0 = a.session->program_stats();
    sampler.emplace(*a.session, o.stats ? 0.0 : kCostWindowS);
    t0 = std::chrono::steady_clock::now();
    std::fprintf(stderr, "lockscope: %s run %u/%u%s%s\n", pw.name.c_str(), s.index + 1, s.total,
                 s.scope.empty() ? "" : ", scope ", s.scope.c_str());
  };
  RunEndHook end = [&](const PlanStep& s, std::vector<Run>& runs) {
    double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    CostSample cost = sampler->finish();
    sampler.reset();
    Recording rec = capture(*a.session, stats0, dt);
    rec.cost = std::move(cost);
    a.syms.add(pw.workload->unloaded_symbols());  // test_workqueue: gone by now
    attach_lock_metrics(runs, finish_run(rec, a.availability, a.syms),
                        pw.workload->follows_default_scope(), s.repetition);
  };
  std::vector<Run> done;
  try {
    a.profile.runs = run_plan(*pw.workload, pw.plan, start, end, &done);
  } catch (const Error& e) {
    // Interrupted or failed mid-plan: keep what was measured.
    sampler.reset();  // its window reads the session
    a.session.reset();
    if (done.empty()) throw;
    a.profile.runs = std::move(done);
    write_profile(a.profile, o.output);
    throw Error(e.code(), std::string(e.what()) + "; the " + std::to_string(a.profile.runs.size()) +
                              " completed runs were saved to " + o.output);
  }
  a.session.reset();  // detach before writing: the kernel is left as found
  if (o.floor) {
    std::fputs(render_bench_table(summarize(a.profile.runs)).c_str(), stdout);
    std::printf("floor: %zu runs under empty programs on the recording's hooks (no profile)\n",
                a.profile.runs.size());
    return kExitOk;
  }
  write_profile(a.profile, o.output);
  std::fputs(render_bench_table(summarize(a.profile.runs)).c_str(), stdout);
  std::printf("recorded %zu runs -> %s (lockscope report %s)\n", a.profile.runs.size(),
              o.output.c_str(), o.output.c_str());
  return kExitOk;
}

// record [-d SECONDS] [-i SECONDS] [-- COMMAND]: one run.
int record_plain(const RecordOpts& o) {
  Attached a = attach(o, !o.command.empty() || o.duration > 0);
  RecordPlan plan;
  plan.duration_s = o.duration;
  plan.command = o.command;
  plan.interval_s = o.interval;
  plan.cost_window_s = o.stats ? 0.0 : kCostWindowS;  // --stats: the whole recording
  Snapshot prev = a.session->snapshot();
  if (o.interval > 0) std::fputs(output::render_interval_header().c_str(), stdout);
  IntervalFn tick = [&](double t) {
    Snapshot now = a.session->snapshot();
    Run delta = build_run(snapshot_delta(now, prev), a.availability, a.syms);
    prev = std::move(now);
    std::fputs(output::render_interval_line(t, delta).c_str(), stdout);
    std::fflush(stdout);
  };
  Recording rec = record(*a.session, plan, tick);
  if (o.floor) {
    size_t hooks = a.session->attached().size();
    a.session.reset();
    if (o.stats)
      std::printf("%s",
                  program_stats_table(rec.stats_after, rec.stats_before, rec.duration_s).c_str());
    std::printf("floor: %.1fs under %zu empty programs on the recording's hooks%s (no profile)\n",
                rec.duration_s, hooks,
                rec.command_status.empty() ? "" : (", command " + rec.command_status).c_str());
    return kExitOk;
  }
  a.profile.runs.push_back(finish_run(rec, a.availability, a.syms));
  a.session.reset();  // detach before writing: the kernel is left as found

  write_profile(a.profile, o.output);
  std::printf("%s", output::render_summary(a.profile.runs.back()).c_str());
  if (o.stats)
    std::printf("\n%s",
                program_stats_table(rec.stats_after, rec.stats_before, rec.duration_s).c_str());
  std::printf("recorded %.1fs%s%s -> %s\n", rec.duration_s,
              rec.command_status.empty() ? "" : (", command " + rec.command_status).c_str(),
              rec.stopped_by_signal ? " (stopped by signal)" : "", o.output.c_str());
  return kExitOk;
}

int do_record(const RecordOpts& o) {
  // First: a signal while probing or loading must still end in a clean exit.
  install_stop_handlers();
  parse_backend(o.backend);  // a bad --backend is a usage error before anything else
  bool with_workload = !o.workload.workload.empty();
  if (with_workload && (!o.command.empty() || o.duration > 0))
    throw usage_error("--workload runs its own plan: give no command and no -d",
                      "size the runs with --items / --runs instead");
  if (o.floor && o.interval > 0)
    throw usage_error("--floor records nothing: -i has no lines to print",
                      "drop -i, or drop --floor to record");
  if (!o.floor) check_output_writable(o.output);
  if (!with_workload) return record_plain(o);
  require_bpf_privileges("lockscope record");
  return record_workload(o, prepare_workload(o.workload));
}

}  // namespace

void register_record(CLI::App& app, Action& run) {
  auto o = std::make_shared<RecordOpts>();
  CLI::App* sub = app.add_subcommand(
      "record",
      "Record pool->lock hold times, wakeups and rq->lock acquisitions under pool->lock, "
      "and contended waits; write a profile");
  sub->add_option("-d,--duration", o->duration,
                  "Seconds to record (default: until Ctrl-C, or the command's life)")
      ->check(CLI::PositiveNumber);
  sub->add_option("-o,--output", o->output, "Profile to write (JSON, docs/profile-format.md)")
      ->capture_default_str();
  add_session_options(*sub, *o);
  sub->add_flag("--floor", o->floor,
                "Benchmarks: attach empty programs on exactly the hooks this recording would use, "
                "run, write no profile (the overhead floor, docs/overhead.md; with --stats, "
                "their ns/run)");
  sub->add_option("-i,--interval", o->interval, "Print a line of counts and p95 every SECONDS")
      ->check(CLI::PositiveNumber);
  add_workload_options(*sub, o->workload, /*with_duration=*/false);
  sub->add_option("command", o->command, "Command to run and record for its life (after --)");
  sub->footer(
      "Examples:\n"
      "  sudo lockscope record -d 10 -o base.json\n"
      "  sudo lockscope record --backend tracepoint -o p.json -- ./my-benchmark --quick\n"
      "  sudo lockscope record -i 1            # live line per second, Ctrl-C to stop\n"
      "  sudo lockscope record --workload pty --scope cache,system --runs 3 -o p.json");
  sub->callback([o, &run] { run = [o] { return do_record(*o); }; });
}

}  // namespace lockscope::cli
