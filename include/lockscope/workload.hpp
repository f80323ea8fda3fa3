// SPDX-License-Identifier: Apache-2.0
// Workloads that drive the workqueue while lockscope measures: the pty round
// trip (user space, no module) and the kernel's own test_workqueue module.
#pragma once

#include <cstdint>
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

}  // namespace lockscope
