// SPDX-License-Identifier: Apache-2.0
// The gate simulation: synthetic baseline/candidate profiles with stated
// lognormal run-to-run noise, judged by `lockscope diff --gate` (the real
// binary, or the same library in-process), and error rates per case with
// their binomial standard errors. docs/diff.md shows its table.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "lockscope/core/profile.hpp"

namespace lockscope::gatesim {

// What a case counts, and the target for it.
enum class Measure { kFail, kPass };             // rate of gate exit 1, or of exit 0
enum class Target { kAtMost, kAtLeast, kNone };  // kNone: a measurement, no target

struct Case {
  std::string name;
  std::string what;  // the question, for the table
  std::size_t n_base = 0, n_cand = 0;
  double cv = 0;                    // lognormal sigma of a run's throughput (run-to-run CV)
  double effect = 0;                // true relative change of the candidate (-0.05 = -5%)
  std::vector<std::string> scopes;  // every scope gets the same effect and noise
  std::vector<std::string> gates;
  Measure measure = Measure::kFail;
  Target target = Target::kAtMost;
  double bound = 0.05;  // the target rate
};

// The cases, the power of the shipped CI gate (examples/ci), and
// A/A at every run count from 2 to 10 per side.
std::vector<Case> default_cases();

// One side's profile for a replicate: runs of the workload "sim" with
// items_per_sec = 100000 * (1 + effect on the candidate) * exp(cv * Z).
Profile make_profile(const Case& c, bool candidate, uint64_t seed);
// The seed of replicate `rep` of case `c` under the run's seed.
uint64_t replicate_seed(uint64_t seed, const Case& c, std::size_t rep, bool candidate);

// The gate's answer for one replicate: its exit code (0, 1, 3; -1 when the
// run failed) and the outcome of every check as named in diff's JSON.
struct Verdict {
  int exit_code = -1;
  std::vector<std::string> check_outcomes;
  std::string error;  // non-empty when the call failed
};
using Judge = std::function<Verdict(const Case&, const Profile& base, const Profile& cand)>;

// Runs `binary diff BASE CAND --gate ... --format json` (fork/exec) with the
// two profiles written to `tmpdir` by save_profile.
Judge binary_judge(const std::string& binary, const std::string& tmpdir);
// The same comparison through the diff library in this process.
Judge library_judge();

struct Tally {
  std::size_t replicates = 0, pass = 0, fail = 0, inconclusive = 0, errors = 0;
  double rate(const Case& c) const;  // of the case's measure
  double se(const Case& c) const;    // binomial standard error of rate()
};
Tally simulate(const Case& c, std::size_t replicates, uint64_t seed, const Judge& judge);

// Met within `tolerance_se` standard errors (0: strictly).
bool met(const Case& c, const Tally& t, double tolerance_se);

// The markdown table of docs/diff.md: one row per case.
std::string render_table(const std::vector<Case>& cases, const std::vector<Tally>& tallies);

}  // namespace lockscope::gatesim
