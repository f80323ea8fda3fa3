// SPDX-License-Identifier: Apache-2.0
#include <CLI/CLI.hpp>

#include <cstdio>

#include <nlohmann/json.hpp>
#include "commands.hpp"
#include "lockscope/core/error.hpp"

#include "lockscope/probe/probe.hpp"
#include "lockscope/record/load_plan.hpp"

namespace lockscope::cli {

void register_probe(CLI::App& app, Action& run) {
  struct Opts {
    bool json = false;
    std::string btf;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* sub =
      app.add_subcommand("probe",
                         "Show what this kernel offers (BTF, fentry, tracepoints, patch state) "
                         "and which backend `record` will use");
  sub->add_flag("--json", o->json, "Machine-readable output (fields: docs/probe.md)");
  add_btf_option(*sub, o->btf);
  sub->footer("Example:\n  sudo lockscope probe\n  sudo lockscope probe --json | jq .patch.state");
  sub->callback([o, &run] {
    run = [o] {
      require_bpf_privileges("lockscope probe");
      auto features = make_kernel_features(o->btf);
      ProbeReport r = run_probe(*features);
      // What record would load with its default options: the same plan.
      LoadPlan plan = make_load_plan(r, PlanRequest{});
      if (o->json) {
        nlohmann::json j = probe_report_json(r);
        add_load_plan_json(j, plan);
        std::fputs((j.dump(2) + "\n").c_str(), stdout);
      } else {
        std::fputs((probe_report_text(r) + "\n" + load_plan_text(plan)).c_str(), stdout);
      }
      return plan.backend == "none" ? int(kExitUnsupported) : int(kExitOk);
    };
  });
}

}  // namespace lockscope::cli
