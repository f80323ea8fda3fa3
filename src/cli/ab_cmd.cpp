// SPDX-License-Identifier: Apache-2.0
#include <CLI/CLI.hpp>

#include <cstdio>

#include "commands.hpp"
#include "lockscope/error.hpp"

namespace lockscope::cli {

void register_ab(CLI::App& app, const Globals&, Action& run) {
  CLI::App* sub = app.add_subcommand("ab", "(not built yet)");
  sub->allow_extras();
  sub->callback([&run] {
    run = [] {
      std::fprintf(stderr, "lockscope ab: not built yet\n");
      return int(kExitUsage);
    };
  });
}

}  // namespace lockscope::cli
