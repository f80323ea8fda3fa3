// SPDX-License-Identifier: Apache-2.0
// The pty round trip: a user-space producer <-> kworker round trip through the
// unbound workqueue events_unbound (tty_flip_buffer_push -> flush_to_ldisc).
#include <fcntl.h>
#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <exception>
#include <mutex>
#include <thread>

#include "lockscope/core/error.hpp"
#include "lockscope/core/log.hpp"
#include "lockscope/core/signals.hpp"
#include "lockscope/workloads/workload.hpp"

namespace lockscope {
namespace {

constexpr int kPollSliceMs = 100;  // how soon a blocked round trip sees a stop

uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

Error io_error(const std::string& what) {
  return Error(kExitUnsupported, what + ": " + std::strerror(errno),
               "the pty workload needs /dev/ptmx and free file descriptors");
}

}  // namespace

PtyChannel::PtyChannel() {
  master_ = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master_ < 0) throw io_error("posix_openpt");
  if (grantpt(master_) != 0 || unlockpt(master_) != 0) {
    Error e = io_error("grantpt/unlockpt");
    close(master_);
    throw e;
  }
  char name[128];
  if (ptsname_r(master_, name, sizeof name) != 0) {
    Error e = io_error("ptsname_r");
    close(master_);
    throw e;
  }
  slave_ = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave_ < 0) {
    Error e = io_error(std::string("open ") + name);
    close(master_);
    throw e;
  }
  termios t;
  if (tcgetattr(slave_, &t) != 0) {
    Error e = io_error("tcgetattr");
    close(slave_);
    close(master_);
    throw e;
  }
  cfmakeraw(&t);  // no echo, no line discipline processing: one byte in, one byte out
  t.c_cc[VMIN] = 1;
  t.c_cc[VTIME] = 0;
  if (tcsetattr(slave_, TCSANOW, &t) != 0) {
    Error e = io_error("tcsetattr");
    close(slave_);
    close(master_);
    throw e;
  }
}

PtyChannel::~PtyChannel() {
  if (slave_ >= 0) close(slave_);
  if (master_ >= 0) close(master_);
}

bool PtyChannel::round_trip() {
  const char out = 'x';
  for (;;) {
    ssize_t n = write(master_, &out, 1);
    if (n == 1) break;
    if (n < 0 && errno != EINTR && errno != EAGAIN) throw io_error("write to pty master");
    if (stop_requested()) return false;
  }
  char in[16];
  for (;;) {
    pollfd p = {slave_, POLLIN, 0};
    int r = poll(&p, 1, kPollSliceMs);
    if (r > 0) {
      ssize_t n = read(slave_, in, sizeof in);
      if (n >= 1) return true;
      if (n < 0 && errno != EINTR && errno != EAGAIN) throw io_error("read from pty slave");
    } else if (r < 0 && errno != EINTR) {
      throw io_error("poll on pty slave");
    }
    if (stop_requested()) return false;
  }
}

namespace {

class PtyWorkload final : public Workload {
 public:
  explicit PtyWorkload(const PtyOptions& o) : opts_(o) {
    if (opts_.threads == 0) {
      long n = sysconf(_SC_NPROCESSORS_ONLN);
      opts_.threads = n > 0 ? uint32_t(n) : 1;
    }
    if (opts_.items_per_thread == 0 && opts_.duration_s <= 0)
      throw usage_error("pty workload: give a positive item count or duration");
  }

  std::string name() const override { return "pty"; }
  bool follows_default_scope() const override { return true; }

  std::vector<WorkloadResult> run(const std::string& scope) override {
    const uint32_t n = opts_.threads;
    // Open every pair up front so setup errors surface here, not in a thread.
    std::vector<std::unique_ptr<PtyChannel>> chans;
    for (uint32_t i = 0; i < n; ++i) chans.push_back(std::make_unique<PtyChannel>());

    struct PerThread {
      Histogram hist;
      uint64_t items = 0;
      std::exception_ptr error;
    };
    std::vector<PerThread> per(n);
    std::mutex mu;
    std::condition_variable cv;
    uint32_t ready = 0;
    bool go = false;
    std::atomic<bool> abort{false};
    uint64_t deadline = 0;  // set before `go`

    auto body = [&](uint32_t i) {
      PerThread& me = per[i];
      PtyChannel& ch = *chans[i];
      try {
        for (uint32_t w = 0; w < opts_.warmup_items; ++w)
          if (!ch.round_trip()) break;
        {
          std::unique_lock<std::mutex> lk(mu);
          ++ready;
          cv.notify_all();
          cv.wait(lk, [&] { return go; });
        }
        const bool timed = opts_.duration_s > 0;
        for (uint64_t k = 0;; ++k) {
          if (!timed && k >= opts_.items_per_thread) break;
          if (abort.load(std::memory_order_relaxed) || stop_requested()) break;
          uint64_t t0 = now_ns();
          if (!ch.round_trip()) break;
          uint64_t t1 = now_ns();
          me.hist.add(t1 - t0);
          ++me.items;
          if (timed && t1 >= deadline) break;
        }
      } catch (...) {
        me.error = std::current_exception();
        abort.store(true);
        std::lock_guard<std::mutex> lk(mu);
        ++ready;  // never leave the starter waiting
        cv.notify_all();
      }
    };

    std::vector<std::thread> threads;
    threads.reserve(n);
    for (uint32_t i = 0; i < n; ++i) threads.emplace_back(body, i);
    uint64_t t_start;
    {
      std::unique_lock<std::mutex> lk(mu);
      cv.wait(lk, [&] { return ready >= n; });
      t_start = now_ns();
      deadline = t_start + uint64_t(opts_.duration_s * 1e9);
      go = true;
    }
    cv.notify_all();
    for (auto& t : threads) t.join();
    const uint64_t t_end = now_ns();

    for (auto& p : per)
      if (p.error) std::rethrow_exception(p.error);
    if (stop_requested()) throw Error(kExitInconclusive, interrupted_message("the pty workload"));

    WorkloadResult r;
    r.name = "pty";
    r.scope = scope;
    r.threads = n;
    Histogram all;
    for (auto& p : per) {
      r.items += p.items;
      all.merge(p.hist);
    }
    r.duration_s = double(t_end - t_start) / 1e9;
    r.items_per_sec = r.duration_s > 0 ? double(r.items) / r.duration_s : 0;
    for (auto [key, p] :
         {std::pair<const char*, double>{"p50", 50}, {"p90", 90}, {"p95", 95}, {"p99", 99}})
      r.latency_ns[key] = all.percentile(p);
    r.latency = std::move(all);
    log::debug("pty: scope {} threads {} items {} in {:.3f} s", scope, n, r.items, r.duration_s);
    return {r};
  }

 private:
  PtyOptions opts_;
};

}  // namespace

std::unique_ptr<Workload> make_pty_workload(const PtyOptions& opts) {
  return std::make_unique<PtyWorkload>(opts);
}

}  // namespace lockscope
