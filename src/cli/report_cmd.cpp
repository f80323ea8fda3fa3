// SPDX-License-Identifier: Apache-2.0
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "lockscope/core/error.hpp"
#include "lockscope/core/profile.hpp"
#include "lockscope/output/output.hpp"

namespace lockscope::cli {

void register_report(CLI::App& app, Action& run) {
  struct Opts {
    std::string profile;
    std::string format = "text";
    std::vector<std::string> metrics;
    int run = -1;
    std::string scope;
    size_t top = 20;
    std::string output;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* sub = app.add_subcommand(
      "report",
      "Show a profile: percentiles with error bounds, histograms, per-site tables, "
      "pictures");
  sub->add_option("PROFILE", o->profile, "Profile written by `record` or `bench`")->required();
  sub->add_option("-f,--format", o->format, output::report_format_names())->capture_default_str();
  sub->add_option("-m,--metric", o->metrics,
                  "Only this metric (repeatable), e.g. pool_lock_hold_ns");
  sub->add_option("--run", o->run, "Only the run with this index (0-based) in the profile");
  sub->add_option("--scope", o->scope, "Only runs of this affinity scope, e.g. cache");
  sub->add_option("--top", o->top, "Site rows per metric in text output; 0 shows all")
      ->capture_default_str();
  sub->add_option("-o,--output", o->output, "Write to this file instead of standard output");
  sub->footer(
      "Examples:\n"
      "  lockscope report profile.json\n"
      "  lockscope report profile.json --scope cache -m pool_lock_hold_ns\n"
      "  lockscope report profile.json --format html -o report.html\n"
      "Repetitions of one scope are merged; --run N shows a single run.\n"
      "Colour only on a terminal and when NO_COLOR is unset; width from the terminal or COLUMNS.");
  sub->callback([o, &run] {
    run = [o] {
      output::ReportOptions ro;
      ro.format = output::parse_format(o->format);
      ro.metrics = o->metrics;
      if (o->run >= 0) ro.run = uint32_t(o->run);
      ro.scope = o->scope;
      ro.top_sites = o->top;
      ro.source = o->profile;
      bool to_stdout = o->output.empty() || o->output == "-";
      ro.width = to_stdout ? output::terminal_width(STDOUT_FILENO) : 80;
      ro.color =
          to_stdout && ro.format == output::Format::kText && output::use_color(STDOUT_FILENO);
      Profile p = load_profile(o->profile);
      std::string text = output::render_report(p, ro);
      if (to_stdout)
        std::fwrite(text.data(), 1, text.size(), stdout);
      else
        write_file_atomic(o->output, text);
      return int(kExitOk);
    };
  });
}

}  // namespace lockscope::cli
