// SPDX-License-Identifier: Apache-2.0
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <regex>
#include <sstream>

#include "lockscope/workloads/workload.hpp"

namespace lockscope {

const std::vector<std::string>& test_workqueue_scopes() {
  static const std::vector<std::string> s = {"cpu",   "smt",  "cache_shard",
                                             "cache", "numa", "system"};
  return s;
}

namespace {
constexpr size_t kMaxRowLength = 1024;

bool finite_number(const std::string& digits, double* out) {
  errno = 0;
  double v = std::strtod(digits.c_str(), nullptr);
  if (errno == ERANGE || !std::isfinite(v)) return false;
  *out = v;
  return true;
}
}  // namespace

std::vector<TestWorkqueueRow> parse_test_workqueue(const std::string& text) {
  // Anything may precede the module prefix: "[  12.3] test_workqueue: ..." or
  // "<6>test_workqueue: ...". Numbers may carry thousands separators.
  static const std::regex row(
      R"(test_workqueue:\s+([a-z_]+)\s+([0-9][0-9,]*)\s+items/sec\s+p50=([0-9]+)\s+p90=([0-9]+)\s+p95=([0-9]+)\s*ns)");
  std::vector<TestWorkqueueRow> rows;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    // std::regex matches recursively (stack depth grows with the line): real
    // rows are short, so longer lines are not rows and are never matched.
    if (line.size() > kMaxRowLength || line.find("test_workqueue:") == std::string::npos) continue;
    std::smatch m;
    if (!std::regex_search(line, m, row)) continue;
    std::string n = m[2].str();
    n.erase(std::remove(n.begin(), n.end(), ','), n.end());
    TestWorkqueueRow r;
    r.scope = m[1].str();
    // A number beyond double range is not a real row: skip it (std::stod threw).
    if (!finite_number(n, &r.items_per_sec) || !finite_number(m[3].str(), &r.p50_ns) ||
        !finite_number(m[4].str(), &r.p90_ns) || !finite_number(m[5].str(), &r.p95_ns))
      continue;
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
