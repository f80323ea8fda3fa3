// SPDX-License-Identifier: Apache-2.0
#include "session_options.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>

#include "commands.hpp"
#include "lockscope/core/error.hpp"
#include "lockscope/core/log.hpp"
#include "lockscope/probe/probe.hpp"
#include "lockscope/record/recorder.hpp"

namespace lockscope::cli {

void add_session_options(CLI::App& sub, SessionOpts& o) {
  sub.add_option("--backend", o.backend, "auto | fentry | tracepoint | both")
      ->capture_default_str();
  add_btf_option(sub, o.btf);
  sub.add_option("--label", o.label, "Free text stored in the profile (e.g. baseline)");
  sub.add_flag("--stats", o.stats,
               "Enable kernel BPF stats: each program's runs and ns/run (record prints them, serve "
               "exports them)");
  sub.add_flag("--raw-tp", o.raw_tp,
               "Attach tracepoints as raw_tp even where tp_btf works (the fallback for kernels "
               "without BTF-typed tracepoints)");
  sub.add_flag("--no-sites", o.no_sites, "No per-site rows for any metric (lowest overhead)");
  sub.add_flag("--stacks", o.stacks,
               "Wakeups under a pool->lock (and the rq->locks they take) named from the kernel "
               "stack the lock was released from instead of the acquirer (more detail, a stack "
               "walk per hold that woke, after the hold)");
  sub.add_option("--metrics", o.metrics,
                 "Only these metrics (comma list), and only the hooks they need: e.g. "
                 "wakeups_under_pool_lock,kick_pool_under_pool_lock counts with no clock reads "
                 "(the others are reported as not recorded)")
      ->delimiter(',');
  sub.add_option("--site-entries", o.site_entries, "Capacity of the per-site histogram map")
      ->check(CLI::Range(1u, 1u << 16))
      ->capture_default_str();
  sub.add_option("--stack-entries", o.stack_entries, "Capacity of the stack map")
      ->check(CLI::Range(1u, 1u << 20))
      ->capture_default_str();
  sub.add_option("--inflight-entries", o.inflight_entries, "Capacity of the queued-work map")
      ->check(CLI::Range(1u, 1u << 22))
      ->capture_default_str();
}

Attached attach_session(const SessionOpts& o, const std::string& who, bool announces_end) {
  PlanRequest req;
  req.backend = parse_backend(o.backend);
  req.track_sites = !o.no_sites;
  req.track_stacks = o.stacks;
  req.force_raw_tp = o.raw_tp;
  req.metrics = parse_metric_selection(o.metrics);
  require_bpf_privileges(who);
  auto features = make_kernel_features(o.btf);
  if (!features->btf_available() && o.btf.empty())
    throw unsupported("this kernel exposes no BTF (/sys/kernel/btf/vmlinux is missing)",
                      "pass --btf PATH to a BTF file for this kernel, or use a kernel built with "
                      "CONFIG_DEBUG_INFO_BTF=y");
  ProbeReport probe = run_probe(*features);
  LoadPlan plan = make_load_plan(probe, req);
  if (req.backend == Backend::kAuto) log::info("backend auto: {} ({})", plan.backend, plan.reason);

  SessionOptions so;
  so.btf_path = o.btf;
  so.site_entries = o.site_entries;
  so.stack_entries = o.stack_entries;
  so.inflight_entries = o.inflight_entries;
  so.stats = o.stats;
  so.floor = o.floor;
  Attached a;
  a.session = open_session(plan, so);
  a.availability = metric_availability(plan, a.session->attached());
  a.syms = Symbolizer::from_kallsyms();
  a.profile = new_recording_profile(probe, plan, *a.session, o.label);
  // Last: reading kallsyms takes a while, and whoever waits for this line
  // (a script, a test) starts its load once it is printed.
  std::fprintf(stderr, "lockscope: %s the %s backend (%zu hooks attached, %zu refused)%s\n",
               o.floor ? "floor: empty programs on the hooks of" : "recording with",
               plan.backend.c_str(), a.session->attached().size(), a.session->refused().size(),
               announces_end ? "" : "; Ctrl-C to stop");
  for (const auto& r : a.session->refused()) log::info("not attached: {}: {}", r.name, r.reason);
  return a;
}

}  // namespace lockscope::cli
