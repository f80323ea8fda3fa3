// SPDX-License-Identifier: Apache-2.0
// The hook catalogue: every kernel function and tracepoint lockscope's BPF
// programs attach to (bpf/lockscope.bpf.c), what each provides, and which
// backend loads it. The probe examines exactly these; the load plan
// (src/record/load_plan.cpp) decides from them; a unit test checks that the
// BPF object holds one program per entry. A new hook is added here first.
#pragma once

#include <string>
#include <vector>

namespace lockscope {

enum class HookKind {
  kFentry,      // SEC("fentry/<function>"): on entry
  kFexit,       // SEC("fexit/<function>"): on return, with the return value
  kTracepoint,  // SEC("tp_btf/<name>"), with a SEC("raw_tp/<name>") twin
};

// The backends (families of programs) that load a hook.
enum HookFamily : unsigned {
  kFamilyFentry = 1u << 0,      // function hooks, with the tracepoints they rely on
  kFamilyTracepoint = 1u << 1,  // the tracepoint backend's own view
};

struct HookInfo {
  HookKind kind;
  const char* target;    // kernel function, or tracepoint name without its category
  const char* category;  // tracepoint category ("lock", "sched", "workqueue"); "" for functions
  // MetricSource bits (lockscope/core/metrics.hpp) this hook contributes to.
  unsigned provides;
  // A source it provides needs it (else it only adds attribution or
  // learns lock addresses, and the backend goes on without it). A source
  // no hook is required for is there when any hook providing it is.
  bool required;
  unsigned families;  // HookFamily bits
  const char* purpose;
  // MetricSource bits this hook is needed for without providing them: it
  // learns lock addresses, names sites or closes holds left open. A metric
  // selection (record --metrics) keeps a hook that provides or serves a
  // source one of the selected metrics needs, and drops the others.
  unsigned serves = 0;
};

const std::vector<HookInfo>& hook_catalogue();
// "fentry/<function>", "fexit/<function>" or "tracepoint/<name>": how
// refusals and docs name a hook.
std::string hook_name(const HookInfo& h);
// Function hooks (fentry and fexit) are the fentry backend's.
inline bool is_function_hook(const HookInfo& h) { return h.kind != HookKind::kTracepoint; }

}  // namespace lockscope
