// SPDX-License-Identifier: Apache-2.0
#include <CLI/CLI.hpp>
#include <unistd.h>

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
  double interval = 0;
  uint32_t site_entries = 256, stack_entries = 4096, inflight_entries = 16384;
  std::vector<std::string> command;
};

// Fail before recording, not after: an output we cannot write is exit 2.
void check_output_writable(const std::string& path) {
  std::string dir = ".";
  if (auto slash = path.find_last_of('/'); slash != std::string::npos)
    dir = slash == 0 ? "/" : path.substr(0, slash);
  if (access(dir.c_str(), W_OK) != 0)
    throw usage_error("cannot write " + path + ": directory " + dir + " is not writable",
                      "choose another output with -o FILE");
}

int do_record(const RecordOpts& o) {
  Backend backend = parse_backend(o.backend);
  check_output_writable(o.output);
  require_bpf_privileges("lockscope record");
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
  so.site_entries = o.site_entries;
  so.stack_entries = o.stack_entries;
  so.inflight_entries = o.inflight_entries;
  so.stats = o.stats;

  install_stop_handlers();
  auto session = open_session(so, probe);
  Coverage cov = coverage_of(*session, probe);
  std::fprintf(stderr, "lockscope: recording with the %s backend (%zu hooks attached, %zu refused)%s\n",
               session->backend().c_str(), session->attached().size(), session->refused().size(),
               o.command.empty() ? (o.duration > 0 ? "" : "; Ctrl-C to stop") : "");
  for (const auto& r : session->refused()) log::info("not attached: {}: {}", r.name, r.reason);

  RecordPlan plan;
  plan.duration_s = o.duration > 0 ? o.duration : (o.command.empty() ? 0 : 0);
  plan.command = o.command;
  plan.interval_s = o.interval;
  Snapshot prev = session->snapshot();
  Symbolizer syms = Symbolizer::from_kallsyms();
  if (o.interval > 0) std::fputs(output::render_interval_header().c_str(), stdout);
  IntervalFn tick = [&](double t) {
    Snapshot now = session->snapshot();
    Run delta = build_run(snapshot_delta(now, prev), cov, syms);
    prev = std::move(now);
    std::fputs(output::render_interval_line(t, delta).c_str(), stdout);
    std::fflush(stdout);
  };
  Recording rec = record(*session, plan, tick);

  Profile profile;
  fill_profile_facts(profile, probe, session->backend());
  profile.label = o.label;
  profile.hooks_attached = session->attached();
  profile.hooks_refused = session->refused();
  profile.runs.push_back(finish_run(rec, cov, syms));
  std::string summary = run_summary(profile.runs.back());
  auto stats = rec.stats_after;
  auto stats0 = rec.stats_before;
  session.reset();  // detach before writing: the kernel is left as found

  try {
    save_profile(profile, o.output);
  } catch (const Error& e) {
    // Never lose a recording: fall back to a temporary file.
    std::string fallback = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") +
                           "/lockscope-" + std::to_string(getpid()) + ".json";
    save_profile(profile, fallback);
    throw Error(kExitUsage, std::string(e.what()) + "; the profile was saved to " + fallback);
  }
  std::printf("%s", summary.c_str());
  if (o.stats) std::printf("\n%s", program_stats_table(stats, stats0, rec.duration_s).c_str());
  std::printf("recorded %.1fs%s%s -> %s\n", rec.duration_s,
              rec.command_status.empty() ? "" : (", command " + rec.command_status).c_str(),
              rec.stopped_by_signal ? " (stopped by signal)" : "", o.output.c_str());
  return kExitOk;
}

}  // namespace

void register_record(CLI::App& app, const Globals&, Action& run) {
  auto o = std::make_shared<RecordOpts>();
  CLI::App* sub = app.add_subcommand(
      "record", "Record pool->lock hold times, wakeups and rq->lock acquisitions under pool->lock, "
                "and contended waits; write a profile");
  sub->add_option("-d,--duration", o->duration, "Seconds to record (default: until Ctrl-C, or the command's life)")
      ->check(CLI::PositiveNumber);
  sub->add_option("-o,--output", o->output, "Profile to write (JSON, docs/profile-format.md)")
      ->capture_default_str();
  sub->add_option("--backend", o->backend, "auto | fentry | tracepoint | both")->capture_default_str();
  add_btf_option(*sub, o->btf);
  sub->add_option("--label", o->label, "Free text stored in the profile (e.g. baseline)");
  sub->add_flag("--stats", o->stats, "Enable kernel BPF stats; print each program's runs and ns/run");
  sub->add_option("-i,--interval", o->interval, "Print a line of counts and p95 every SECONDS")
      ->check(CLI::PositiveNumber);
  sub->add_flag("--no-sites", o->no_sites, "Skip stack capture (no per-site rows; lower overhead)");
  sub->add_option("--site-entries", o->site_entries, "Capacity of the per-site histogram map")
      ->check(CLI::Range(1u, 1u << 16))->capture_default_str();
  sub->add_option("--stack-entries", o->stack_entries, "Capacity of the stack map")
      ->check(CLI::Range(1u, 1u << 20))->capture_default_str();
  sub->add_option("--inflight-entries", o->inflight_entries, "Capacity of the queued-work map")
      ->check(CLI::Range(1u, 1u << 22))->capture_default_str();
  sub->add_option("command", o->command, "Command to run and record for its life (after --)");
  sub->footer(
      "Examples:\n"
      "  sudo lockscope record -d 10 -o base.json\n"
      "  sudo lockscope record --backend tracepoint -o p.json -- ./my-benchmark --quick\n"
      "  sudo lockscope record -i 1            # live line per second, Ctrl-C to stop");
  sub->callback([o, &run] { run = [o] { return do_record(*o); }; });
}

}  // namespace lockscope::cli
