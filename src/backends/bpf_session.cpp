// SPDX-License-Identifier: Apache-2.0
// The libbpf side of recording: open -> configure -> load -> attach, each
// program switched on only where the probe found its hook usable, every link
// owned by RAII, and the per-CPU maps read back and merged.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <set>

#include "lockscope.skel.h"
#include "lockscope/bpf_raii.hpp"
#include "lockscope/bpf_shared.h"
#include "lockscope/error.hpp"
#include "lockscope/log.hpp"
#include "lockscope/record.hpp"

namespace lockscope {

static_assert(sizeof(ls_hist) == 8 * (5 + LS_HIST_BUCKETS), "ls_hist layout");
static_assert(sizeof(ls_site_key) == 16, "ls_site_key layout");
static_assert(sizeof(ls_count_key) == 16, "ls_count_key layout");
static_assert(sizeof(ls_cpu_state) % 8 == 0, "per-CPU values are 8-byte strided");

Backend parse_backend(const std::string& s) {
  if (s == "auto") return Backend::kAuto;
  if (s == "fentry") return Backend::kFentry;
  if (s == "tracepoint") return Backend::kTracepoint;
  if (s == "both") return Backend::kBoth;
  throw usage_error("unknown backend '" + s + "'", "use one of: auto, fentry, tracepoint, both");
}

const char* backend_name(Backend b) {
  switch (b) {
    case Backend::kAuto: return "auto";
    case Backend::kFentry: return "fentry";
    case Backend::kTracepoint: return "tracepoint";
    case Backend::kBoth: return "both";
  }
  return "?";
}

namespace {

using Skel = SkelPtr<lockscope_bpf, lockscope_bpf__destroy>;

bool is_core_hook(const std::string& fn) {
  for (const char* h : kCoreFentryHooks)
    if (fn == h) return true;
  return false;
}

struct Prog {
  bpf_program* prog;
  std::string kind;    // fentry | tp_btf | raw_tp
  std::string target;  // function or tracepoint name
};

std::vector<Prog> programs_of(lockscope_bpf* skel) {
  std::vector<Prog> out;
  bpf_program* p;
  bpf_object__for_each_program(p, skel->obj) {
    std::string sec = bpf_program__section_name(p);
    auto slash = sec.find('/');
    out.push_back(
        {p, sec.substr(0, slash), slash == std::string::npos ? "" : sec.substr(slash + 1)});
  }
  return out;
}

// Tracepoints each backend needs. Learning lock addresses (queue_work for
// pools, sched_switch for rq locks) and contention waits serve the fentry
// metrics too; the workqueue life cycle and sched_waking are the
// tracepoint backend's own view.
bool tracepoint_wanted(const std::string& tp, bool want_fentry, bool want_tp) {
  if (want_tp) return true;
  (void)want_fentry;
  return tp == "contention_begin" || tp == "contention_end" || tp == "workqueue_queue_work" ||
         tp == "sched_switch";
}

class Session final : public BpfSession {
 public:
  Session(const SessionOptions& o, const ProbeReport& probe) {
    bool fentry_ok = true;
    std::string fentry_why;
    for (const char* h : kCoreFentryHooks)
      if (!probe.fentry_ok(h)) {
        fentry_ok = false;
        const FunctionStatus* f = probe.function(h);
        fentry_why = std::string(h) + ": " + (f ? f->fentry.detail : std::string("not probed"));
        break;
      }
    bool want_fentry = false, want_tp = false;
    switch (o.backend) {
      case Backend::kAuto:
        want_fentry = fentry_ok;
        want_tp = !fentry_ok;
        break;
      case Backend::kFentry:
        if (!fentry_ok)
          throw unsupported(
              "the fentry backend cannot run on this kernel (" + fentry_why + ")",
              "use --backend tracepoint (or auto) here; function hooks work on kernels "
              "without lockdown, e.g. under QEMU (`lockscope ab`)");
        want_fentry = true;
        break;
      case Backend::kTracepoint: want_tp = true; break;
      case Backend::kBoth:
        if (!fentry_ok)
          throw unsupported(
              "--backend both needs fentry, which this kernel refuses (" + fentry_why + ")",
              "use --backend tracepoint here");
        want_fentry = want_tp = true;
        break;
    }
    if (o.backend == Backend::kAuto)
      log::info("backend auto: {} ({})", want_fentry ? "fentry" : "tracepoint",
                want_fentry ? "fentry attaches to the spinlock and wakeup functions"
                            : "fentry unavailable: " + fentry_why);

    LIBBPF_OPTS(bpf_object_open_opts, opts);
    if (!o.btf_path.empty()) opts.btf_custom_path = o.btf_path.c_str();
    skel_.reset(lockscope_bpf__open_opts(&opts));
    if (!skel_)
      throw unsupported(std::string("cannot open lockscope's BPF object: ") + std::strerror(errno));

    // configure
    skel_->rodata->track_sites = o.track_sites;
    skel_->rodata->track_stacks = o.track_sites && o.track_stacks;
    stacks_ = o.track_sites && o.track_stacks;
    skel_->rodata->track_wq_latency = want_tp;
    want_tp_ = want_tp;
    bpf_map__set_max_entries(skel_->maps.site_hists, o.site_entries);
    bpf_map__set_max_entries(skel_->maps.stacks, o.stack_entries);
    bpf_map__set_max_entries(skel_->maps.inflight, o.inflight_entries);

    std::set<std::string> tp_chosen;                // tp_btf wins over raw_tp
    std::map<std::string, std::string> tp_missing;  // wanted tracepoint -> why not
    for (const Prog& p : programs_of(skel_.get())) {
      bool load = false;
      if (p.kind == "fentry") {
        if (want_fentry && probe.fentry_ok(p.target)) {
          load = true;
        } else if (want_fentry || !fentry_ok) {
          const FunctionStatus* f = probe.function(p.target);
          refused_.push_back({"fentry/" + p.target,
                              f ? f->fentry.detail : "not in kernel BTF (inlined away or absent)"});
        }
      } else if (tracepoint_wanted(p.target, want_fentry, want_tp)) {
        const TracepointStatus* t = probe.tracepoint(p.target);
        if (!t)
          tp_missing[p.target] = "not probed";
        else if (p.kind == "tp_btf")
          load = t->tp_btf.ok && !o.force_raw_tp;
        else
          load = (!t->tp_btf.ok || o.force_raw_tp) && (t->raw_tp.ok || o.force_raw_tp);
        if (load)
          tp_chosen.insert(p.target);
        else if (t && !t->usable())
          tp_missing[p.target] = "tp_btf: " + t->tp_btf.detail + "; raw_tp: " + t->raw_tp.detail;
      }
      bpf_program__set_autoload(p.prog, load);
      if (load) planned_.push_back(p);
    }
    for (const auto& [tp, why] : tp_missing)
      if (!tp_chosen.count(tp)) refused_.push_back({"tracepoint/" + tp, why});

    // load
    if (int err = lockscope_bpf__load(skel_.get()))
      throw unsupported(
          std::string("loading lockscope's BPF programs failed: ") + std::strerror(-err),
          "run with -vv to see the verifier log");

    if (o.stats) {
      int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
      if (fd < 0)
        log::warn("cannot enable kernel BPF stats: {}", std::strerror(errno));
      else
        stats_fd_.reset(fd);
    }

    // attach, one program at a time: a refusal names its hook
    for (const Prog& p : planned_) {
      std::string name = p.kind + "/" + p.target;
      LinkPtr link(bpf_program__attach(p.prog));
      if (!link) {
        int err = errno;
        if (p.kind == "fentry" && is_core_hook(p.target))
          throw unsupported("cannot attach " + name + ": " + std::strerror(err));
        refused_.push_back({name, std::string("attach: ") + std::strerror(err)});
        continue;
      }
      links_.push_back(std::move(link));
      attached_.push_back(name);
      attached_progs_.push_back(p);
      if (p.kind == "fentry") has_fentry_ = true;
    }
    if (links_.empty()) throw unsupported("no lockscope program could be attached on this kernel");
    ncpus_ = libbpf_num_possible_cpus();
    if (ncpus_ <= 0) throw unsupported("cannot count possible CPUs");
    log::info("attached {} programs ({} refused)", attached_.size(), refused_.size());
  }

  // The mode chosen: the fentry backend also attaches the tracepoints that
  // learn lock addresses and time contended waits; that is still "fentry".
  std::string backend() const override {
    if (has_fentry_ && want_tp_) return "fentry+tracepoint";
    return has_fentry_ ? "fentry" : "tracepoint";
  }
  const std::vector<std::string>& attached() const override { return attached_; }
  const std::vector<HookRefusal>& refused() const override { return refused_; }

  Snapshot snapshot() override {
    Snapshot s;
    s.hook_events = hook_events() - events_base_;
    s.counters.assign(LS_C_MAX, 0);
    {
      std::vector<uint64_t> buf(ncpus_);
      int fd = bpf_map__fd(skel_->maps.counters);
      for (uint32_t k = 0; k < LS_C_MAX; ++k)
        if (bpf_map_lookup_elem(fd, &k, buf.data()) == 0)
          for (int c = 0; c < ncpus_; ++c) s.counters[k] += buf[c];
    }
    s.hists.assign(LS_NR_HISTS, Histogram{});
    {
      std::vector<ls_hist> buf(ncpus_);
      int fd = bpf_map__fd(skel_->maps.hists);
      for (uint32_t k = 0; k < LS_NR_HISTS; ++k)
        if (bpf_map_lookup_elem(fd, &k, buf.data()) == 0)
          for (int c = 0; c < ncpus_; ++c) s.hists[k].merge_bpf(buf[c]);
    }
    {
      std::vector<ls_hist> buf(ncpus_);
      int fd = bpf_map__fd(skel_->maps.site_hists);
      for (const ls_site_key& key : map_keys<ls_site_key>(skel_->maps.site_hists)) {
        if (bpf_map_lookup_elem(fd, &key, buf.data()) != 0) continue;
        Snapshot::SiteHist sh{key.metric, key.kind, key.site, {}};
        for (int c = 0; c < ncpus_; ++c) sh.hist.merge_bpf(buf[c]);
        s.site_hists.push_back(std::move(sh));
      }
    }
    {
      std::vector<uint64_t> buf(ncpus_);
      int fd = bpf_map__fd(skel_->maps.site_counts);
      for (const ls_count_key& key : map_keys<ls_count_key>(skel_->maps.site_counts)) {
        if (bpf_map_lookup_elem(fd, &key, buf.data()) != 0) continue;
        uint64_t n = 0;
        for (int c = 0; c < ncpus_; ++c) n += buf[c];
        s.site_counts.push_back({key.counter, key.context, key.site, n});
      }
    }
    s.stack_sites = stacks_;
    if (stacks_) {
      int fd = bpf_map__fd(skel_->maps.stacks);
      std::set<int64_t> wanted;
      for (const auto& sh : s.site_hists)
        if (sh.metric == LS_M_POOL_HOLD) wanted.insert(int64_t(sh.site));
      for (const auto& sc : s.site_counts)
        if (sc.counter != LS_SC_KWORKER_WAKING) wanted.insert(int64_t(sc.site));
      std::vector<uint64_t> ips(LS_STACK_DEPTH);
      for (int64_t id : wanted) {
        uint32_t k = uint32_t(id);
        if (id < 0 || bpf_map_lookup_elem(fd, &k, ips.data()) != 0) continue;
        std::vector<uint64_t> frames;
        for (uint64_t ip : ips)
          if (ip) frames.push_back(ip);
        s.stacks[id] = frames;
      }
    }
    {
      int fd = bpf_map__fd(skel_->maps.func_wq);
      char name[24];
      for (uint64_t key : map_keys<uint64_t>(skel_->maps.func_wq)) {
        if (bpf_map_lookup_elem(fd, &key, name) == 0)
          s.func_wq[key] = std::string(name, strnlen(name, sizeof name));
      }
    }
    return s;
  }

  void reset() override {
    events_base_ = hook_events();
    zero_percpu_array(skel_->maps.counters, LS_C_MAX, sizeof(uint64_t));
    zero_percpu_array(skel_->maps.hists, LS_NR_HISTS, sizeof(ls_hist));
    clear_map<ls_site_key>(skel_->maps.site_hists);
    clear_map<ls_count_key>(skel_->maps.site_counts);
    clear_map<uint32_t>(skel_->maps.stacks);
  }

  std::vector<ProgramStats> program_stats() override {
    std::vector<ProgramStats> out;
    for (const Prog& p : attached_progs_) {
      bpf_prog_info info = {};
      uint32_t len = sizeof(info);
      ProgramStats st;
      st.name = bpf_program__name(p.prog);
      st.attach = p.kind + "/" + p.target;
      if (bpf_obj_get_info_by_fd(bpf_program__fd(p.prog), &info, &len) == 0) {
        st.run_cnt = info.run_cnt;
        st.run_time_ns = info.run_time_ns;
        st.recursion_misses = info.recursion_misses;
      }
      out.push_back(st);
    }
    return out;
  }

 private:
  // Sum of cpu_state.events over the CPUs (live state: never zeroed).
  uint64_t hook_events() {
    uint32_t zero = 0;
    std::vector<ls_cpu_state> buf(ncpus_);
    if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.cpu_state), &zero, buf.data()) != 0) return 0;
    uint64_t n = 0;
    for (const auto& st : buf) n += st.events;
    return n;
  }

  void zero_percpu_array(bpf_map* m, uint32_t entries, size_t value_size) {
    size_t stride = (value_size + 7) & ~size_t(7);
    std::vector<char> zero(stride * size_t(ncpus_), 0);
    int fd = bpf_map__fd(m);
    for (uint32_t k = 0; k < entries; ++k) bpf_map_update_elem(fd, &k, zero.data(), BPF_ANY);
  }

  // Every key of a hash map (read first, so callers may delete while walking).
  template <typename Key>
  std::vector<Key> map_keys(bpf_map* m) {
    int fd = bpf_map__fd(m);
    std::vector<Key> keys;
    Key key{}, next{};
    const void* prev = nullptr;
    while (bpf_map_get_next_key(fd, prev, &next) == 0) {
      keys.push_back(next);
      key = next;
      prev = &key;
    }
    return keys;
  }

  template <typename Key>
  void clear_map(bpf_map* m) {
    int fd = bpf_map__fd(m);
    for (const Key& k : map_keys<Key>(m)) bpf_map_delete_elem(fd, &k);
  }

  Skel skel_;
  UniqueFd stats_fd_;
  std::vector<Prog> planned_;
  std::vector<Prog> attached_progs_;
  std::vector<LinkPtr> links_;  // destroyed before skel_: detaches first
  std::vector<std::string> attached_;
  std::vector<HookRefusal> refused_;
  bool has_fentry_ = false;
  bool stacks_ = false;
  bool want_tp_ = false;
  int ncpus_ = 0;
  uint64_t events_base_ = 0;
};

}  // namespace

std::unique_ptr<BpfSession> open_session(const SessionOptions& opts, const ProbeReport& probe) {
  return std::make_unique<Session>(opts, probe);
}

Coverage coverage_of(const BpfSession& s, const ProbeReport& probe) {
  Coverage c;
  auto has = [&](const std::string& name) {
    for (const auto& a : s.attached())
      if (a.size() > name.size() && a.compare(a.size() - name.size(), name.size(), name) == 0 &&
          a[a.size() - name.size() - 1] == '/')
        return true;
    return false;
  };
  c.fentry = has("try_to_wake_up") && has("_raw_spin_lock") && has("_raw_spin_unlock");
  if (!c.fentry) {
    const FunctionStatus* f = probe.function("_raw_spin_lock");
    c.fentry_reason = "needs fentry on the spinlock functions and try_to_wake_up";
    if (f && !f->fentry.ok)
      c.fentry_reason += " (" + f->fentry.detail + ")";
    else if (f)
      c.fentry_reason += " (not selected: --backend tracepoint)";
  }
  c.contention = has("contention_begin") && has("contention_end");
  c.rq_learning = has("sched_switch");
  c.workqueue =
      has("workqueue_queue_work") && has("workqueue_execute_start") && has("workqueue_execute_end");
  c.waking = has("sched_waking");
  return c;
}

}  // namespace lockscope
