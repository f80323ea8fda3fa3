// SPDX-License-Identifier: Apache-2.0
// gate_sim: how often does `lockscope diff --gate` say PASS, FAIL or
// INCONCLUSIVE when the truth is known? Synthetic profiles with lognormal
// run-to-run noise, one call of the real binary per replicate.
//
//   build/tests/bench/gate_sim/gate_sim --lockscope build/src/lockscope --replicates 1000
//
// Options: --seed N (default 1), --cases NAME,NAME (default all), --cv X
// (override the run-to-run noise of the selected cases, e.g. 0.05),
// --in-process (the diff library instead of the binary), --check K (exit 1
// when a target is missed by more than K standard errors).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "lockscope/core/error.hpp"
#include "sim.hpp"

using namespace lockscope;

namespace {

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "gate_sim: %s\nusage: gate_sim (--lockscope PATH | --in-process) [--replicates N] "
               "[--seed N] [--cases A,B] [--cv X] [--check K]\n",
               why.c_str());
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::string binary, cases_arg;
  size_t replicates = 1000;
  uint64_t seed = 1;
  bool in_process = false;
  double check = -1, cv = -1;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "--lockscope")
      binary = value();
    else if (a == "--replicates")
      replicates = std::stoul(value());
    else if (a == "--seed")
      seed = std::stoull(value());
    else if (a == "--cases")
      cases_arg = value();
    else if (a == "--cv")
      cv = std::stod(value());
    else if (a == "--in-process")
      in_process = true;
    else if (a == "--check")
      check = std::stod(value());
    else
      usage("unknown option " + a);
  }
  if (binary.empty() && !in_process) usage("give --lockscope PATH or --in-process");
  if (!binary.empty() && access(binary.c_str(), X_OK) != 0) usage("not executable: " + binary);

  std::vector<gatesim::Case> cases;
  for (const auto& c : gatesim::default_cases())
    if (cases_arg.empty() || ("," + cases_arg + ",").find("," + c.name + ",") != std::string::npos)
      cases.push_back(c);
  if (cv >= 0)
    for (auto& c : cases) c.cv = cv;
  if (cases.empty()) usage("no case matches --cases " + cases_arg);

  char tmpl[] = "/tmp/gate-sim-XXXXXX";
  if (!in_process && !mkdtemp(tmpl)) usage("cannot create a temporary folder");
  gatesim::Judge judge =
      in_process ? gatesim::library_judge() : gatesim::binary_judge(binary, tmpl);

  auto t0 = std::chrono::steady_clock::now();
  std::vector<gatesim::Tally> tallies;
  bool all_met = true;
  for (const auto& c : cases) {
    tallies.push_back(gatesim::simulate(c, replicates, seed, judge));
    if (check >= 0 && !gatesim::met(c, tallies.back(), check)) all_met = false;
    std::fprintf(stderr, "gate_sim: %s done\n", c.name.c_str());
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!in_process) {
    std::remove((std::string(tmpl) + "/base.json").c_str());
    std::remove((std::string(tmpl) + "/cand.json").c_str());
    rmdir(tmpl);
  }
  std::string out = fmt::format(
      "gate_sim: {} replicates per case, seed {}, alpha 0.05 (diff's default), {} ({:.0f} s)\n\n",
      replicates, seed, in_process ? "in-process diff library" : "binary " + binary, secs);
  out += gatesim::render_table(cases, tallies);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return check >= 0 && !all_met ? 1 : 0;
}
