// SPDX-License-Identifier: Apache-2.0
#include "lockscope/probe/probe.hpp"

#include <linux/capability.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
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
      if (is_function_hook(h) && std::find(v.begin(), v.end(), h.target) == v.end())
        v.emplace_back(h.target);
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

bool ProbeReport::fexit_ok(const std::string& name) const {
  const FunctionStatus* f = function(name);
  return f && f->fexit.ok;
}

bool ProbeReport::tracepoint_ok(const std::string& name) const {
  const TracepointStatus* t = tracepoint(name);
  return t && t->usable();
}

namespace {

// How a workqueue function of the patch is present: in BTF (hookable), as a
// compiler clone that only kallsyms lists ("kick_pool.isra.0": a static
// function BTF leaves out), or not at all (inlined away, or absent).
struct Presence {
  bool btf = false;
  std::string clone;  // kallsyms name when only a clone is there
  bool any() const { return btf || !clone.empty(); }
  std::string what(const std::string& name) const {
    if (btf) return name + "() in BTF";
    return name + "() as " + clone + " in kallsyms (a compiler clone BTF leaves out)";
  }
};

Presence presence(FeatureSource& features, const std::string& name) {
  Presence p;
  p.btf = features.function_in_btf(name);
  if (!p.btf)
    for (const auto& sym : features.kernel_symbols(name))
      if (p.clone.empty()) p.clone = sym;
  return p;
}

// Spinlocks of a virtual machine without paravirt spinlocks take
// virt_spin_lock(), which has no contention tracepoint. A hypervisor with
// no paravirt clock (kvm-clock, Xen, Hyper-V) is the sign of that (QEMU TCG).
void classify_contention(FeatureSource& features, ProbeReport& r) {
  std::string cpuinfo = features.read_host_file("/proc/cpuinfo");
  bool hypervisor = cpuinfo.find(" hypervisor") != std::string::npos;
  std::string clocks =
      features.read_host_file("/sys/devices/system/clocksource/clocksource0/available_clocksource");
  bool paravirt = clocks.find("kvm-clock") != std::string::npos ||
                  clocks.find("xen") != std::string::npos ||
                  clocks.find("hyperv") != std::string::npos;
  if (hypervisor && !paravirt && !clocks.empty()) {
    r.contention_fires = false;
    r.contention_why =
        "lock:contention_begin/end do not fire for spinlocks here: a virtual machine without "
        "paravirt spinlocks (no paravirt clock among: " +
        clocks.substr(0, clocks.find_last_not_of(" \n") + 1) +
        ") takes virt_spin_lock(), which has no tracepoint";
  }
}

}  // namespace

void classify_patch(FeatureSource& features, ProbeReport& r) {
  if (!features.btf_available()) {
    r.patch_state = "unknown";
    r.patch_variant = "";
    r.patch_evidence = "no BTF: the workqueue code cannot be inspected";
    return;
  }
  Presence kick_pool = presence(features, "kick_pool");
  Presence pick = presence(features, "kick_pool_pick");
  if (pick.any()) {
    r.patch_state = "post-patch";
    // Merged upstream: kick_pool_pick(pool, struct task_struct **);
    // posted v2: kick_pool_pick(pool, struct wake_q_head *).
    std::string pointee = pick.btf ? features.param_pointee("kick_pool_pick", 1) : "";
    if (pointee == "task_struct")
      r.patch_variant = "merged";
    else if (pointee == "wake_q_head")
      r.patch_variant = "posted-v2";
    else
      r.patch_variant = "unknown";
    r.patch_evidence =
        pick.what("kick_pool_pick") +
        std::string(pointee.empty() ? "" : " (second parameter: struct " + pointee + ")") +
        (kick_pool.any() ? ", " + kick_pool.what("kick_pool") + " too"
                         : ", kick_pool() inlined away");
  } else if (kick_pool.any()) {
    r.patch_state = "pre-patch";
    r.patch_variant = "";
    r.patch_evidence = kick_pool.what("kick_pool") + ", no kick_pool_pick()";
  } else {
    r.patch_state = "legacy";
    r.patch_variant = "";
    r.patch_evidence =
        "neither kick_pool() nor kick_pool_pick() in BTF or kallsyms (older workqueue code)";
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
    bool exit_hook = false;
    for (const auto& h : hook_catalogue())
      exit_hook = exit_hook || (h.kind == HookKind::kFexit && name == h.target);
    if (f.in_btf) {
      f.fentry = features.try_fentry(name);
      if (exit_hook) f.fexit = features.try_fexit(name);
    } else {
      f.fentry = {false, ENOENT, "not in kernel BTF (inlined away or absent)"};
      if (exit_hook) f.fexit = f.fentry;
    }
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
  if (r.btf) {
    r.read_kernel = features.try_read_kernel();
    r.btf_walk = features.try_btf_walk();
  } else {
    r.read_kernel = r.btf_walk = {false, ENOENT, "needs kernel BTF (a tp_btf program)"};
  }
  classify_patch(features, r);
  classify_contention(features, r);

  // Hints the user can act on.
  if (!r.root && !(r.cap_bpf && r.cap_perfmon))
    r.hints.emplace_back("not root and no CAP_BPF+CAP_PERFMON: run lockscope as root");
  if (!r.btf)
    r.hints.emplace_back(
        "no kernel BTF: use a kernel with CONFIG_DEBUG_INFO_BTF=y, or pass --btf PATH "
        "(types for CO-RE; fentry and tp_btf still need the kernel's own BTF)");
  if (!r.read_kernel.ok && r.btf)
    r.hints.push_back("bpf_probe_read_kernel() is refused (" + r.read_kernel.detail +
                      "): acquirer sites need it; --stacks attributes from kernel stacks instead");
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
  auto verdict = [](const AttachResult& a) {
    return a.ok ? std::string("yes") : "no: " + a.detail;
  };
  o << "probe reads   " << verdict(r.read_kernel) << "\n";
  o << "BTF walks     " << verdict(r.btf_walk) << "\n";
  o << "contention    "
    << (r.contention_fires ? "lock:contention_begin/end can fire for spinlocks"
                           : "no tracepoints: " + r.contention_why)
    << "\n\n";
  o << "function                        BTF  fexit  fentry\n";
  for (const auto& f : r.functions) {
    bool probed_exit = f.fexit.ok || !f.fexit.detail.empty();
    std::string exit = !probed_exit ? "-" : f.fexit.ok ? "yes" : "no";
    std::string entry = f.fentry.ok ? "attaches" : "no: " + f.fentry.detail;
    if (probed_exit && !f.fexit.ok && f.fexit.detail != f.fentry.detail)
      entry += "; fexit: " + f.fexit.detail;
    char line[320];
    snprintf(line, sizeof line, "%-31s %-4s %-6s %s\n", f.name.c_str(), f.in_btf ? "yes" : "no",
             exit.c_str(), entry.c_str());
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
  for (const auto& f : r.functions) {
    json e = {{"name", f.name}, {"in_btf", f.in_btf}, {"fentry", attach(f.fentry)}};
    if (f.fexit.ok || !f.fexit.detail.empty()) e["fexit"] = attach(f.fexit);
    funcs.push_back(e);
  }
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
      {"programs", {{"read_kernel", attach(r.read_kernel)}, {"btf_walk", attach(r.btf_walk)}}},
      {"contention", {{"fires", r.contention_fires}, {"reason", r.contention_why}}},
      {"patch",
       {{"state", r.patch_state}, {"variant", r.patch_variant}, {"evidence", r.patch_evidence}}},
      {"hints", r.hints},
  };
  return j;
}

}  // namespace lockscope
