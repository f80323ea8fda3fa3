// SPDX-License-Identifier: Apache-2.0
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "commands.hpp"
#include "lockscope/core/error.hpp"
#include "lockscope/core/log.hpp"
#include "lockscope/core/profile.hpp"
#include "lockscope/core/version.hpp"
#include "lockscope/workloads/plan.hpp"

namespace lockscope::cli {

void add_btf_option(CLI::App& sub, std::string& path) {
  sub.add_option("--btf", path,
                 "Kernel BTF file for CO-RE relocations, for kernels without "
                 "/sys/kernel/btf/vmlinux")
      ->check(CLI::ExistingFile);
}

void add_workload_options(CLI::App& sub, WorkloadRequest& req, bool with_duration) {
  sub.add_option("--workload", req.workload,
                 "pty (user-space round trips through events_unbound) or "
                 "test_workqueue[=PATH.ko] (the kernel's lib/test_workqueue module)");
  sub.add_option("--scope", req.scope,
                 "Comma-separated affinity scopes: cpu,smt,cache_shard,cache,numa,system, or all")
      ->capture_default_str();
  sub.add_option("--threads", req.threads, "Producer threads (default: online CPUs)");
  sub.add_option("--items", req.items, "Items per thread and run (default: 20000 for pty)");
  if (with_duration)
    sub.add_option("--duration", req.duration,
                   "pty: run each measurement this many seconds instead");
  sub.add_option("--runs", req.runs, "Repetitions per scope, interleaved across scopes")
      ->capture_default_str();
}

int run(int argc, char** argv) {
  CLI::App app{
      "lockscope: kernel lock contention profiler for the workqueue pool->lock "
      "and the run-queue locks taken under it"};
  app.name("lockscope");
  app.require_subcommand(1);
  int verbose = 0;
  app.add_flag("-v,--verbose", verbose,
               "More output: -v info and libbpf warnings, -vv debug and all libbpf messages");
  app.set_version_flag("--version", std::string("lockscope ") + kVersion);
  app.footer(
      "Exit codes: 0 ok/gate passed, 1 gate failed, 2 usage or input error,\n"
      "            3 inconclusive, 4 kernel or environment lacks what was asked.");
  Action action;
  register_probe(app, action);
  register_record(app, action);
  register_report(app, action);
  register_diff(app, action);
  register_bench(app, action);
  register_ab(app, action);
  register_serve(app, action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);  // prints usage / help / version
    return rc == 0 ? kExitOk : kExitUsage;
  }
  log::init(verbose);
  return report_errors("lockscope", [&] { return action ? action() : int(kExitUsage); });
}

void check_output_writable(const std::string& path) {
  std::string dir = ".";
  if (auto slash = path.find_last_of('/'); slash != std::string::npos)
    dir = slash == 0 ? "/" : path.substr(0, slash);
  if (access(dir.c_str(), W_OK) != 0)
    throw usage_error("cannot write " + path + ": directory " + dir + " is not writable",
                      "choose another output with -o FILE");
}

void write_profile(const Profile& profile, const std::string& path) {
  try {
    save_profile(profile, path);
  } catch (const Error& e) {
    std::string fallback = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") +
                           "/lockscope-" + std::to_string(getpid()) + ".json";
    save_profile(profile, fallback);
    throw Error(kExitUsage, std::string(e.what()) + "; the profile was saved to " + fallback);
  }
}

}  // namespace lockscope::cli
