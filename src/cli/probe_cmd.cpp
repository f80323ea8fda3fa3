// SPDX-License-Identifier: Apache-2.0
#include <CLI/CLI.hpp>

#include <cstdio>

#include "commands.hpp"
#include "lockscope/error.hpp"
#include "lockscope/probe.hpp"

namespace lockscope::cli {

void register_probe(CLI::App& app, const Globals&, Action& run) {
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
      std::fputs((o->json ? probe_report_json(r) : probe_report_text(r)).c_str(), stdout);
      return r.backend == "none" ? int(kExitUnsupported) : int(kExitOk);
    };
  });
}

}  // namespace lockscope::cli
