// SPDX-License-Identifier: Apache-2.0
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "commands.hpp"
#include "lockscope/error.hpp"
#include "lockscope/log.hpp"
#include "lockscope/output.hpp"
#include "lockscope/probe.hpp"
#include "lockscope/record.hpp"
#include "lockscope/recorder.hpp"
#include "lockscope/signals.hpp"
#include "lockscope/workload.hpp"

namespace lockscope::cli {

namespace {

struct RecordOpts {
  double duration = 0;
  std::string output = "lockscope.json";
  std::string backend = "auto";
  std::string btf;
  std::string label;
  bool stats = false;
  bool no_sites = false;
  bool stacks = false;
  bool raw_tp = false;
  double interval = 0;
  uint32_t site_entries = 256, stack_entries = 4096, inflight_entries = 16384;
  std::vector<std::string> command;
  WorkloadRequest workload{"", "all", kUnsetCount, kUnsetCount, 0, 1};  // --workload; "" = none
};

// The lock metrics of one plan step, merged into the step's workload runs.
// test_workqueue measures all six scopes in one module load, so its lock
// metrics cannot be split by scope: they go into one extra run, scope "all".
void attach_lock_metrics(std::vector<Run>& runs, const Recording& rec, const Coverage& cov,
                         const Symbolizer& syms, bool per_scope, uint32_t repetition) {
  Run lock = finish_run(rec, cov, syms);
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
  }
}

int do_record(const RecordOpts& o) {
  // First: a signal while probing or loading must still end in a clean exit.
  install_stop_handlers();
  Backend backend = parse_backend(o.backend);
  bool with_workload = !o.workload.workload.empty();
  if (with_workload && (!o.command.empty() || o.duration > 0))
    throw usage_error("--workload runs its own plan: give no command and no -d",
                      "size the runs with --items / --runs instead");
  check_output_writable(o.output);
  require_bpf_privileges("lockscope record");
  PreparedWorkload pw;
  if (with_workload) pw = prepare_workload(o.workload);
  auto features = make_kernel_features(o.btf);
  if (!features->btf_available() && o.btf.empty())
    throw unsupported("this kernel exposes no BTF (/sys/kernel/btf/vmlinux is missing)",
                      "pass --btf PATH to a BTF file for this kernel, or use a kernel built with "
                      "CONFIG_DEBUG_INFO_BTF=y");
  ProbeReport probe = run_probe(*features);

  SessionOptions so;
  so.backend = backend;
  so.btf_path = o.btf;
  so.track_sites = !o.no_sites;
  so.track_stacks = o.stacks;
  so.site_entries = o.site_entries;
  so.stack_entries = o.stack_entries;
  so.inflight_entries = o.inflight_entries;
  so.stats = o.stats;
  so.force_raw_tp = o.raw_tp;

  auto session = open_session(so, probe);
  Coverage cov = coverage_of(*session, probe);
  std::fprintf(stderr,
               "lockscope: recording with the %s backend (%zu hooks attached, %zu refused)%s\n",
               session->backend().c_str(), session->attached().size(), session->refused().size(),
               with_workload || !o.command.empty() || o.duration > 0 ? "" : "; Ctrl-C to stop");
  for (const auto& r : session->refused()) log::info("not attached: {}: {}", r.name, r.reason);
  Symbolizer syms = Symbolizer::from_kallsyms();

  Profile profile;
  fill_profile_facts(profile, probe, session->backend());
  profile.label = o.label;
  profile.hooks_attached = session->attached();
  profile.hooks_refused = session->refused();

  if (with_workload) {
    // One run per (scope, repetition): maps zeroed before each step, read after.
    std::vector<ProgramStats> stats0;
    auto t0 = std::chrono::steady_clock::now();
    RunStartHook start = [&](const PlanStep& s) {
      session->reset();
      stats0 = session->program_stats();
      t0 = std::chrono::steady_clock::now();
      std::fprintf(stderr, "lockscope: %s run %u/%u%s%s\n", pw.name.c_str(), s.index + 1, s.total,
                   s.scope.empty() ? "" : ", scope ", s.scope.c_str());
    };
    RunEndHook end = [&](const PlanStep& s, std::vector<Run>& runs) {
      Recording rec;
      rec.duration_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      rec.snapshot = session->snapshot();
      rec.stats_before = stats0;
      rec.stats_after = session->program_stats();
      attach_lock_metrics(runs, rec, cov, syms, pw.workload->follows_default_scope(), s.repetition);
    };
    std::vector<Run> done;
    try {
      profile.runs = run_plan(*pw.workload, pw.plan, start, end, &done);
    } catch (const Error& e) {
      // Interrupted or failed mid-plan: keep what was measured.
      session.reset();
      if (done.empty()) throw;
      profile.runs = std::move(done);
      write_profile(profile, o.output);
      throw Error(e.code(), std::string(e.what()) + "; the " + std::to_string(profile.runs.size()) +
                                " completed runs were saved to " + o.output);
    }
    session.reset();  // detach before writing: the kernel is left as found
    write_profile(profile, o.output);
    std::fputs(render_bench_table(summarize(profile.runs)).c_str(), stdout);
    std::printf("recorded %zu runs -> %s (lockscope report %s)\n", profile.runs.size(),
                o.output.c_str(), o.output.c_str());
    return kExitOk;
  }

  RecordPlan plan;
  plan.duration_s = o.duration;
  plan.command = o.command;
  plan.interval_s = o.interval;
  Snapshot prev = session->snapshot();
  if (o.interval > 0) std::fputs(output::render_interval_header().c_str(), stdout);
  IntervalFn tick = [&](double t) {
    Snapshot now = session->snapshot();
    Run delta = build_run(snapshot_delta(now, prev), cov, syms);
    prev = std::move(now);
    std::fputs(output::render_interval_line(t, delta).c_str(), stdout);
    std::fflush(stdout);
  };
  Recording rec = record(*session, plan, tick);
  profile.runs.push_back(finish_run(rec, cov, syms));
  session.reset();  // detach before writing: the kernel is left as found

  write_profile(profile, o.output);
  std::printf("%s", output::render_summary(profile.runs.back()).c_str());
  if (o.stats)
    std::printf("\n%s",
                program_stats_table(rec.stats_after, rec.stats_before, rec.duration_s).c_str());
  std::printf("recorded %.1fs%s%s -> %s\n", rec.duration_s,
              rec.command_status.empty() ? "" : (", command " + rec.command_status).c_str(),
              rec.stopped_by_signal ? " (stopped by signal)" : "", o.output.c_str());
  return kExitOk;
}

}  // namespace

void register_record(CLI::App& app, const Globals&, Action& run) {
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
  sub->add_option("--backend", o->backend, "auto | fentry | tracepoint | both")
      ->capture_default_str();
  add_btf_option(*sub, o->btf);
  sub->add_option("--label", o->label, "Free text stored in the profile (e.g. baseline)");
  sub->add_flag("--stats", o->stats,
                "Enable kernel BPF stats; print each program's runs and ns/run");
  sub->add_option("-i,--interval", o->interval, "Print a line of counts and p95 every SECONDS")
      ->check(CLI::PositiveNumber);
  sub->add_flag("--raw-tp", o->raw_tp,
                "Attach tracepoints as raw_tp even where tp_btf works (the fallback for kernels "
                "without BTF-typed tracepoints)");
  sub->add_flag("--no-sites", o->no_sites, "No per-site rows (lowest overhead)");
  sub->add_flag("--stacks", o->stacks,
                "Per-site rows from full kernel stacks instead of the acquirer's address "
                "(more detail, ~10x the cost per pool->lock acquisition)");
  sub->add_option("--site-entries", o->site_entries, "Capacity of the per-site histogram map")
      ->check(CLI::Range(1u, 1u << 16))
      ->capture_default_str();
  sub->add_option("--stack-entries", o->stack_entries, "Capacity of the stack map")
      ->check(CLI::Range(1u, 1u << 20))
      ->capture_default_str();
  sub->add_option("--inflight-entries", o->inflight_entries, "Capacity of the queued-work map")
      ->check(CLI::Range(1u, 1u << 22))
      ->capture_default_str();
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
