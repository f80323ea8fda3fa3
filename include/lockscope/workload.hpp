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

#include "lockscope/profile.hpp"

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

// ---------------------------------------------------------------------------
// Workloads
// ---------------------------------------------------------------------------

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
};

struct PtyOptions {
  uint32_t threads = 0;           // producer threads; 0 = number of online CPUs
  uint64_t items_per_thread = 0;  // round trips per thread (when duration_s == 0)
  double duration_s = 0;          // run each measurement this long instead
  uint32_t warmup_items = 50;     // untimed round trips per thread before timing
};

// One pty pair, slave in raw mode (cfmakeraw). round_trip() writes one byte
// to the master and waits (poll, 100 ms slices) until it is readable on the
// slave, then reads it: one flush_to_ldisc work item on events_unbound.
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

// ---------------------------------------------------------------------------
// Affinity scopes
// ---------------------------------------------------------------------------

inline constexpr const char* kDefaultAffinityScopePath =
    "/sys/module/workqueue/parameters/default_affinity_scope";

// Every scope lockscope knows, in the seed's order (== test_workqueue_scopes()).
const std::vector<std::string>& known_scopes();

// Parses "--scope": "all" or a comma-separated list (spaces ignored,
// duplicates dropped, order kept). Unknown names -> usage_error listing the
// valid ones. Empty list -> usage_error.
std::vector<std::string> parse_scope_list(const std::string& text);

// RAII owner of default_affinity_scope: remembers the value at construction
// and writes it back in the destructor (normal return, exception, or a stop
// signal that made the run loop unwind). Not copyable.
class AffinityScopeGuard {
 public:
  explicit AffinityScopeGuard(std::string path = kDefaultAffinityScopePath);
  ~AffinityScopeGuard();
  AffinityScopeGuard(const AffinityScopeGuard&) = delete;
  AffinityScopeGuard& operator=(const AffinityScopeGuard&) = delete;

  const std::string& original() const { return original_; }
  // Writes `scope` and reads it back. Returns false when the kernel refuses it
  // (EINVAL) or silently maps it to another scope (6.x kernels accept
  // "cache_shard" as a prefix match of "cache"). Throws on other errors.
  bool try_set(const std::string& scope);
  std::string current() const;
  // The subset of `wanted` this kernel accepts (each tried, then restored).
  std::vector<std::string> supported(const std::vector<std::string>& wanted);
  void restore();

 private:
  std::string path_;
  std::string original_;
};

// ---------------------------------------------------------------------------
// The scope/repetition plan (bench, record --workload)
// ---------------------------------------------------------------------------

struct PlanStep {
  std::string scope;        // scope to set; empty when the workload sets scopes itself
  uint32_t repetition = 0;  // 0-based
  uint32_t index = 0;       // 0-based position in the plan
  uint32_t total = 0;       // steps in the plan
};

// Interleaves repetitions: cpu smt cache … cpu smt cache … (runs rounds).
std::vector<PlanStep> interleave(const std::vector<std::string>& scopes, uint32_t runs);

struct BenchPlan {
  std::vector<std::string> scopes;  // requested and supported, in order
  uint32_t runs = 1;                // repetitions per scope
  std::string scope_path = kDefaultAffinityScopePath;
};

// Called before a step's workload starts (after its scope is set) and after it
// ended; on_run_end may add lock metrics to the step's runs (one per scope the
// step measured; pty: exactly one). Either may be empty.
using RunStartHook = std::function<void(const PlanStep&)>;
using RunEndHook = std::function<void(const PlanStep&, std::vector<Run>&)>;

// Runs the whole plan, restoring default_affinity_scope on every exit path.
// Returns one Run per (scope, repetition). On a stop request it throws
// Error(kExitInconclusive); `completed` (if given) then holds the runs done.
std::vector<Run> run_plan(Workload& w, const BenchPlan& plan, const RunStartHook& on_run_start,
                          const RunEndHook& on_run_end, std::vector<Run>* completed = nullptr);

// ---------------------------------------------------------------------------
// From command-line words to a workload and its plan (bench, record --workload)
// ---------------------------------------------------------------------------

// A count option the user did not give (any value they give is checked).
inline constexpr int64_t kUnsetCount = std::numeric_limits<int64_t>::min();

struct WorkloadRequest {
  std::string workload = "pty";   // pty | test_workqueue | test_workqueue=PATH.ko
  std::string scope = "all";      // --scope LIST|all
  int64_t threads = kUnsetCount;  // unset = online CPUs (pty) / module default
  int64_t items = kUnsetCount;    // unset = default (20000 per thread for pty)
  double duration = 0;            // pty: seconds per measurement instead of items
  int64_t runs = 3;               // repetitions per scope
};

struct PreparedWorkload {
  std::string name;  // "pty" or "test_workqueue"
  std::unique_ptr<Workload> workload;
  BenchPlan plan;  // scopes this kernel supports, in order
};

// Validates the request (usage_error, exit 2), checks privileges (exit 4),
// keeps the scopes this kernel accepts (says which it skips on stderr).
PreparedWorkload prepare_workload(const WorkloadRequest& req);

// ---------------------------------------------------------------------------
// Summaries and the seed-like table
// ---------------------------------------------------------------------------

struct ScopeSummary {
  std::string scope;
  uint32_t runs = 0;
  double items_per_sec = 0;                  // median over runs
  std::map<std::string, double> latency_ns;  // median of each percentile over runs
};

// One summary per scope, in first-seen order of `runs`.
std::vector<ScopeSummary> summarize(const std::vector<Run>& runs);
double median(std::vector<double> v);
// "interrupted by SIGINT during <what>" (the signal from signals.hpp).
std::string interrupted_message(const std::string& what);
// The table printed by `lockscope bench` (golden-tested).
std::string render_bench_table(const std::vector<ScopeSummary>& rows);
// Thousands separators: 1234567 -> "1,234,567".
std::string group_thousands(uint64_t v);

}  // namespace lockscope
