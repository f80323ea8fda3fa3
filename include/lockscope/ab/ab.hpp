// SPDX-License-Identifier: Apache-2.0
// `lockscope ab`: a baseline and a candidate kernel booted in turn under QEMU
// (A B A B ...), the workload recorded by lockscope inside each boot, and the
// two sides compared with `diff` at the end. The user-visible contract is
// docs/ab.md.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "lockscope/diff/diff.hpp"

namespace lockscope::ab {

inline constexpr int64_t kUnset = -1;
inline constexpr int kMinBootsPerSide = 2;

struct Options {
  std::string baseline, candidate;                // vmlinuz path or Debian kernel version pattern
  std::string baseline_module, candidate_module;  // test_workqueue.ko for a vmlinuz path
  int boots = 5;                                  // per side
  std::string scope = "all";
  std::string workload = "test_workqueue";  // test_workqueue | pty
  int64_t items = kUnset;                   // per thread (record's --items)
  int64_t threads = kUnset;
  int smp = 2;
  int memory_mb = 1024;
  int timeout_s = 600;  // per boot
  std::vector<std::string> gates;
  double max_loss = 0.0;
  std::string format = "text";  // text | markdown | json
  std::string out_dir;          // empty: ./ab-<timestamp>
  std::string guest_binary;     // empty: this executable
  // Sequential experiment: pairs of boots until every gate check is decided
  // or `max_boots` per kernel have run (diff's sequential gate, planned for
  // max_boots runs per side). `boots` must then be left unset.
  bool until_decided = false;
  int max_boots = 0;
  bool boots_set = false;  // --boots was given
  // Continue the experiment in out_dir (same experiment.txt) where it stopped.
  bool resume = false;
};

// Input checks (before anything is fetched or booted): Error(kExitUsage).
void validate(const Options& o);

enum class Side { kBaseline, kCandidate };
const char* side_name(Side s);  // "baseline" | "candidate"

// One boot of the experiment.
struct Slot {
  int number = 0;  // 0-based position in the experiment
  Side side = Side::kBaseline;
  int index = 0;  // 0-based boot of this side
};
// Interleaved order: baseline, candidate, baseline, candidate, ...
std::vector<Slot> schedule(int boots_per_side);

// The guest's shell command that records the workload into $RESULTS.
std::string guest_command(const Options& o, const std::string& label);

// DIR/experiment.txt: the kernels (as given and resolved), the guest's
// command, the plan (boots, or until decided with its maximum) and what the
// verdict depends on (gates, max-loss). --resume continues only an identical one.
std::string experiment_text(const Options& o, const std::string& base_vmlinuz,
                            const std::string& cand_vmlinuz);
// Boots per kernel the plan allows: max_boots when until_decided, else boots.
int planned_boots(const Options& o);

// What an earlier invocation left in DIR, for --resume.
struct Resumed {
  int done = 0;                    // boots already run (one line each in boots.txt)
  std::vector<std::string> lines;  // those lines
};
// Throws Error(kExitUsage) when DIR holds no ab experiment or another one
// (its experiment.txt differs from `experiment`).
Resumed read_resume(const std::string& dir, const std::string& experiment);

// How one boot (plus its retry, if any) ended.
struct BootOutcome {
  Slot slot;
  std::string kernel;    // release (or the vmlinuz path)
  bool ok = false;       // a profile with workload rows was collected
  bool retried = false;  // the first attempt printed no rows
  std::string reason;    // why it was left out (empty when ok)
  std::string console;   // console log of the last attempt
  std::string profile;   // DIR/<side>/boot-NN.json when ok
  double seconds = 0;    // wall time of all attempts
};

// Whether a side count lets the experiment conclude, and why not.
struct Sufficiency {
  int baseline = 0, candidate = 0;  // boots with a profile
  bool enough = false;
  std::string reason;  // empty when enough
};
// `prior_*`: profiles an earlier (resumed) invocation left in DIR.
Sufficiency sufficiency(const std::vector<BootOutcome>& outcomes, int prior_baseline = 0,
                        int prior_candidate = 0);

// One line per boot, as printed after the experiment (and in boots.txt).
std::string describe(const BootOutcome& b, int total);

// The boot loop. Slots first..slots-1 (interleaved: even numbers baseline);
// with until_decided, `look(pairs)` runs after every pair (and once before
// the first boot of a resumed experiment) and returns true to stop.
struct Loop {
  int first = 0;
  int slots = 0;
  bool until_decided = false;
};
using BootFn = std::function<BootOutcome(const Slot&)>;
using LookFn = std::function<bool(int pairs)>;
std::vector<BootOutcome> drive(const Loop& loop, const BootFn& boot, const LookFn& look);

// One line after each pair: every check's state so far.
std::string progress_line(const diff::Report& r, int pairs, int planned);

// Does it all; returns the exit code (0 pass / no gate, 1 regression,
// 3 inconclusive). Throws Error for input (2) and environment (4) problems.
int run(const Options& o);

}  // namespace lockscope::ab
