// SPDX-License-Identifier: Apache-2.0
// Per-program kernel BPF stats (record --stats).
#include <fmt/format.h>

#include <algorithm>

#include "lockscope/record/recorder.hpp"

namespace lockscope {

std::vector<ProgramStats> stats_since(const std::vector<ProgramStats>& now,
                                      const std::vector<ProgramStats>& before) {
  std::vector<ProgramStats> out = now;
  for (auto& p : out)
    for (const auto& b : before)
      if (b.name == p.name) {
        p.run_cnt -= std::min(p.run_cnt, b.run_cnt);
        p.run_time_ns -= std::min(p.run_time_ns, b.run_time_ns);
        p.recursion_misses -= std::min(p.recursion_misses, b.recursion_misses);
      }
  return out;
}

std::string program_stats_table(const std::vector<ProgramStats>& after,
                                const std::vector<ProgramStats>& before, double duration_s) {
  std::string o = fmt::format("{:<44} {:>12} {:>10} {:>10} {:>10}\n", "program", "runs", "runs/s",
                              "ns/run", "recursion");
  for (const auto& p : stats_since(after, before)) {
    uint64_t cnt = p.run_cnt, t = p.run_time_ns, miss = p.recursion_misses;
    o += fmt::format("{:<44} {:>12} {:>10.0f} {:>10.1f} {:>10}\n", p.attach, cnt,
                     duration_s > 0 ? double(cnt) / duration_s : 0.0,
                     cnt ? double(t) / double(cnt) : 0.0, miss);
  }
  return o;
}

}  // namespace lockscope
