// SPDX-License-Identifier: Apache-2.0
// What this kernel offers lockscope, decided from BTF and from what really
// loads and attaches — never from version numbers.
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

namespace lockscope {

struct AttachResult {
  bool ok = false;
  int err = 0;         // positive errno when !ok
  std::string detail;  // human-readable reason when !ok
};

// The kernel-facing questions the probe asks. The real implementation asks
// the kernel (BTF + loading empty programs); tests substitute a fake.
// Results are cached: every question is asked at most once per instance.
class FeatureSource {
 public:
  virtual ~FeatureSource() = default;
  virtual bool btf_available() = 0;
  virtual std::string btf_path() = 0;
  virtual bool function_in_btf(const std::string& name) = 0;
  // Name of the struct a parameter of `func` points to ("task_struct" for
  // `struct task_struct **`), or empty when unknown.
  virtual std::string param_pointee(const std::string& func, unsigned index) = 0;
  virtual AttachResult try_fentry(const std::string& func) = 0;
  virtual AttachResult try_fexit(const std::string& func) = 0;
  // Whether a program may call bpf_probe_read_kernel() (lockdown=
  // confidentiality withholds it), and may walk BTF-typed pointers: each a
  // tp_btf program that does just that, really loaded.
  virtual AttachResult try_read_kernel() = 0;
  virtual AttachResult try_btf_walk() = 0;
  // Text symbols of /proc/kallsyms named `name` or `name.<suffix>` (compiler
  // clones such as .isra.0 or .constprop.0, which BTF leaves out).
  virtual std::vector<std::string> kernel_symbols(const std::string& name) = 0;
  // What a file of this host says (/proc/cpuinfo, sysfs), "" if unreadable.
  virtual std::string read_host_file(const std::string& path) = 0;
  virtual AttachResult try_tp_btf(const std::string& tp) = 0;
  virtual AttachResult try_raw_tp(const std::string& tp) = 0;
};

// Real kernel; `btf_path` empty = the running kernel's /sys/kernel/btf/vmlinux.
std::unique_ptr<FeatureSource> make_kernel_features(const std::string& btf_path);

struct FunctionStatus {
  std::string name;
  bool in_btf = false;
  AttachResult fentry;  // only tried when in_btf
  AttachResult fexit;   // only tried when in_btf and lockscope has a fexit hook on it
};

struct TracepointStatus {
  std::string name;
  AttachResult tp_btf;
  AttachResult raw_tp;  // tried when tp_btf fails
  bool usable() const { return tp_btf.ok || raw_tp.ok; }
};

struct ProbeReport {
  std::string kernel_release;
  bool btf = false;
  std::string btf_path;
  std::string lockdown;  // none | integrity | confidentiality | unknown
  bool root = false;
  bool cap_bpf = false;
  bool cap_perfmon = false;
  bool cap_sys_admin = false;

  std::vector<FunctionStatus> functions;
  std::vector<TracepointStatus> tracepoints;
  AttachResult read_kernel;  // bpf_probe_read_kernel() allowed
  AttachResult btf_walk;     // BTF pointer walks allowed
  // lock:contention_begin/end fire for contended spinlocks here. They do not
  // where spinlocks take virt_spin_lock() (a virtual machine without
  // paravirt spinlocks, e.g. QEMU TCG): contention_why says so.
  bool contention_fires = true;
  std::string contention_why;

  std::string patch_state;     // pre-patch | post-patch | legacy | unknown
  std::string patch_variant;   // merged | posted-v2 | unknown | "" (not post-patch)
  std::string patch_evidence;  // one line: what BTF said

  std::vector<std::string> hints;  // facts the user can act on (privileges, BTF, inlining)

  const FunctionStatus* function(const std::string& name) const;
  const TracepointStatus* tracepoint(const std::string& name) const;
  bool fentry_ok(const std::string& name) const;
  bool fexit_ok(const std::string& name) const;
  bool tracepoint_ok(const std::string& name) const;
};

// The functions and tracepoints the probe reports on, in report order: every
// hook of the catalogue (lockscope/probe/hooks.hpp), and a few more functions
// whose presence explains what lockscope sees (e.g. raw_spin_rq_lock_nested).
const std::vector<std::string>& probe_functions();
const std::vector<std::string>& probe_tracepoints();

// Host facts (release, lockdown, privileges) are read here; kernel features
// come from `features`.
ProbeReport run_probe(FeatureSource& features);

// Patch state from BTF alone (exposed for tests).
void classify_patch(FeatureSource& features, ProbeReport& report);

// What the probe found. Which backend and metrics `record` gets from it is
// the load plan's answer (lockscope/record/load_plan.hpp); `lockscope probe`
// prints both.
std::string probe_report_text(const ProbeReport& r);
nlohmann::json probe_report_json(const ProbeReport& r);

// Privilege check shared by the BPF-using subcommands: throws Error(kExitUnsupported)
// naming the missing capability.
void require_bpf_privileges(const std::string& what);

}  // namespace lockscope
