// SPDX-License-Identifier: Apache-2.0
// A run's cost from kernel BPF stats sampled for a window of it.
#include "lockscope/record/cost.hpp"

#include <bpf/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "lockscope/bpf_shared.h"
#include "lockscope/core/cost.hpp"
#include "lockscope/record/run_builder.hpp"

namespace lockscope {

namespace {

using Clock = std::chrono::steady_clock;

uint64_t at(const std::vector<uint64_t>& v, size_t i) { return i < v.size() ? v[i] : 0; }

std::string enable_error(int err) {
  std::string why = std::string("cannot enable kernel BPF stats: ") + std::strerror(err);
  if (err == EINVAL) why += " (a kernel without BPF_ENABLE_STATS, before 5.8)";
  return why;
}

}  // namespace

const char* run_class_name(uint32_t cls) {
  static const char* const kNames[LS_RUN_MAX] = {"lock_entry", "locked", "unlock",    "function",
                                                 "waking",     "switch", "workqueue", "contention"};
  return cls < LS_RUN_MAX ? kNames[cls] : "?";
}

Cost cost_from_sample(const CostSample& s, const Metric* hold) {
  if (!s.error.empty()) return Cost::unavailable(s.error);
  if (!(s.window_s > 0)) return Cost::unavailable("the sampled window was empty");
  if (s.cpus == 0) return Cost::unavailable("cannot count the online CPUs");
  Cost c;
  c.ok = true;
  c.source = kCostSource;
  c.window_s = s.window_s;
  c.cpus = s.cpus;
  uint64_t kernel_runs = 0;
  std::vector<bool> classes(LS_RUN_MAX, false);
  for (const auto& p : stats_since(s.after, s.before)) {
    c.programs.push_back({p.attach, p.run_cnt, p.run_time_ns, 0, std::nullopt});
    kernel_runs += p.run_cnt;
    int cls = run_class(p.attach);
    if (cls >= 0 && cls < LS_RUN_MAX) classes[size_t(cls)] = true;
  }
  uint64_t counted = 0;
  for (uint32_t cls = 0; cls < LS_RUN_MAX; ++cls) {
    uint64_t a = at(s.counted_after, cls), b = at(s.counted_before, cls);
    uint64_t n = a > b ? a - b : 0;
    counted += n;
    if (classes[cls]) c.counted_runs[run_class_name(cls)] = n;
  }
  // Stats that stayed off would say lockscope cost nothing.
  if (kernel_runs == 0 && counted > 0)
    return Cost::unavailable("the kernel counted no program runs while lockscope's programs ran " +
                             std::to_string(counted) + " times: its BPF stats were not on");
  derive_cost(c, hold);
  return c;
}

CostSampler::CostSampler(BpfSession& session, double window_s) : session_(session) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  sample_.cpus = n > 0 ? uint32_t(n) : 0;
  int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
  if (fd < 0) {
    sample_.error = enable_error(errno);
    ended_ = true;
    return;
  }
  stats_fd_.reset(fd);
  t0_ = Clock::now();
  sample_.before = session_.program_stats();
  sample_.counted_before = session_.hook_runs();
  if (window_s <= 0) return;
  auto window =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(window_s));
  timer_ = std::thread([this, window] {
    std::unique_lock<std::mutex> lock(mu_);
    if (cv_.wait_for(lock, window, [this] { return finishing_; })) return;
    if (!ended_) end_window();
  });
}

CostSampler::~CostSampler() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    finishing_ = true;
  }
  cv_.notify_all();
  if (timer_.joinable()) timer_.join();
}

void CostSampler::end_window() {
  sample_.after = session_.program_stats();
  sample_.counted_after = session_.hook_runs();
  sample_.window_s = std::chrono::duration<double>(Clock::now() - t0_).count();
  stats_fd_.reset();
  ended_ = true;
}

CostSample CostSampler::finish() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    finishing_ = true;
    if (!ended_) end_window();
  }
  cv_.notify_all();
  if (timer_.joinable()) timer_.join();
  return sample_;
}

}  // namespace lockscope
