// SPDX-License-Identifier: Apache-2.0
// lockscope ab: baseline vs candidate kernel, booted in turn under QEMU.
#include <CLI/CLI.hpp>

#include <memory>

#include "commands.hpp"
#include "lockscope/ab/ab.hpp"
#include "lockscope/core/error.hpp"

namespace lockscope::cli {

void register_ab(CLI::App& app, Action& run) {
  auto o = std::make_shared<ab::Options>();
  CLI::App* sub = app.add_subcommand(
      "ab",
      "Boot a baseline and a candidate kernel in turn under QEMU, record the workload in each "
      "boot, and compare (diff + gate)");
  sub->add_option("--baseline", o->baseline,
                  "Baseline kernel: a Debian kernel version, prefix or glob (7.2, '7.2.*') or a "
                  "vmlinuz path")
      ->required();
  sub->add_option("--candidate", o->candidate,
                  "Candidate kernel: a version pattern or a vmlinuz path")
      ->required();
  sub->add_option(
      "--baseline-module", o->baseline_module,
      "test_workqueue.ko built for the baseline (needed when --baseline is a vmlinuz path)");
  sub->add_option(
      "--candidate-module", o->candidate_module,
      "test_workqueue.ko built for the candidate (needed when --candidate is a vmlinuz path)");
  sub->add_option("--boots", o->boots, "Boots per kernel, interleaved A B A B ... (default 5)")
      ->each([o](const std::string&) { o->boots_set = true; });
  sub->add_flag("--until-decided", o->until_decided,
                "Boot pairs until every gate check is decided (sequential gate), at most "
                "--max-boots per kernel");
  sub->add_option("--max-boots", o->max_boots,
                  "With --until-decided: the most boots per kernel (the plan the error rate is "
                  "spent over)");
  sub->add_flag("--resume", o->resume,
                "Continue the experiment in -o DIR where it stopped (same kernels, plan, gates)");
  sub->add_option("--scope", o->scope,
                  "Affinity scopes: LIST (cpu,smt,cache_shard,cache,numa,system) or all");
  sub->add_option("--workload", o->workload,
                  "test_workqueue (default: the kernel's own module) or pty");
  sub->add_option("--items", o->items, "Items per thread in each boot (default: the workload's)");
  sub->add_option("--threads", o->threads,
                  "Producer threads in each boot (default: the workload's)");
  sub->add_option("--smp", o->smp, "Guest CPUs (default 2)");
  sub->add_option("--memory", o->memory_mb, "Guest memory in MiB (default 1024)");
  sub->add_option("--timeout", o->timeout_s,
                  "Seconds before a boot counts as hung and is killed (default 600)");
  sub->add_option("--gate", o->gates,
                  "Gate expression (repeatable), e.g. 'wakeups_under_pool_lock.share <= 0.02', "
                  "'tput[cache] >= +5%' (grammar: docs/diff.md)");
  sub->add_option(
      "--max-loss", o->max_loss,
      "Tolerated lost fraction of a run's events before its scope is inconclusive (default 0)");
  sub->add_option("--format", o->format, "Output: text (default), markdown, json");
  sub->add_option("-o,--output", o->out_dir,
                  "Folder for profiles, console logs and the report (default ./ab-<timestamp>)");
  sub->add_option(
      "--guest-binary", o->guest_binary,
      "lockscope binary to run in the guests (default: this one; a static build is best)");
  sub->footer(
      "Needs root and qemu-system-x86_64; Debian kernels and test_workqueue are fetched/built once "
      "and cached.\n"
      "Exit codes: 0 no gate or gate passed, 1 regression, 2 bad input, 3 inconclusive (fewer than "
      "2\n"
      "            usable boots per kernel, or the gate cannot decide), 4 environment lacks "
      "QEMU/root/mirror.\n"
      "Example:\n"
      "  sudo lockscope ab --baseline 7.2 --candidate 7.3 --until-decided --max-boots 10 "
      "\\\n"
      "       --items 1000 --threads 2 --gate 'wakeups_under_pool_lock.share <= 0.02' -o "
      "ab-7.2-vs-7.3");
  sub->callback([o, &run] { run = [o] { return ab::run(*o); }; });
}

}  // namespace lockscope::cli
