// SPDX-License-Identifier: Apache-2.0
// `lockscope ab`: a baseline and a candidate kernel booted in turn under QEMU
// (A B A B ...), the workload recorded by lockscope inside each boot, and the
// two sides compared with `diff` at the end. The user-visible contract is
// docs/ab.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

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
Sufficiency sufficiency(const std::vector<BootOutcome>& outcomes);

// One line per boot, as printed after the experiment (and in boots.txt).
std::string describe(const BootOutcome& b, int total);

// Does it all; returns the exit code (0 pass / no gate, 1 regression,
// 3 inconclusive). Throws Error for input (2) and environment (4) problems.
int run(const Options& o);

}  // namespace lockscope::ab
