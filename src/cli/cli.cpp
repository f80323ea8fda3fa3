// SPDX-License-Identifier: Apache-2.0
#include <CLI/CLI.hpp>

#include <cstdio>

#include "commands.hpp"
#include "lockscope/error.hpp"
#include "lockscope/log.hpp"
#include "lockscope/version.hpp"

namespace lockscope::cli {

void add_btf_option(CLI::App& sub, std::string& path) {
  sub.add_option("--btf", path,
                 "Kernel BTF file for CO-RE relocations, for kernels without "
                 "/sys/kernel/btf/vmlinux")
      ->check(CLI::ExistingFile);
}

int run(int argc, char** argv) {
  CLI::App app{
      "lockscope: kernel lock contention profiler for the workqueue pool->lock "
      "and the run-queue locks taken under it"};
  app.name("lockscope");
  app.require_subcommand(1);
  Globals g;
  app.add_flag("-v,--verbose", g.verbose,
               "More output: -v info and libbpf warnings, -vv debug and all libbpf messages");
  app.set_version_flag("--version", std::string("lockscope ") + kVersion);
  app.footer(
      "Exit codes: 0 ok/gate passed, 1 gate failed, 2 usage or input error,\n"
      "            3 inconclusive, 4 kernel or environment lacks what was asked.");
  Action action;
  register_probe(app, g, action);
  register_record(app, g, action);
  register_report(app, g, action);
  register_diff(app, g, action);
  register_bench(app, g, action);
  register_ab(app, g, action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);  // prints usage / help / version
    return rc == 0 ? kExitOk : kExitUsage;
  }
  log::init(g.verbose);
  try {
    return action ? action() : kExitUsage;
  } catch (const Error& e) {
    std::fprintf(stderr, "lockscope: error: %s\n", e.what());
    if (!e.hint().empty()) std::fprintf(stderr, "hint: %s\n", e.hint().c_str());
    return e.code();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lockscope: internal error: %s\n", e.what());
    return kExitUsage;
  }
}

}  // namespace lockscope::cli
