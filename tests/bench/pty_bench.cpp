// SPDX-License-Identifier: Apache-2.0
// What one pty round trip costs, and how much of it is the workqueue:
//   PtyRoundTrip      write to a pty master, poll+read the raw slave: the byte
//                     travels through one flush_to_ldisc item on events_unbound
//                     (queue, kworker wakeup, kworker run, reader wakeup).
//   PipeSameThread    the same write/poll/read syscalls on a pipe, one thread:
//                     the syscall floor, no other task involved.
//   PipePingPong      write to pipe A, an echo thread reads A and writes pipe
//                     B, poll+read B: two cross-thread wakeups, like the pty
//                     round trip but with a user thread instead of a kworker.
// Wall time per item (UseRealTime): the producer sleeps while it waits.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <stdexcept>
#include <thread>

#include "lockscope/workloads/workload.hpp"

namespace {

void wait_readable_and_read(int fd) {
  char buf[16];
  for (;;) {
    pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 1000) > 0 && read(fd, buf, sizeof buf) >= 1) return;
  }
}

void write_byte(int fd) {
  const char c = 'x';
  while (write(fd, &c, 1) != 1) {
  }
}

void BM_PtyRoundTrip(benchmark::State& state) {
  lockscope::PtyChannel ch;
  for (auto _ : state) {
    if (!ch.round_trip()) state.SkipWithError("stopped");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PtyRoundTrip)->UseRealTime()->Threads(1)->Threads(2);

void BM_PipeSameThread(benchmark::State& state) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) {
    state.SkipWithError("pipe2 failed");
    return;
  }
  for (auto _ : state) {
    write_byte(p[1]);
    wait_readable_and_read(p[0]);
  }
  state.SetItemsProcessed(state.iterations());
  close(p[0]);
  close(p[1]);
}
BENCHMARK(BM_PipeSameThread)->UseRealTime()->Threads(1)->Threads(2);

void BM_PipePingPong(benchmark::State& state) {
  int a[2], b[2];
  if (pipe2(a, O_CLOEXEC) != 0 || pipe2(b, O_CLOEXEC) != 0) {
    state.SkipWithError("pipe2 failed");
    return;
  }
  std::thread echo([&] {
    char c;
    // Blocking read: returns 0 when the producer closes its end.
    while (read(a[0], &c, 1) == 1) write_byte(b[1]);
  });
  for (auto _ : state) {
    write_byte(a[1]);
    wait_readable_and_read(b[0]);
  }
  state.SetItemsProcessed(state.iterations());
  close(a[1]);
  echo.join();
  close(a[0]);
  close(b[0]);
  close(b[1]);
}
BENCHMARK(BM_PipePingPong)->UseRealTime()->Threads(1)->Threads(2);

}  // namespace

BENCHMARK_MAIN();
