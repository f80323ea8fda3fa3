// SPDX-License-Identifier: Apache-2.0
#include "lockscope/probe/probe.hpp"

#include <linux/capability.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "lockscope/core/error.hpp"
#include "lockscope/core/log.hpp"
#include "lockscope/probe/hooks.hpp"

namespace lockscope {

namespace {

std::string read_first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (in) std::getline(in, line);
  return line;
}

std::string lockdown_mode() {
  const char* path = "/sys/kernel/security/lockdown";
  struct stat st;
  if (stat(path, &st) != 0 && geteuid() == 0) {
    // securityfs is usually mounted by the init system; mount it if not.
    if (mount("securityfs", "/sys/kernel/security", "securityfs", 0, nullptr) == 0)
      log::debug("mounted securityfs to read the lockdown mode");
  }
  std::string line = read_first_line(path);
  if (line.empty()) return "unknown";
  // "none [integrity] confidentiality": the bracketed word is in force.
  auto open = line.find('['), close = line.find(']');
  if (open == std::string::npos || close == std::string::npos || close < open) return "unknown";
  return line.substr(open + 1, close - open - 1);
}

struct Caps {
  bool bpf = false, perfmon = false, sys_admin = false;
};

Caps effective_caps() {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  Caps c;
  if (syscall(SYS_capget, &hdr, data) != 0) return c;
  auto has = [&](int cap) { return (data[cap / 32].effective >> (cap % 32)) & 1u; };
  c.sys_admin = has(21);
  c.perfmon = has(38);
  c.bpf = has(39);
  return c;
}

std::string tp_name(const std::string& full) {
  auto colon = full.find(':');
  return colon == std::string::npos ? full : full.substr(colon + 1);
}

}  // namespace

const std::vector<std::string>& probe_functions() {
  static const std::vector<std::string> f = [] {
    std::vector<std::string> v;
    for (const auto& h : hook_catalogue())
      if (h.kind == HookKind::kFentry) v.emplace_back(h.target);
    v.emplace_back("raw_spin_rq_lock_nested");  // inlined at some call sites: see docs/probe.md
    return v;
  }();
  return f;
}

const std::vector<std::string>& probe_tracepoints() {
  static const std::vector<std::string> t = [] {
    std::vector<std::string> v;
    for (const auto& h : hook_catalogue())
      if (h.kind == HookKind::kTracepoint) v.push_back(std::string(h.category) + ":" + h.target);
    return v;
  }();
  return t;
}

const FunctionStatus* ProbeReport::function(const std::string& name) const {
  for (const auto& f : functions)
    if (f.name == name) return &f;
  return nullptr;
}

const TracepointStatus* ProbeReport::tracepoint(const std::string& name) const {
  for (const auto& t : tracepoints)
    if (t.name == name || tp_name(t.name) == name) return &t;
  return nullptr;
}

bool ProbeReport::fentry_ok(const std::string& name) const {
  const FunctionStatus* f = function(name);
  return f && f->fentry.ok;
}

bool ProbeReport::tracepoint_ok(const std::string& name) const {
  const TracepointStatus* t = tracepoint(name);
  return t && t->usable();
}

void classify_patch(FeatureSource& features, ProbeReport& r) {
  bool kick_pool = features.function_in_btf("kick_pool");
  bool pick = features.function_in_btf("kick_pool_pick");
  if (!features.btf_available()) {
    r.patch_state = "unknown";
    r.patch_variant = "";
    r.patch_evidence = "no BTF: the workqueue code cannot be inspected";
    return;
  }
  if (pick) {
    r.patch_state = "post-patch";
    // Merged upstream: kick_pool_pick(pool, struct task_struct **);
    // posted v2: kick_pool_pick(pool, struct wake_q_head *).
    std::string pointee = features.param_pointee("kick_pool_pick", 1);
    if (pointee == "task_struct")
      r.patch_variant = "merged";
    else if (pointee == "wake_q_head")
      r.patch_variant = "posted-v2";
    else
      r.patch_variant = "unknown";
    r.patch_evidence =
        "kick_pool_pick() in BTF" +
        std::string(pointee.empty() ? "" : " (second parameter: struct " + pointee + ")") +
        (kick_pool ? ", kick_pool() too" : ", kick_pool() inlined away");
  } else if (kick_pool) {
    r.patch_state = "pre-patch";
    r.patch_variant = "";
    r.patch_evidence = "kick_pool() in BTF, no kick_pool_pick()";
  } else {
    r.patch_state = "legacy";
    r.patch_variant = "";
    r.patch_evidence = "neither kick_pool() nor kick_pool_pick() in BTF (older workqueue code)";
  }
}

ProbeReport run_probe(FeatureSource& features) {
  ProbeReport r;
  struct utsname u;
  if (uname(&u) == 0) r.kernel_release = u.release;
  r.root = geteuid() == 0;
  Caps caps = effective_caps();
  r.cap_bpf = caps.bpf;
  r.cap_perfmon = caps.perfmon;
  r.cap_sys_admin = caps.sys_admin;
  r.lockdown = lockdown_mode();
  r.btf = features.btf_available();
  r.btf_path = features.btf_path();

  for (const auto& name : probe_functions()) {
    FunctionStatus f;
    f.name = name;
    f.in_btf = features.function_in_btf(name);
    if (f.in_btf)
      f.fentry = features.try_fentry(name);
    else
      f.fentry = {false, ENOENT, "not in kernel BTF (inlined away or absent)"};
    r.functions.push_back(f);
  }
  for (const auto& full : probe_tracepoints()) {
    TracepointStatus t;
    t.name = full;
    t.tp_btf = r.btf ? features.try_tp_btf(tp_name(full))
                     : AttachResult{false, ENOENT, "tp_btf needs kernel BTF"};
    if (!t.tp_btf.ok) t.raw_tp = features.try_raw_tp(tp_name(full));
    r.tracepoints.push_back(t);
  }
  classify_patch(features, r);

  // Hints the user can act on.
  if (!r.root && !(r.cap_bpf && r.cap_perfmon))
    r.hints.emplace_back("not root and no CAP_BPF+CAP_PERFMON: run lockscope as root");
  if (!r.btf)
    r.hints.emplace_back(
        "no kernel BTF: use a kernel with CONFIG_DEBUG_INFO_BTF=y, or pass --btf PATH "
        "(types for CO-RE; fentry and tp_btf still need the kernel's own BTF)");
  if (!features.function_in_btf("kick_pool") && r.patch_state == "post-patch")
    r.hints.emplace_back(
        "kick_pool() is inlined away: wakeups are attributed from stacks and "
        "kick_pool_pick() instead");
  return r;
}

void require_bpf_privileges(const std::string& what) {
  if (geteuid() == 0) return;
  Caps c = effective_caps();
  if (c.sys_admin || (c.bpf && c.perfmon)) return;
  std::string missing = !c.bpf ? "CAP_BPF" : "CAP_PERFMON";
  throw unsupported(what + " needs " + missing + " (and CAP_PERFMON/CAP_BPF) or root",
                    "run it as root, e.g. `sudo lockscope ...`");
}

namespace {

std::string yes_no(bool b) { return b ? "yes" : "no"; }

}  // namespace

std::string probe_report_text(const ProbeReport& r) {
  std::ostringstream o;
  o << "kernel        " << r.kernel_release << "\n";
  o << "BTF           " << (r.btf ? "yes (" + r.btf_path + ")" : "no") << "\n";
  o << "lockdown      " << r.lockdown << "\n";
  o << "privileges    root=" << yes_no(r.root) << " CAP_BPF=" << yes_no(r.cap_bpf)
    << " CAP_PERFMON=" << yes_no(r.cap_perfmon) << "\n";
  o << "patch state   " << r.patch_state;
  if (!r.patch_variant.empty()) o << " (" << r.patch_variant << ")";
  o << "  -- " << r.patch_evidence << "\n\n";
  o << "function                        BTF  fentry\n";
  for (const auto& f : r.functions) {
    char line[160];
    snprintf(line, sizeof line, "%-31s %-4s %s\n", f.name.c_str(), f.in_btf ? "yes" : "no",
             f.fentry.ok ? "attaches" : ("no: " + f.fentry.detail).c_str());
    o << line;
  }
  o << "\ntracepoint                         tp_btf  raw_tp\n";
  for (const auto& t : r.tracepoints) {
    char line[200];
    std::string raw = t.tp_btf.ok ? "-" : (t.raw_tp.ok ? "yes" : "no: " + t.raw_tp.detail);
    snprintf(line, sizeof line, "%-34s %-7s %s\n", t.name.c_str(), t.tp_btf.ok ? "yes" : "no",
             raw.c_str());
    o << line;
  }
  for (const auto& h : r.hints) o << "hint: " << h << "\n";
  return o.str();
}

nlohmann::json probe_report_json(const ProbeReport& r) {
  using nlohmann::json;
  auto attach = [](const AttachResult& a) {
    json j = {{"ok", a.ok}};
    if (!a.ok) {
      j["errno"] = a.err;
      j["reason"] = a.detail;
    }
    return j;
  };
  json funcs = json::array();
  for (const auto& f : r.functions)
    funcs.push_back({{"name", f.name}, {"in_btf", f.in_btf}, {"fentry", attach(f.fentry)}});
  json tps = json::array();
  for (const auto& t : r.tracepoints) {
    json e = {{"name", t.name}, {"tp_btf", attach(t.tp_btf)}, {"usable", t.usable()}};
    if (!t.tp_btf.ok) e["raw_tp"] = attach(t.raw_tp);
    tps.push_back(e);
  }
  json j = {
      {"schema", "lockscope.probe"},
      {"version", 1},
      {"kernel_release", r.kernel_release},
      {"btf", {{"present", r.btf}, {"path", r.btf_path}}},
      {"lockdown", r.lockdown},
      {"privileges",
       {{"root", r.root},
        {"cap_bpf", r.cap_bpf},
        {"cap_perfmon", r.cap_perfmon},
        {"cap_sys_admin", r.cap_sys_admin}}},
      {"functions", funcs},
      {"tracepoints", tps},
      {"patch",
       {{"state", r.patch_state}, {"variant", r.patch_variant}, {"evidence", r.patch_evidence}}},
      {"hints", r.hints},
  };
  return j;
}

}  // namespace lockscope
