// SPDX-License-Identifier: Apache-2.0
// Per-program kernel BPF stats (record --stats).
#include <fmt/format.h>

#include "lockscope/record/recorder.hpp"

namespace lockscope {

std::string program_stats_table(const std::vector<ProgramStats>& after,
                                const std::vector<ProgramStats>& before, double duration_s) {
  std::string o = fmt::format("{:<44} {:>12} {:>10} {:>10} {:>10}\n", "program", "runs", "runs/s",
                              "ns/run", "recursion");
  for (const auto& p : after) {
    uint64_t cnt = p.run_cnt, t = p.run_time_ns, miss = p.recursion_misses;
    for (const auto& b : before)
      if (b.name == p.name) {
        cnt -= std::min(cnt, b.run_cnt);
        t -= std::min(t, b.run_time_ns);
        miss -= std::min(miss, b.recursion_misses);
      }
    o += fmt::format("{:<44} {:>12} {:>10.0f} {:>10.1f} {:>10}\n", p.attach, cnt,
                     duration_s > 0 ? double(cnt) / duration_s : 0.0,
                     cnt ? double(t) / double(cnt) : 0.0, miss);
  }
  return o;
}

}  // namespace lockscope
