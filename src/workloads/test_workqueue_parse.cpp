// SPDX-License-Identifier: Apache-2.0
#include <algorithm>
#include <regex>
#include <sstream>

#include "lockscope/workload.hpp"

namespace lockscope {

const std::vector<std::string>& test_workqueue_scopes() {
  static const std::vector<std::string> s = {"cpu", "smt", "cache_shard", "cache", "numa", "system"};
  return s;
}

std::vector<TestWorkqueueRow> parse_test_workqueue(const std::string& text) {
  // Anything may precede the module prefix: "[  12.3] test_workqueue: ..." or
  // "<6>test_workqueue: ...". Numbers may carry thousands separators.
  static const std::regex row(
      R"(test_workqueue:\s+([a-z_]+)\s+([0-9][0-9,]*)\s+items/sec\s+p50=([0-9]+)\s+p90=([0-9]+)\s+p95=([0-9]+)\s*ns)");
  std::vector<TestWorkqueueRow> rows;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (!std::regex_search(line, m, row)) continue;
    std::string n = m[2].str();
    n.erase(std::remove(n.begin(), n.end(), ','), n.end());
    TestWorkqueueRow r;
    r.scope = m[1].str();
    r.items_per_sec = std::stod(n);
    r.p50_ns = std::stod(m[3].str());
    r.p90_ns = std::stod(m[4].str());
    r.p95_ns = std::stod(m[5].str());
    rows.push_back(r);
  }
  return rows;
}

WorkloadResult to_workload_result(const TestWorkqueueRow& row, uint32_t threads, uint64_t items) {
  WorkloadResult w;
  w.name = "test_workqueue";
  w.scope = row.scope;
  w.threads = threads;
  w.items = items;
  w.items_per_sec = row.items_per_sec;
  if (row.items_per_sec > 0) w.duration_s = double(items) / row.items_per_sec;
  w.latency_ns = {{"p50", row.p50_ns}, {"p90", row.p90_ns}, {"p95", row.p95_ns}};
  return w;
}

}  // namespace lockscope
