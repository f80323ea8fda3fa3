// SPDX-License-Identifier: Apache-2.0
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
  diff::Options opt;
};

int run_diff(const DiffArgs& a) {
  std::vector<diff::GateExpr> gate = diff::parse_gates(a.gates, a.gate_file);
  std::vector<std::string> keys = diff::gate_keys(gate);

  diff::Side base = diff::load_side(a.base);
  diff::Side cand = diff::load_side(a.cand);
  diff::Report r = diff::compare(base, cand, a.opt, keys);
  diff::apply_gate(r, gate);

  std::string out;
  if (a.format == "svg" || a.format == "html") {
    // Pictures overlay each side's runs, all its profiles together.
    auto all_runs = [](const diff::Side& side) {
      Profile p = side.profiles.front();
      for (size_t i = 1; i < side.profiles.size(); ++i)
        p.runs.insert(p.runs.end(), side.profiles[i].runs.begin(), side.profiles[i].runs.end());
      return p;
    };
    output::DiffPictureOptions po;
    Profile pb = all_runs(base), pc = all_runs(cand);
    out = a.format == "svg" ? output::render_diff_svg(pb, pc, po)
                            : output::render_diff_html(pb, pc, po);
  } else {
    out = a.format == "json"       ? diff::render_json(r)
          : a.format == "markdown" ? diff::render_markdown(r)
                                   : diff::render_text(r);
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
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
  sub->add_option("--alpha", a->opt.alpha, "Significance level (default 0.05)")
      ->check(CLI::Range(1e-9, 0.999999));
  sub->add_option("--seed", a->opt.seed, "Bootstrap seed (default 1)");
  sub->add_option("--bootstrap", a->opt.bootstrap, "Bootstrap resamples (default 10000)")
      ->check(CLI::Range(size_t(100), size_t(10000000)));
  sub->add_option("--max-loss", a->opt.max_loss,
                  "Tolerated lost fraction of a run's events (drops, recursion misses) before the "
                  "comparison of its scope is inconclusive (default 0: any loss)")
      ->check(CLI::Range(0.0, 1.0));
  sub->add_option("--format", a->format, "Output: text (default), markdown, json, svg, html")
      ->check(CLI::IsMember({"text", "markdown", "json", "svg", "html"}));
  sub->footer(
      "Exit codes: 0 no gate or gate passed, 1 regression, 2 bad input or gate expression,\n"
      "            3 inconclusive (reasons printed). Grammar and statistics: docs/diff.md.");
  sub->callback([a, &run] { run = [a] { return run_diff(*a); }; });
}

}  // namespace lockscope::cli
