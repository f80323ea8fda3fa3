// SPDX-License-Identifier: Apache-2.0
// FeatureSource backed by the running kernel: BTF look-ups and empty programs
// that are really loaded and attached (a policy can refuse what BTF offers).
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include "featprobe.skel.h"
#include "lockscope/core/bpf_raii.hpp"
#include "lockscope/core/log.hpp"
#include "lockscope/probe/probe.hpp"

namespace lockscope {
namespace {

using FeatSkel = SkelPtr<featprobe_bpf, featprobe_bpf__destroy>;

std::string errno_detail(int err) {
  switch (err) {
    case EPERM:
      return "refused by the kernel (EPERM): lockdown or a security policy forbids this program "
             "type";
    case EACCES: return "refused by the verifier (EACCES)";
    case ENOENT:
    case ESRCH: return "not found in kernel BTF (inlined or absent)";
    case EINVAL:
      return "the kernel rejected it (EINVAL): function not traceable, or a helper the program "
             "calls is withheld (lockdown=confidentiality withholds bpf_probe_read_kernel)";
    case ENOTSUP: return "not supported by this kernel (ENOTSUP)";
    default: return std::string(std::strerror(err));
  }
}

class KernelFeatures final : public FeatureSource {
 public:
  explicit KernelFeatures(std::string btf_path) : custom_btf_(std::move(btf_path)) {}
  ~KernelFeatures() override { btf__free(btf_); }

  bool btf_available() override { return vmlinux() != nullptr; }

  std::string btf_path() override {
    return custom_btf_.empty() ? std::string("/sys/kernel/btf/vmlinux") : custom_btf_;
  }

  bool function_in_btf(const std::string& name) override {
    auto it = in_btf_.find(name);
    if (it != in_btf_.end()) return it->second;
    bool found = vmlinux() && btf__find_by_name_kind(vmlinux(), name.c_str(), BTF_KIND_FUNC) >= 0;
    return in_btf_[name] = found;
  }

  std::string param_pointee(const std::string& func, unsigned index) override {
    if (!vmlinux()) return {};
    int id = btf__find_by_name_kind(vmlinux(), func.c_str(), BTF_KIND_FUNC);
    if (id < 0) return {};
    const btf_type* f = btf__type_by_id(vmlinux(), id);
    const btf_type* proto = btf__type_by_id(vmlinux(), f->type);
    if (!proto || !btf_is_func_proto(proto) || index >= btf_vlen(proto)) return {};
    const btf_param* params = btf_params(proto);
    const btf_type* t = btf__type_by_id(vmlinux(), params[index].type);
    // Follow pointers, typedefs and qualifiers down to a named struct.
    for (int depth = 0; t && depth < 8; ++depth) {
      if (btf_is_ptr(t) || btf_is_typedef(t) || btf_is_mod(t)) {
        t = btf__type_by_id(vmlinux(), t->type);
        continue;
      }
      if (btf_is_struct(t) || btf_is_union(t)) return btf__name_by_offset(vmlinux(), t->name_off);
      break;
    }
    return {};
  }

  AttachResult try_fentry(const std::string& func) override {
    return cached(fentry_, func, [&] { return try_attach(Kind::kFentry, func); });
  }
  AttachResult try_fexit(const std::string& func) override {
    return cached(fexit_, func, [&] { return try_attach(Kind::kFexit, func); });
  }
  AttachResult try_tp_btf(const std::string& tp) override {
    return cached(tp_btf_, tp, [&] { return try_attach(Kind::kTpBtf, tp); });
  }
  AttachResult try_raw_tp(const std::string& tp) override {
    return cached(raw_tp_, tp, [&] { return try_attach(Kind::kRawTp, tp); });
  }
  AttachResult try_read_kernel() override {
    return cached(programs_, "read", [&] { return try_attach(Kind::kReadKernel, ""); });
  }
  AttachResult try_btf_walk() override {
    return cached(programs_, "walk", [&] { return try_attach(Kind::kBtfWalk, ""); });
  }

  std::vector<std::string> kernel_symbols(const std::string& name) override {
    if (!kallsyms_loaded_) {
      kallsyms_loaded_ = true;
      std::ifstream in("/proc/kallsyms");
      std::string addr, type, sym;
      while (in >> addr >> type >> sym) {
        if (type != "t" && type != "T") continue;
        if (in.peek() == '\t') in.ignore(1 << 20, '\n');  // "[module]": not vmlinux
        kallsyms_.push_back(sym);
      }
    }
    std::vector<std::string> out;
    for (const auto& s : kallsyms_)
      if (s == name ||
          (s.size() > name.size() && s.compare(0, name.size(), name) == 0 && s[name.size()] == '.'))
        out.push_back(s);
    return out;
  }

  std::string read_host_file(const std::string& path) override {
    std::ifstream in(path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  struct btf* vmlinux() {
    if (!btf_loaded_) {
      btf_loaded_ = true;
      btf_ =
          custom_btf_.empty() ? btf__load_vmlinux_btf() : btf__parse(custom_btf_.c_str(), nullptr);
      if (!btf_) log::debug("no BTF at {}: {}", btf_path(), std::strerror(errno));
    }
    return btf_;
  }

  template <typename F>
  AttachResult cached(std::map<std::string, AttachResult>& cache, const std::string& key, F f) {
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
    return cache[key] = f();
  }

  static AttachResult failure(int err, const std::string& stage) {
    AttachResult r;
    r.err = err;
    r.detail = stage + ": " + errno_detail(err);
    return r;
  }

  enum class Kind { kFentry, kFexit, kTpBtf, kRawTp, kReadKernel, kBtfWalk };

  // Loads one program of featprobe.bpf.c (the others off) and, for the
  // hook kinds, attaches it to `target`; the program kinds are loaded only
  // (the verifier is what refuses them).
  AttachResult try_attach(Kind kind, const std::string& target) {
    LIBBPF_OPTS(bpf_object_open_opts, opts);
    if (!custom_btf_.empty()) opts.btf_custom_path = custom_btf_.c_str();
    FeatSkel skel(featprobe_bpf__open_opts(&opts));
    if (!skel) return failure(errno, "open");
    const bool raw = kind == Kind::kRawTp;
    bpf_program* keep = kind == Kind::kFentry       ? skel->progs.empty_fentry
                        : kind == Kind::kFexit      ? skel->progs.empty_fexit
                        : kind == Kind::kReadKernel ? skel->progs.reads_kernel
                        : kind == Kind::kBtfWalk    ? skel->progs.walks_btf
                                                    : skel->progs.empty_tp_btf;
    bpf_program* p;
    bpf_object__for_each_program(p, skel->obj) bpf_program__set_autoload(p, p == keep);
    if (kind == Kind::kReadKernel || kind == Kind::kBtfWalk) {
      if (int err = featprobe_bpf__load(skel.get())) return failure(-err, "load");
      return {true, 0, {}};
    }
    if (raw) {
      // raw_tp needs no BTF target: attach by name after load.
      bpf_program__set_type(keep, BPF_PROG_TYPE_RAW_TRACEPOINT);
      bpf_program__set_expected_attach_type(keep, BPF_TRACE_RAW_TP);
    } else if (int err = bpf_program__set_attach_target(keep, 0, target.c_str())) {
      return failure(-err, "target");
    }
    if (int err = featprobe_bpf__load(skel.get())) return failure(-err, "load");
    LinkPtr link(raw ? bpf_program__attach_raw_tracepoint(keep, target.c_str())
                     : bpf_program__attach(keep));
    if (!link) return failure(errno, "attach");
    return {true, 0, {}};
  }

  std::string custom_btf_;
  bool btf_loaded_ = false;
  struct btf* btf_ = nullptr;
  std::map<std::string, bool> in_btf_;
  std::map<std::string, AttachResult> fentry_, fexit_, tp_btf_, raw_tp_, programs_;
  bool kallsyms_loaded_ = false;
  std::vector<std::string> kallsyms_;
};

}  // namespace

std::unique_ptr<FeatureSource> make_kernel_features(const std::string& btf_path) {
  return std::make_unique<KernelFeatures>(btf_path);
}

}  // namespace lockscope
