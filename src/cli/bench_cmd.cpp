// SPDX-License-Identifier: Apache-2.0
// lockscope bench: the seed's measurement (items/s and round-trip latency per
// workqueue affinity scope), from user space (pty) or the kernel's module.
#include <CLI/CLI.hpp>

#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <limits>

#include "commands.hpp"
#include "lockscope/core/error.hpp"
#include "lockscope/core/log.hpp"
#include "lockscope/core/profile.hpp"
#include "lockscope/core/signals.hpp"
#include "lockscope/core/version.hpp"
#include "lockscope/workloads/plan.hpp"

namespace lockscope::cli {
namespace {

struct BenchOpts {
  WorkloadRequest workload;  // pty, all scopes, 3 runs unless told otherwise
  std::string output;
  std::string label;
};

Profile bench_profile(const BenchOpts& o) {
  Profile p = new_host_profile();
  p.label = o.label;
  return p;
}

// Progress on stderr, only when it is a terminal.
class Progress {
 public:
  Progress() : tty_(isatty(STDERR_FILENO)), t0_(std::chrono::steady_clock::now()) {}
  ~Progress() { done(); }
  void start(const PlanStep& s) {
    if (!tty_) return;
    double el = elapsed();
    std::string eta = s.index ? fmt::format("{:.1f}s", el / s.index * (s.total - s.index)) : "?";
    std::fprintf(stderr, "\r\033[Kbench: scope %s  run %u/%u  elapsed %.1fs  ETA %s",
                 s.scope.empty() ? "(module)" : s.scope.c_str(), s.index + 1, s.total, el,
                 eta.c_str());
    std::fflush(stderr);
    shown_ = true;
  }
  void done() {
    if (shown_) std::fputs("\r\033[K", stderr);
    shown_ = false;
  }

 private:
  double elapsed() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  }
  bool tty_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point t0_;
};

int run_bench(const BenchOpts& o) {
  PreparedWorkload pw = prepare_workload(o.workload);
  if (!o.output.empty()) check_output_writable(o.output);
  install_stop_handlers();
  Workload* w = pw.workload.get();
  const BenchPlan& plan = pw.plan;
  const std::string& wl = pw.name;

  Progress progress;
  std::vector<Run> done;
  std::vector<Run> runs;
  try {
    runs = run_plan(
        *w, plan, [&](const PlanStep& s) { progress.start(s); }, nullptr, &done);
  } catch (const Error&) {
    progress.done();
    if (!done.empty()) {
      std::fputs("(incomplete: only the runs finished before the error)\n", stdout);
      std::fputs(render_bench_table(summarize(done)).c_str(), stdout);
      std::fflush(stdout);
    }
    throw;
  }
  progress.done();
  if (wl == "test_workqueue") {
    for (const auto& s : plan.scopes) {
      bool seen = false;
      for (const auto& r : runs) seen = seen || r.scope == s;
      if (!seen)
        std::fprintf(stderr, "lockscope: the module printed no row for scope '%s'\n", s.c_str());
    }
  }
  std::fputs(render_bench_table(summarize(runs)).c_str(), stdout);
  if (!o.output.empty()) {
    Profile p = bench_profile(o);
    p.runs = std::move(runs);
    write_profile(p, o.output);
    log::info("wrote {}", o.output);
  }
  return kExitOk;
}

}  // namespace

void register_bench(CLI::App& app, Action& run) {
  auto o = std::make_shared<BenchOpts>();
  CLI::App* sub = app.add_subcommand(
      "bench", "Measure workqueue round trips per affinity scope (items/s, latency percentiles)");
  add_workload_options(*sub, o->workload, /*with_duration=*/true);
  sub->add_option("-o,--output", o->output,
                  "Write a profile (JSON) with one run per scope and repetition");
  sub->add_option("--label", o->label, "Free-text label stored in the profile");
  sub->footer(
      "Examples:\n"
      "  sudo lockscope bench --scope cpu,system --runs 5\n"
      "  sudo lockscope bench --workload test_workqueue=./test_workqueue.ko --items 5000\n"
      "The original default_affinity_scope is restored on exit, including Ctrl-C/SIGTERM.");
  sub->callback([o, &run] { run = [o] { return run_bench(*o); }; });
}

}  // namespace lockscope::cli
