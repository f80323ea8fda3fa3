// SPDX-License-Identifier: Apache-2.0
#include "lockscope/core/signals.hpp"

#include <signal.h>

#include <atomic>
#include <csignal>
#include <cstring>
#include <initializer_list>

namespace lockscope {
namespace {

std::atomic<int> g_signal{0};
std::atomic<bool> g_stop{false};

extern "C" void on_stop_signal(int sig) {
  g_signal.store(sig);
  g_stop.store(true);
}

}  // namespace

void install_stop_handlers() {
  struct sigaction sa = {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: blocking calls return EINTR
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
}

bool stop_requested() { return g_stop.load(std::memory_order_relaxed); }
int stop_signal() { return g_signal.load(); }
void request_stop() { g_stop.store(true); }
void reset_stop() {
  g_stop.store(false);
  g_signal.store(0);
}

std::string interrupted_message(const std::string& what) {
  int sig = stop_signal();
  std::string name = sig == SIGINT    ? "SIGINT"
                     : sig == SIGTERM ? "SIGTERM"
                     : sig == SIGHUP  ? "SIGHUP"
                     : sig            ? std::string(strsignal(sig))
                                      : "a stop request";
  return "interrupted by " + name + " during " + what;
}

}  // namespace lockscope
