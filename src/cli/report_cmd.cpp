// SPDX-License-Identifier: Apache-2.0
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "lockscope/core/error.hpp"
#include "lockscope/core/log.hpp"
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
    std::string weight = "time";
    std::string units = "auto";
    bool verbose = false;
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
  sub->add_option("--weight", o->weight,
                  "folded, pprof: a stack's value: time (ns at the site where it is timed, else "
                  "its count) or count")
      ->capture_default_str();
  sub->add_flag("-v,--verbose", o->verbose,
                "List every refused hook with its reason (else one summary line)");
  sub->add_option("--units", o->units,
                  "Histogram row bounds: auto (each in the unit of its magnitude), or fixed: ns "
                  "(bcc's raw nanoseconds), us, ms, s")
      ->capture_default_str();
  sub->footer(
      "Examples:\n"
      "  lockscope report profile.json\n"
      "  lockscope report profile.json --scope cache -m pool_lock_hold_ns\n"
      "  lockscope report profile.json --format html -o report.html\n"
      "  lockscope report profile.json --format folded -m pool_lock_hold_ns | flamegraph.pl\n"
      "  lockscope report profile.json --format pprof -o lock.pb.gz && go tool pprof -top "
      "lock.pb.gz\n"
      "Repetitions of one scope are merged; --run N shows a single run.\n"
      "Colour only on a terminal and when NO_COLOR is unset; width from the terminal or COLUMNS.");
  sub->callback([o, &run] {
    run = [o] {
      output::ReportOptions ro;
      ro.format = output::parse_format(o->format);
      ro.weight = output::parse_weight(o->weight);
      ro.units = output::parse_units(o->units);
      ro.verbose = o->verbose || log::verbosity() > 0;
      ro.metrics = o->metrics;
      if (o->run >= 0) ro.run = uint32_t(o->run);
      ro.scope = o->scope;
      ro.top_sites = o->top;
      ro.source = o->profile;
      bool to_stdout = o->output.empty() || o->output == "-";
      const output::FormatInfo& info = output::format_info(ro.format);
      if (info.binary && to_stdout && isatty(STDOUT_FILENO))
        throw usage_error(
            std::string("--format ") + info.name + " is binary: not written to a terminal",
            "give -o FILE, or redirect standard output to a file or a pipe");
      ro.width = to_stdout ? output::terminal_width(STDOUT_FILENO) : 80;
      ro.color =
          to_stdout && ro.format == output::Format::kText && output::use_color(STDOUT_FILENO);
      Profile p = load_profile(o->profile);
      std::string text = output::render_report(p, ro);
      if (ro.format == output::Format::kFolded || ro.format == output::Format::kPprof) {
        std::string note = output::stacks_note(p);
        if (!note.empty()) std::fprintf(stderr, "lockscope: %s\n", note.c_str());
      }
      if (to_stdout)
        std::fwrite(text.data(), 1, text.size(), stdout);
      else
        write_file_atomic(o->output, text);
      return int(kExitOk);
    };
  });
}

}  // namespace lockscope::cli
