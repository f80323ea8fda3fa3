// SPDX-License-Identifier: Apache-2.0
#include "sim.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "lockscope/core/error.hpp"
#include "lockscope/diff/diff.hpp"
#include "lockscope/stats/stats.hpp"

namespace lockscope::gatesim {

namespace {

constexpr double kBaseItemsPerSec = 100000;

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

// Standard normal from two uniform draws (Box-Muller): the same stream on
// every platform, unlike std::normal_distribution.
double normal(stats::Rng& rng) {
  double u1 = (double(rng.next() >> 11) + 0.5) * 0x1.0p-53;
  double u2 = double(rng.next() >> 11) * 0x1.0p-53;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

Case make(std::string name, std::string what, size_t nb, size_t nc, double cv, double effect,
          std::vector<std::string> scopes, std::vector<std::string> gates, Measure m, Target t,
          double bound) {
  Case c;
  c.name = std::move(name);
  c.what = std::move(what);
  c.n_base = nb;
  c.n_cand = nc;
  c.cv = cv;
  c.effect = effect;
  c.scopes = std::move(scopes);
  c.gates = std::move(gates);
  c.measure = m;
  c.target = t;
  c.bound = bound;
  return c;
}

}  // namespace

std::vector<Case> default_cases() {
  const std::vector<std::string> cache = {"cache"};
  const std::vector<std::string> six = {"cpu", "smt", "cache_shard", "cache", "numa", "system"};
  std::vector<Case> v;
  v.push_back(make("unchanged-vs-gain", "unchanged, must gain 5%: FAIL", 10, 10, 0.02, 0, cache,
                   {"tput[cache] >= +5%"}, Measure::kFail, Target::kAtLeast, 0.90));
  v.push_back(make("loss30-4v4", "-30%, must stay within +-5%: FAIL", 4, 4, 0.05, -0.30, cache,
                   {"tput[cache] >= -5%", "tput[cache] <= +5%"}, Measure::kFail, Target::kAtLeast,
                   0.90));
  v.push_back(make("margin-2v10", "-5% (at the margin), >= -5%: false PASS", 2, 10, 0.15, -0.05,
                   cache, {"tput[cache] >= -5%"}, Measure::kPass, Target::kAtMost, 0.05));
  v.push_back(make("aa-6v6", "A/A, >= -5%: false FAIL", 6, 6, 0.15, 0, cache,
                   {"tput[cache] >= -5%"}, Measure::kFail, Target::kAtMost, 0.05));
  v.push_back(make("loss20-10v10", "-20%, >= -5%: FAIL", 10, 10, 0.15, -0.20, cache,
                   {"tput[cache] >= -5%"}, Measure::kFail, Target::kAtLeast, 0.70));
  for (size_t k : {1, 3, 6})
    v.push_back(make(fmt::format("margin-K{}", k),
                     fmt::format("{} scope{} at the margin, >= -5%: family-wise false FAIL", k,
                                 k == 1 ? "" : "s"),
                     6, 6, 0.05, -0.05, std::vector<std::string>(six.begin(), six.begin() + k),
                     {"tput >= -5%"}, Measure::kFail, Target::kAtMost, 0.05));
  // examples/ci: 10 runs per side, `tput[cache] >= -3%`, at two noise levels.
  for (double cv : {0.02, 0.05}) {
    int pct = int(std::lround(100 * cv));
    v.push_back(make(fmt::format("ci-unchanged-{}pct", pct), "CI gate, unchanged: PASS", 10, 10, cv,
                     0, cache, {"tput[cache] >= -3%"}, Measure::kPass, Target::kNone, 0));
    v.push_back(make(fmt::format("ci-loss10-{}pct", pct), "CI gate, -10%: FAIL", 10, 10, cv, -0.10,
                     cache, {"tput[cache] >= -3%"}, Measure::kFail, Target::kNone, 0));
  }
  for (size_t n = 2; n <= 10; ++n)
    v.push_back(make(fmt::format("aa-{}v{}", n, n), "A/A, >= -5%: false FAIL", n, n, 0.15, 0, cache,
                     {"tput[cache] >= -5%"}, Measure::kFail, Target::kAtMost, 0.05));
  return v;
}

uint64_t replicate_seed(uint64_t seed, const Case& c, size_t rep, bool candidate) {
  stats::Rng mix(seed ^ fnv1a(c.name));
  uint64_t s = mix.next();
  return s ^ (uint64_t(rep) * 0x9e3779b97f4a7c15ULL) ^ (candidate ? 0x5bd1e995ULL : 0);
}

Profile make_profile(const Case& c, bool candidate, uint64_t seed) {
  stats::Rng rng(seed);
  Profile p;
  p.tool_version = "gate-sim";
  p.created = "2026-01-01T00:00:00Z";
  p.label = candidate ? "candidate" : "baseline";
  p.hostname = "sim";
  p.kernel_release = candidate ? "sim-candidate" : "sim-baseline";
  p.nr_cpus = 4;
  p.patch_state = "unknown";
  p.backend = "none";
  size_t n = candidate ? c.n_cand : c.n_base;
  double mean = kBaseItemsPerSec * (candidate ? 1.0 + c.effect : 1.0);
  for (const auto& sc : c.scopes)
    for (size_t r = 0; r < n; ++r) {
      Run run;
      run.scope = sc;
      run.repetition = uint32_t(r);
      run.duration_s = 1;
      WorkloadResult w;
      w.name = "sim";
      w.scope = sc;
      w.threads = 1;
      w.items_per_sec = mean * std::exp(c.cv * normal(rng));
      w.items = uint64_t(w.items_per_sec);
      w.duration_s = 1;
      run.workload = w;
      p.runs.push_back(std::move(run));
    }
  return p;
}

namespace {

Verdict verdict_from_json(const std::string& text, int code) {
  Verdict v;
  v.exit_code = code;
  try {
    auto j = nlohmann::json::parse(text);
    for (const auto& c : j.at("gate").at("checks"))
      v.check_outcomes.push_back(c.at("outcome").get<std::string>());
  } catch (const std::exception& e) {
    v.error = std::string("unreadable JSON from lockscope diff: ") + e.what();
  }
  return v;
}

// fork/exec with stdout captured; stderr goes to /dev/null.
int run_capture(const std::vector<std::string>& argv, std::string* out) {
  int fd[2];
  if (pipe(fd) != 0) return -1;
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    dup2(fd[1], STDOUT_FILENO);
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) dup2(null, STDERR_FILENO);
    close(fd[0]);
    close(fd[1]);
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(fd[1]);
  char buf[65536];
  ssize_t n;
  while ((n = read(fd[0], buf, sizeof buf)) > 0) out->append(buf, size_t(n));
  close(fd[0]);
  int st = 0;
  if (waitpid(pid, &st, 0) < 0) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

diff::Side side_of(const Profile& p, const std::string& name) {
  diff::Side s;
  s.path = name;
  s.files = {name};
  s.profiles.push_back(p);
  return s;
}

}  // namespace

Judge binary_judge(const std::string& binary, const std::string& tmpdir) {
  return [binary, tmpdir](const Case& c, const Profile& base, const Profile& cand) {
    std::string b = tmpdir + "/base.json", k = tmpdir + "/cand.json";
    save_profile(base, b);
    save_profile(cand, k);
    std::vector<std::string> argv = {binary, "diff", b, k, "--format", "json"};
    for (const auto& g : c.gates) {
      argv.emplace_back("--gate");
      argv.push_back(g);
    }
    std::string out;
    int code = run_capture(argv, &out);
    if (code != 0 && code != 1 && code != 3) {
      Verdict v;
      v.exit_code = code;
      v.error = fmt::format("lockscope diff exited with {}", code);
      return v;
    }
    return verdict_from_json(out, code);
  };
}

Judge library_judge() {
  return [](const Case& c, const Profile& base, const Profile& cand) {
    Verdict v;
    try {
      std::vector<diff::GateExpr> g = diff::parse_gates(c.gates);
      diff::Report r = diff::compare(side_of(base, "base"), side_of(cand, "cand"), diff::Options{},
                                     diff::gate_keys(g));
      diff::apply_gate(r, g);
      v.exit_code = r.exit_code;
      for (const auto& ch : r.checks) v.check_outcomes.emplace_back(diff::outcome_name(ch.outcome));
    } catch (const Error& e) {
      v.exit_code = e.code();
      v.error = e.what();
    }
    return v;
  };
}

double Tally::rate(const Case& c) const {
  size_t valid = replicates - errors;
  if (valid == 0) return std::nan("");
  return double(c.measure == Measure::kFail ? fail : pass) / double(valid);
}

double Tally::se(const Case& c) const {
  size_t valid = replicates - errors;
  double p = rate(c);
  return valid ? std::sqrt(p * (1 - p) / double(valid)) : std::nan("");
}

Tally simulate(const Case& c, size_t replicates, uint64_t seed, const Judge& judge) {
  Tally t;
  for (size_t rep = 0; rep < replicates; ++rep) {
    Profile base = make_profile(c, false, replicate_seed(seed, c, rep, false));
    Profile cand = make_profile(c, true, replicate_seed(seed, c, rep, true));
    Verdict v = judge(c, base, cand);
    ++t.replicates;
    if (!v.error.empty()) {
      ++t.errors;
      if (t.errors == 1)
        std::fprintf(stderr, "gate_sim: %s: %s\n", c.name.c_str(), v.error.c_str());
      continue;
    }
    if (v.exit_code == kExitOk)
      ++t.pass;
    else if (v.exit_code == kExitGateFailed)
      ++t.fail;
    else
      ++t.inconclusive;
  }
  return t;
}

bool met(const Case& c, const Tally& t, double tolerance_se) {
  if (t.errors) return false;
  if (c.target == Target::kNone) return true;
  double r = t.rate(c), slack = tolerance_se * t.se(c);
  // A rate of exactly 0 or 1 has a standard error of 0; give the tolerance a
  // floor of one replicate so that the check does not hinge on a single one.
  if (tolerance_se > 0) slack = std::max(slack, tolerance_se / double(t.replicates));
  return c.target == Target::kAtMost ? r <= c.bound + slack : r >= c.bound - slack;
}

std::string render_table(const std::vector<Case>& cases, const std::vector<Tally>& tallies) {
  std::string out =
      "| case | runs | noise | true change | gate | PASS | FAIL | INCONCLUSIVE | measured | "
      "target |\n|---|---:|---:|---:|---|---:|---:|---:|---|---|\n";
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    const Tally& t = tallies[i];
    double n = double(t.replicates - t.errors);
    auto pc = [&](size_t k) { return n > 0 ? fmt::format("{:.1f}%", 100.0 * double(k) / n) : "-"; };
    std::string gates;
    for (const auto& g : c.gates) gates += (gates.empty() ? "`" : ", `") + g + "`";
    std::string target =
        c.target == Target::kNone
            ? "(power)"
            : fmt::format("{} {} {:g}%", c.measure == Measure::kFail ? "FAIL" : "PASS",
                          c.target == Target::kAtMost ? "<=" : ">=", 100 * c.bound);
    out += fmt::format(
        "| {} | {}v{} | {:g}% | {:+g}% | {} | {} | {} | {} | {} {:.1f}% ± {:.1f} | {}{} |\n",
        c.name, c.n_base, c.n_cand, 100 * c.cv, 100 * c.effect, gates, pc(t.pass), pc(t.fail),
        pc(t.inconclusive), c.measure == Measure::kFail ? "FAIL" : "PASS", 100 * t.rate(c),
        100 * t.se(c), target, met(c, t, 0) ? "" : " **missed**");
  }
  return out;
}

}  // namespace lockscope::gatesim
