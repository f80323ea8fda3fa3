// SPDX-License-Identifier: Apache-2.0
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "commands.hpp"
#include "lockscope/core/error.hpp"
#include "lockscope/diff/diff.hpp"
#include "lockscope/output/output.hpp"

namespace lockscope::cli {

namespace {

struct DiffArgs {
  std::string base, cand;
  std::vector<std::string> gates;
  std::string gate_file;
  std::string format = "text";
  std::string output;
  std::string removed;               // --seed / --bootstrap, given
  std::vector<std::string> metrics;  // folded
  std::string scope;                 // folded
  std::string weight = "time";       // folded
  diff::Options opt;
};

// Pictures overlay each side's runs, all its profiles together.
Profile all_runs(const diff::Side& side) {
  Profile p = side.profiles.front();
  for (size_t i = 1; i < side.profiles.size(); ++i)
    p.runs.insert(p.runs.end(), side.profiles[i].runs.begin(), side.profiles[i].runs.end());
  return p;
}

int run_diff(const DiffArgs& a) {
  if (!a.removed.empty())
    throw usage_error(a.removed +
                          " was removed: diff's intervals are exact now (Mann-Whitney "
                          "inversion), nothing is resampled",
                      "drop " + a.removed + " from the command (docs/diff.md)");
  std::vector<diff::GateExpr> gate = diff::parse_gates(a.gates, a.gate_file);
  diff::Side base = diff::load_side(a.base);
  diff::Side cand = diff::load_side(a.cand);
  diff::Report r = diff::evaluate(base, cand, a.opt, gate);

  bool to_stdout = a.output.empty() || a.output == "-";
  std::string out;
  if (a.format == "folded") {
    output::FoldedDiffOptions fo;
    fo.metrics = a.metrics;
    fo.scope = a.scope;
    fo.weight = output::parse_weight(a.weight);
    out = output::render_folded_diff(all_runs(base), all_runs(cand), fo);
  } else if (a.format == "svg" || a.format == "html") {
    std::string pictures = output::render_diff_svg(all_runs(base), all_runs(cand), {});
    out = a.format == "svg" ? diff::render_svg(r, pictures) : diff::render_html(r, pictures);
  } else if (a.format == "json") {
    out = diff::render_json(r);
  } else if (a.format == "markdown") {
    out = diff::render_markdown(r);
  } else {
    diff::RenderOptions ro;
    ro.width = to_stdout ? output::terminal_width(STDOUT_FILENO) : 0;
    out = diff::render_text(r, ro);
  }
  if (to_stdout) {
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
  } else {
    write_file_atomic(a.output, out);
  }
  if (r.gated && r.exit_code != kExitOk)
    std::fprintf(stderr, "lockscope: gate %s\n",
                 r.exit_code == kExitGateFailed ? "failed: regression" : "inconclusive");
  return r.gated ? r.exit_code : kExitOk;
}

}  // namespace

void register_diff(CLI::App& app, Action& run) {
  auto a = std::make_shared<DiffArgs>();
  CLI::App* sub = app.add_subcommand(
      "diff", "Compare a baseline with a candidate run by run, and gate on the result");
  sub->add_option("BASE", a->base, "Baseline profile, or a folder of *.json profiles")->required();
  sub->add_option("CAND", a->cand, "Candidate profile, or a folder of *.json profiles")->required();
  sub->add_option("--gate", a->gates,
                  "Gate expression (repeatable), e.g. 'tput[cache] >= +5%', "
                  "'pool_lock_hold_ns.p95 <= -10%', 'wakeups_under_pool_lock.share <= 0.01'");
  sub->add_option("--gate-file", a->gate_file,
                  "File of gate expressions, one per line, # comments");
  sub->add_option("--alpha", a->opt.alpha,
                  "Error rate of each PASS and of the family-wise REGRESSION (default 0.05)")
      ->check(CLI::Range(1e-9, 0.499999));
  sub->add_option("--sequential", a->opt.sequential,
                  "Sequential gate over folders that grow: N = planned maximum runs per side; "
                  "every run prefix is a look with its share of alpha")
      ->check(CLI::Range(size_t(1), size_t(1000)));
  sub->add_option("--max-loss", a->opt.max_loss,
                  "Tolerated lost fraction of a run's events (drops, recursion misses) before the "
                  "comparison of its scope is inconclusive (default 0: any loss)")
      ->check(CLI::Range(0.0, 1.0));
  sub->add_option("--format", a->format,
                  "Output: text (default), markdown, json, svg, html, folded ('stack baseline "
                  "candidate' lines, as difffolded.pl writes them)")
      ->check(CLI::IsMember({"text", "markdown", "json", "svg", "html", "folded"}));
  sub->add_option("-m,--metric", a->metrics,
                  "folded: only this metric (repeatable); default every metric with sites");
  sub->add_option("--scope", a->scope, "folded: only runs of this affinity scope");
  sub->add_option("--weight", a->weight,
                  "folded: a stack's value: time (ns where the site is timed, else its count) or "
                  "count")
      ->capture_default_str();
  sub->add_option("-o,--output", a->output, "Write to this file (atomically) instead of stdout");
  // Removed options: accepted by the parser so that the error can say why.
  sub->add_option_function<std::string>(
         "--seed", [a](const std::string&) { a->removed = "--seed"; }, "(removed)")
      ->group("");
  sub->add_option_function<std::string>(
         "--bootstrap", [a](const std::string&) { a->removed = "--bootstrap"; }, "(removed)")
      ->group("");
  sub->footer(
      "Exit codes: 0 no gate or gate passed, 1 regression, 2 bad input or gate expression,\n"
      "            3 inconclusive (reasons printed). Grammar and statistics: docs/diff.md.");
  sub->callback([a, &run] { run = [a] { return run_diff(*a); }; });
}

}  // namespace lockscope::cli
