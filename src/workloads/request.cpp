// SPDX-License-Identifier: Apache-2.0
// Command-line words -> a workload and its plan, shared by `bench` and
// `record --workload`.
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "lockscope/core/error.hpp"
#include "lockscope/workloads/plan.hpp"

namespace lockscope {

namespace {
constexpr uint64_t kDefaultPtyItems = 20000;
}

PreparedWorkload prepare_workload(const WorkloadRequest& r) {
  // 1. Input (exit 2), before anything touches the kernel.
  std::string wl = r.workload, module_path;
  if (auto eq = wl.find('='); eq != std::string::npos) {
    module_path = wl.substr(eq + 1);
    wl = wl.substr(0, eq);
    if (wl != "test_workqueue" || module_path.empty())
      throw usage_error("bad --workload '" + r.workload + "'",
                        "use pty, test_workqueue or test_workqueue=PATH.ko");
  }
  if (wl != "pty" && wl != "test_workqueue")
    throw usage_error("unknown workload '" + r.workload + "'",
                      "use pty, test_workqueue or test_workqueue=PATH.ko");
  std::vector<std::string> scopes = parse_scope_list(r.scope);
  if (r.threads != kUnsetCount && r.threads <= 0) throw usage_error("--threads must be positive");
  if (r.threads > 4096) throw usage_error("--threads must be at most 4096");
  if (r.items != kUnsetCount && r.items <= 0) throw usage_error("--items must be positive");
  if (r.duration < 0) throw usage_error("--duration must be positive");
  if (r.runs <= 0) throw usage_error("--runs must be positive");
  if (r.items > 0 && r.duration > 0) throw usage_error("give --items or --duration, not both");
  if (wl == "test_workqueue" && r.duration > 0)
    throw usage_error("--duration applies to the pty workload only");

  // 2. Environment (exit 4).
  if (geteuid() != 0)
    throw unsupported("the " + wl + " workload needs root",
                      wl == "pty" ? "it sets " + std::string(kDefaultAffinityScopePath) +
                                        " per run; run it with sudo"
                                  : "it loads a kernel module; run it with sudo");

  PreparedWorkload pw;
  pw.name = wl;
  pw.plan.runs = uint32_t(r.runs);
  if (wl == "pty") {
    PtyOptions po;
    po.threads = r.threads > 0 ? uint32_t(r.threads) : 0;
    po.duration_s = r.duration;
    po.items_per_thread = r.duration > 0 ? 0 : (r.items > 0 ? uint64_t(r.items) : kDefaultPtyItems);
    pw.workload = make_pty_workload(po);
    if (access(pw.plan.scope_path.c_str(), F_OK) != 0 && errno == ENOENT) {
      pw.plan.scopes = scopes;  // no scopes on this kernel: run_plan runs unscoped, or says why not
      return pw;
    }
    AffinityScopeGuard probe;
    for (const auto& s : scopes) {
      if (probe.try_set(s))
        pw.plan.scopes.push_back(s);
      else
        std::fprintf(stderr,
                     "lockscope: affinity scope '%s' is not supported by this kernel; skipped\n",
                     s.c_str());
    }
    probe.restore();
    if (pw.plan.scopes.empty())
      throw unsupported("none of the requested affinity scopes is supported by this kernel");
  } else {
    TestWorkqueueOptions to;
    to.module_path = module_path;
    to.threads = r.threads > 0 ? uint32_t(r.threads) : 0;
    to.items = r.items > 0 ? uint64_t(r.items) : 0;
    pw.workload = make_test_workqueue_workload(to);
    pw.plan.scopes = scopes;
  }
  return pw;
}

}  // namespace lockscope
