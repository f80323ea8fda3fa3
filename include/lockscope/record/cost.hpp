// SPDX-License-Identifier: Apache-2.0
// What a recording costs: kernel BPF run-time stats (bpf_enable_stats,
// BPF_STATS_RUN_TIME) of lockscope's programs, enabled for a short window of
// each run and read at its start and end, and the run's Cost made from them
// (docs/profile-format.md, "Cost").
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "lockscope/core/bpf_raii.hpp"
#include "lockscope/core/profile.hpp"
#include "lockscope/record/session.hpp"

namespace lockscope {

// The first second of each run, or the whole run when it is shorter.
inline constexpr double kCostWindowS = 1.0;

// The stats at a window's start and end.
struct CostSample {
  std::string error;  // why there are no stats; "" = sampled
  double window_s = 0;
  uint32_t cpus = 0;  // online CPUs
  std::vector<ProgramStats> before, after;
  // lockscope's own run counters (BpfSession::hook_runs) at start and end.
  std::vector<uint64_t> counted_before, counted_after;
};

// The run's cost from a sample: per program runs and time in the window,
// lockscope's own counts by class, and the derived figures with `hold` (the
// run's pool_lock_hold_ns, null when absent). Pure: no kernel calls.
Cost cost_from_sample(const CostSample& s, const Metric* hold);

// Name of an enum ls_run_class in Cost::counted_runs ("waking", "switch").
const char* run_class_name(uint32_t cls);

// Samples one window: the constructor enables the stats (the kernel keeps
// them on while the fd is open) and reads the programs; the window ends
// `window_s` seconds later (a thread waits for it), or at finish() when that
// comes first or `window_s` is 0 (the whole run). Enabling may fail (no
// privilege, a kernel without BPF stats): the sample then says why.
class CostSampler {
 public:
  CostSampler(BpfSession& session, double window_s);
  ~CostSampler();
  CostSampler(const CostSampler&) = delete;
  CostSampler& operator=(const CostSampler&) = delete;
  // Ends the window if it is still open; the sample. Call once.
  CostSample finish();

 private:
  void end_window();  // with mu_ held

  BpfSession& session_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool ended_ = false, finishing_ = false;
  UniqueFd stats_fd_;
  CostSample sample_;
  std::chrono::steady_clock::time_point t0_;
  std::thread timer_;
};

}  // namespace lockscope
