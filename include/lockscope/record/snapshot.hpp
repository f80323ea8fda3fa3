// SPDX-License-Identifier: Apache-2.0
// What the BPF maps hold at one moment, per-CPU copies merged: the raw
// material of a run (src/record/run_builder.cpp), and the interval view of
// `record -i` (the difference of two snapshots).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "lockscope/bpf_shared.h"
#include "lockscope/core/histogram.hpp"

namespace lockscope {

struct Snapshot {
  std::vector<uint64_t> counters;  // LS_C_MAX, indexed by enum ls_counter
  uint64_t hook_events = 0;        // program runs, all classes together
  std::vector<uint64_t> runs;      // LS_RUN_MAX: program runs by enum ls_run_class
  std::vector<Histogram> hists;    // LS_NR_HISTS, index metric * LS_KIND_MAX + kind
  struct SiteHist {
    uint32_t metric, kind;
    uint64_t site;
    Histogram hist;
  };
  std::vector<SiteHist> site_hists;
  struct SiteCount {
    uint32_t counter;
    uint32_t context;  // enum ls_context
    uint64_t site;
    uint64_t count;
  };
  std::vector<SiteCount> site_counts;
  std::map<int64_t, std::vector<uint64_t>> stacks;  // stack id -> kernel IPs
  std::map<uint64_t, std::string> func_wq;          // work function -> workqueue name
  // record --stacks: the sites of wakeups and rq acquisitions under pool->lock
  // are stack ids, and so is a hold's or a wait's where no address was read.
  bool stack_sites = false;

  // A site that is a stack id: below 2^32 (an address is kernel text, in the
  // top 2 GiB).
  static bool is_stack_id(uint64_t site) { return site < (uint64_t(1) << 32); }

  const Histogram& hist(uint32_t metric, uint32_t kind) const;
  // Every counter and global histogram present and zero.
  static Snapshot zeroed();
};

// Counters that are a level, not events: the locks entered in the lock
// filter (pool_locks_learned, rq_locks_learned), which outlives a run's reset.
// A reset keeps them and an interval's delta takes them as they are now.
inline constexpr uint32_t kLevelCounters[] = {LS_C_POOLS_LEARNED, LS_C_RQS_LEARNED};
bool is_level_counter(uint32_t id);

// The interval between two snapshots of one session, `now - before`:
// counters and bucket counts subtract exactly, and so do histogram sums;
// an interval's min and max are not recorded, so they are the bounds of its
// lowest and highest non-empty bucket, kept within the later snapshot's
// [min, max]. Site rows match on all their key fields.
Snapshot snapshot_delta(const Snapshot& now, const Snapshot& before);

}  // namespace lockscope
