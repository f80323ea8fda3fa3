// SPDX-License-Identifier: Apache-2.0
// lockscope ab, the plan: what experiment.txt records, resuming a folder,
// and the boot loop that stops once the sequential gate has decided.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "lockscope/ab/ab.hpp"
#include "lockscope/core/error.hpp"
#include "lockscope/core/log.hpp"

namespace fs = std::filesystem;

namespace lockscope::ab {

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string l;
  while (std::getline(in, l))
    if (!l.empty()) out.push_back(l);
  return out;
}

}  // namespace

int planned_boots(const Options& o) { return o.until_decided ? o.max_boots : o.boots; }

std::string experiment_text(const Options& o, const std::string& base_vmlinuz,
                            const std::string& cand_vmlinuz) {
  std::string t =
      fmt::format("baseline  {} ({})\ncandidate {} ({})\nguest command: {}\n", o.baseline,
                  base_vmlinuz, o.candidate, cand_vmlinuz, guest_command(o, "<side>"));
  t += o.until_decided
           ? fmt::format("plan: until every gate check is decided, at most {} boots per kernel\n",
                         o.max_boots)
           : fmt::format("plan: {} boots per kernel\n", o.boots);
  for (const auto& g : o.gates) t += "gate: " + g + "\n";
  t += fmt::format("max-loss: {:g}\n", o.max_loss);
  return t;
}

Resumed read_resume(const std::string& dir, const std::string& experiment) {
  fs::path exp = fs::path(dir) / "experiment.txt";
  std::error_code ec;
  if (!fs::is_regular_file(exp, ec))
    throw usage_error("--resume: " + exp.string() + " not found",
                      "give -o the folder of the ab run to continue");
  std::string had = slurp(exp);
  if (had != experiment) {
    std::vector<std::string> a = lines_of(had), b = lines_of(experiment);
    std::string first;
    for (size_t i = 0; i < std::max(a.size(), b.size()) && first.empty(); ++i) {
      std::string x = i < a.size() ? a[i] : "(nothing)", y = i < b.size() ? b[i] : "(nothing)";
      if (x != y) first = "it says '" + x + "', this command '" + y + "'";
    }
    throw usage_error("--resume: " + dir + " holds another experiment: " + first,
                      "resume with the same kernels, workload, plan, gates and --max-loss, or "
                      "give a new -o DIR");
  }
  Resumed r;
  r.lines = lines_of(slurp(fs::path(dir) / "boots.txt"));
  r.done = int(r.lines.size());
  return r;
}

std::vector<BootOutcome> drive(const Loop& loop, const BootFn& boot, const LookFn& look) {
  std::vector<BootOutcome> out;
  if (loop.until_decided && loop.first > 0 && loop.first % 2 == 0 && look(loop.first / 2))
    return out;
  for (int n = loop.first; n < loop.slots; ++n) {
    Slot s{n, n % 2 ? Side::kCandidate : Side::kBaseline, n / 2};
    out.push_back(boot(s));
    if (loop.until_decided && s.side == Side::kCandidate && look(n / 2 + 1)) break;
  }
  return out;
}

std::string progress_line(const diff::Report& r, int pairs, int planned) {
  std::string s = fmt::format("ab: after {} of at most {} pairs:", pairs, planned);
  for (const auto& c : r.checks) {
    s += " " + c.expr;
    if (c.expr.find('[') == std::string::npos) s += " [" + c.scope + "]";
    s += std::string(" ") + diff::outcome_name(c.outcome);
    if (c.outcome != diff::Outcome::kInconclusive)
      s += fmt::format(" (look {})", c.look);
    else if (c.level == 0)
      s += " (no share of alpha at this look)";
    else if (c.in_family)
      s += fmt::format(" (p(pass) {:.3g}, Holm p(fail) {:.3g} at level {:.3g})", c.p_pass,
                       c.p_fail_adj, c.level);
    s += ";";
  }
  if (!s.empty() && s.back() == ';') s.pop_back();
  return s;
}

}  // namespace lockscope::ab
