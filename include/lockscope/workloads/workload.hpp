// SPDX-License-Identifier: Apache-2.0
// Workloads that drive the workqueue while lockscope measures: the pty round
// trip (user space, no module) and the kernel's own test_workqueue module.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lockscope/core/kernel_symbol.hpp"
#include "lockscope/core/profile.hpp"

namespace lockscope {

// One row the test_workqueue module prints per affinity scope:
//   "test_workqueue:   <scope> <N> items/sec p50=<ns> p90=<ns> p95=<ns> ns"
struct TestWorkqueueRow {
  std::string scope;
  double items_per_sec = 0;
  double p50_ns = 0;
  double p90_ns = 0;
  double p95_ns = 0;
};

// Parses every test_workqueue row found in `text` (a kernel log, console
// capture or dmesg output; other lines are ignored). Rows keep their order.
std::vector<TestWorkqueueRow> parse_test_workqueue(const std::string& text);

// The six affinity scopes test_workqueue runs, in its order.
const std::vector<std::string>& test_workqueue_scopes();

// A parsed row as a workload result (name "test_workqueue").
WorkloadResult to_workload_result(const TestWorkqueueRow& row, uint32_t threads, uint64_t items);

// One workload measurement. run() blocks until the measurement is done or
// stop_requested() (signals.hpp) turns true; it notices a stop within about
// 100 ms and then throws lockscope::Error(kExitInconclusive, "interrupted").
class Workload {
 public:
  virtual ~Workload() = default;
  virtual std::string name() const = 0;
  // True when the workload follows /sys/module/workqueue/parameters/
  // default_affinity_scope (pty): run_plan() sets the scope before each run.
  // False when the workload sets scopes itself (test_workqueue runs all six
  // per load): run_plan() runs it once per repetition.
  virtual bool follows_default_scope() const = 0;
  // One measurement. `scope` is the affinity scope in effect (informational;
  // empty for workloads that run every scope themselves). Returns one result
  // per scope measured (pty: one).
  virtual std::vector<WorkloadResult> run(const std::string& scope) = 0;
  // Functions of kernel code the last run() loaded and unloaded again
  // (test_workqueue's module), which /proc/kallsyms no longer lists when the
  // run is read: their addresses during that run. Empty for most workloads.
  virtual std::vector<KernelSymbol> unloaded_symbols() const { return {}; }
};

struct PtyOptions {
  uint32_t threads = 0;           // producer threads; 0 = number of online CPUs
  uint64_t items_per_thread = 0;  // round trips per thread (when duration_s == 0)
  double duration_s = 0;          // run each measurement this long instead
  uint32_t warmup_items = 50;     // untimed round trips per thread before timing
};

// One pty pair, slave in raw mode (cfmakeraw). round_trip() writes one byte
// to the master and waits (poll, 100 ms slices) until it is readable on the
// slave, then reads it: the byte goes through the pty's flush_to_ldisc work
// item on events_unbound, almost always queued for it (a write while that
// item is still pending queues nothing: a few in 6000 under load).
// Returns false, without completing, when stop_requested() turns true.
// Throws lockscope::Error when the pty cannot be opened or an I/O call fails.
class PtyChannel {
 public:
  PtyChannel();
  ~PtyChannel();
  PtyChannel(const PtyChannel&) = delete;
  PtyChannel& operator=(const PtyChannel&) = delete;
  bool round_trip();
  int master_fd() const { return master_; }
  int slave_fd() const { return slave_; }

 private:
  int master_ = -1;
  int slave_ = -1;
};

// N producer threads, each with its own pty pair (slave in raw mode): write one
// byte to the master, wait until it is readable on the slave. Every byte is one
// flush_to_ldisc work item on the unbound workqueue events_unbound.
std::unique_ptr<Workload> make_pty_workload(const PtyOptions& opts);

struct TestWorkqueueOptions {
  std::string module_path;  // empty = the running kernel's test_workqueue.ko
  uint32_t threads = 0;     // nr_threads; 0 = module default
  uint64_t items = 0;       // wq_items (per thread); 0 = module default
};

// Loads the kernel's lib/test_workqueue module (finit_module) and parses the
// per-scope rows it prints to the kernel log. Errors name the path tried:
// missing file -> kExitUsage (explicit path) or kExitUnsupported (default).
std::unique_ptr<Workload> make_test_workqueue_workload(const TestWorkqueueOptions& opts);
// Where the running kernel keeps test_workqueue.ko (first existing candidate,
// or the uncompressed candidate when none exists).
std::string default_test_workqueue_path();
// The message text of /dev/kmsg records ("pri,seq,ts,flags;msg"), one
// message a line; dictionary continuation lines (" KEY=value") are dropped.
std::string kmsg_records_to_text(const std::string& raw);

}  // namespace lockscope
