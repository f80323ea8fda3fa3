// SPDX-License-Identifier: Apache-2.0
// The libbpf side of recording: open -> configure -> load -> attach, the
// programs the load plan names and no others, every link owned by RAII, and
// the per-CPU maps read back and merged.
#include "lockscope/record/session.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <utility>
#include <vector>

#include "floor.skel.h"
#include "lockscope.skel.h"
#include "lockscope/core/bpf_raii.hpp"
#include "lockscope/core/error.hpp"
#include "lockscope/core/log.hpp"
#include "lockscope/record/snapshot.hpp"

namespace lockscope {

static_assert(sizeof(ls_hist) == 8 * (5 + LS_HIST_BUCKETS), "ls_hist layout");
static_assert(sizeof(ls_site_key) == 16, "ls_site_key layout");
static_assert(sizeof(ls_count_key) == 16, "ls_count_key layout");
static_assert(sizeof(ls_cpu_state) % 8 == 0, "per-CPU values are 8-byte strided");

namespace {

using Skel = SkelPtr<lockscope_bpf, lockscope_bpf__destroy>;
using FloorSkel = SkelPtr<floor_bpf, floor_bpf__destroy>;

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
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

// The programs of one BPF object that the plan names: selected for loading,
// attached one at a time (a refusal names its hook; a required one ends the
// session), their links owned, their kernel run-time stats read.
struct Programs {
  struct Program {
    bpf_program* prog;
    std::string section;  // "fentry/_raw_spin_lock", "tp_btf/sched_switch", ...
  };

  explicit Programs(const LoadPlan& plan) : refused(plan.refused) {}

  // Before load: only the plan's sections are loaded.
  void select(bpf_object* obj, const LoadPlan& plan) {
    bpf_program* p;
    bpf_object__for_each_program(p, obj) {
      std::string section = bpf_program__section_name(p);
      bool load = contains(plan.programs, section);
      bpf_program__set_autoload(p, load);
      if (load) planned.push_back({p, section});
    }
  }

  void enable_stats() {
    int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
    if (fd < 0)
      log::warn("cannot enable kernel BPF stats: {}", std::strerror(errno));
    else
      stats_fd.reset(fd);
  }

  void attach(const LoadPlan& plan) {
    for (const Program& prog : planned) {
      LinkPtr link(bpf_program__attach(prog.prog));
      if (!link) {
        int err = errno;
        if (contains(plan.required, prog.section))
          throw unsupported("cannot attach " + prog.section + ": " + std::strerror(err));
        refused.push_back({prog.section, std::string("attach: ") + std::strerror(err)});
        continue;
      }
      links.push_back(std::move(link));
      attached.push_back(prog.section);
      attached_progs.push_back(prog);
    }
    if (links.empty()) throw unsupported("no lockscope program could be attached on this kernel");
  }

  std::vector<ProgramStats> stats() const {
    std::vector<ProgramStats> out;
    for (const Program& p : attached_progs) {
      bpf_prog_info info = {};
      uint32_t len = sizeof(info);
      ProgramStats st;
      st.name = bpf_program__name(p.prog);
      st.attach = p.section;
      if (bpf_obj_get_info_by_fd(bpf_program__fd(p.prog), &info, &len) == 0) {
        st.run_cnt = info.run_cnt;
        st.run_time_ns = info.run_time_ns;
        st.recursion_misses = info.recursion_misses;
      }
      out.push_back(st);
    }
    return out;
  }

  UniqueFd stats_fd;
  std::vector<Program> planned, attached_progs;
  std::vector<LinkPtr> links;
  std::vector<std::string> attached;
  std::vector<HookRefusal> refused;
};

// Opens (parses, does not load) a skeleton with the session's BTF: the
// first step of both sessions. `what` names the object in the error.
template <typename Obj>
Obj* open_skeleton(Obj* (*open)(const bpf_object_open_opts*), const LoadPlan& plan,
                   const SessionOptions& o, const char* what) {
  if (plan.backend == "none") throw unsupported("no lockscope program can run on this kernel");
  LIBBPF_OPTS(bpf_object_open_opts, opts);
  if (!o.btf_path.empty()) opts.btf_custom_path = o.btf_path.c_str();
  Obj* obj = open(&opts);
  if (!obj) throw unsupported(std::string("cannot open ") + what + ": " + std::strerror(errno));
  return obj;
}

class Session final : public BpfSession {
 public:
  Session(const LoadPlan& plan, const SessionOptions& o) : programs_(plan) {
    skel_.reset(open_skeleton(lockscope_bpf__open_opts, plan, o, "lockscope's BPF object"));

    // configure
    skel_->rodata->track_sites = plan.track_sites;
    skel_->rodata->track_stacks = plan.track_stacks;
    skel_->rodata->track_wq_latency = plan.track_wq_latency;
    skel_->rodata->waits_from_hooks = plan.waits_from_hooks;
    skel_->rodata->time_holds = plan.time_holds;
    skel_->rodata->can_read_kernel = plan.can_read_kernel;
    stacks_ = plan.track_stacks;
    bpf_map__set_max_entries(skel_->maps.site_hists, o.site_entries);
    bpf_map__set_max_entries(skel_->maps.stacks, o.stack_entries);
    bpf_map__set_max_entries(skel_->maps.inflight, o.inflight_entries);
    programs_.select(skel_->obj, plan);

    // load
    if (int err = lockscope_bpf__load(skel_.get()))
      throw unsupported(
          std::string("loading lockscope's BPF programs failed: ") + std::strerror(-err),
          "run with -vv to see the verifier log");
    if (o.stats) programs_.enable_stats();

    programs_.attach(plan);
    ncpus_ = libbpf_num_possible_cpus();
    if (ncpus_ <= 0) throw unsupported("cannot count possible CPUs");
    log::info("attached {} programs ({} refused)", attached().size(), refused().size());
  }

  const std::vector<std::string>& attached() const override { return programs_.attached; }
  const std::vector<HookRefusal>& refused() const override { return programs_.refused; }

  Snapshot snapshot() override {
    Snapshot s = Snapshot::zeroed();
    read_runs(s);
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
    read_counts(s);
    s.stack_sites = stacks_;
    if (stacks_) read_stacks(s);
    {
      int fd = bpf_map__fd(skel_->maps.func_wq);
      char name[LS_WQ_NAME_LEN];
      for (uint64_t key : map_keys<uint64_t>(skel_->maps.func_wq)) {
        if (bpf_map_lookup_elem(fd, &key, name) == 0)
          s.func_wq[key] = std::string(name, strnlen(name, sizeof name));
      }
    }
    return s;
  }

  // Zeroes what a run counts, except the level counters (kLevelCounters):
  // the rq locks are learned within moments of attaching, and a run that
  // began after that would otherwise say none were.
  void reset() override {
    int counters = bpf_map__fd(skel_->maps.counters);
    std::vector<uint64_t> per_cpu(size_t(ncpus_), 0);
    std::vector<std::pair<uint32_t, uint64_t>> kept;
    for (uint32_t id : kLevelCounters) {
      uint64_t sum = 0;
      if (bpf_map_lookup_elem(counters, &id, per_cpu.data()) == 0)
        for (uint64_t v : per_cpu) sum += v;
      kept.emplace_back(id, sum);
    }
    zero_percpu_array(skel_->maps.cpu_state, 1, sizeof(ls_cpu_state));
    zero_percpu_array(skel_->maps.counters, LS_C_MAX, sizeof(uint64_t));
    for (const auto& [id, sum] : kept) {
      std::fill(per_cpu.begin(), per_cpu.end(), 0);
      per_cpu[0] = sum;
      bpf_map_update_elem(counters, &id, per_cpu.data(), BPF_ANY);
    }
    zero_percpu_array(skel_->maps.hists, LS_NR_HISTS, sizeof(ls_hist));
    clear_map<ls_site_key>(skel_->maps.site_hists);
    clear_map<ls_count_key>(skel_->maps.site_counts);
    clear_map<uint32_t>(skel_->maps.stacks);
  }

  std::vector<uint64_t> hook_runs() override {
    Snapshot s = Snapshot::zeroed();
    read_runs(s);
    return s.runs;
  }

  std::vector<ProgramStats> program_stats() override { return programs_.stats(); }

 private:
  // Frames of the stacks the site maps refer to (--stacks).
  void read_stacks(Snapshot& s) {
    int fd = bpf_map__fd(skel_->maps.stacks);
    std::set<int64_t> wanted;
    for (const auto& sh : s.site_hists)
      if (sh.metric == LS_M_POOL_HOLD) wanted.insert(int64_t(sh.site));
    for (const auto& sc : s.site_counts)
      if (sc.counter != LS_SC_KWORKER_WAKING) wanted.insert(int64_t(sc.site));
    std::vector<uint64_t> ips(LS_STACK_DEPTH);
    for (int64_t id : wanted) {
      uint32_t k = uint32_t(id);
      // A hold's site is an address unless it was a stack.
      if (!Snapshot::is_stack_id(uint64_t(id)) || bpf_map_lookup_elem(fd, &k, ips.data()) != 0)
        continue;
      std::vector<uint64_t> frames;
      for (uint64_t ip : ips)
        if (ip) frames.push_back(ip);
      s.stacks[id] = frames;
    }
  }

  // The counters, and the per-site counters: site_counts plus what each CPU
  // still counts in its slots (site_count_cached() in bpf/lockscope.bpf.c).
  // An event changes its counter and its site's row while its CPU's site_seq
  // is odd (count_at_site()); site_seq, read before and after, says whether
  // one happened while they were read (a row without its count, or a slot
  // moved into site_counts and counted twice), and then all are read again.
  void read_counts(Snapshot& s) {
    int counters = bpf_map__fd(skel_->maps.counters);
    int fd = bpf_map__fd(skel_->maps.site_counts);
    std::vector<uint64_t> buf(ncpus_);
    std::vector<ls_cpu_state> before, slots, after;
    for (int attempt = 0;; ++attempt) {
      std::fill(s.counters.begin(), s.counters.end(), 0);
      s.site_counts.clear();
      const bool have_before = read_cpu_state(before);
      for (uint32_t k = 0; k < LS_C_MAX; ++k)
        if (bpf_map_lookup_elem(counters, &k, buf.data()) == 0)
          for (int c = 0; c < ncpus_; ++c) s.counters[k] += buf[c];
      for (const ls_count_key& key : map_keys<ls_count_key>(skel_->maps.site_counts)) {
        if (bpf_map_lookup_elem(fd, &key, buf.data()) != 0) continue;
        uint64_t n = 0;
        for (int c = 0; c < ncpus_; ++c) n += buf[c];
        s.site_counts.push_back({key.counter, key.context, key.site, n});
      }
      // Without the per-CPU state: the counters and the map as read.
      if (!have_before || !read_cpu_state(slots) || !read_cpu_state(after)) return;
      bool steady = true;
      for (int c = 0; c < ncpus_; ++c)
        steady = steady && before[c].site_seq == after[c].site_seq && !(after[c].site_seq & 1);
      if (steady || attempt == 9) {
        if (!steady) log::debug("counters kept moving while read; taken as read");
        break;
      }
    }
    for (const ls_cpu_state& st : slots)
      for (uint32_t k = 0; k < LS_SC_MAX; ++k)
        if (const ls_site_slot& slot = st.site_slot[k]; slot.n)
          s.site_counts.push_back({k, uint32_t(slot.context), slot.site, slot.n});
  }

  bool read_cpu_state(std::vector<ls_cpu_state>& buf) {
    uint32_t zero = 0;
    buf.resize(size_t(ncpus_));
    return bpf_map_lookup_elem(bpf_map__fd(skel_->maps.cpu_state), &zero, buf.data()) == 0;
  }

  // Program runs by class, summed over the CPUs (zeroed by reset()).
  void read_runs(Snapshot& s) {
    std::vector<ls_cpu_state> buf;
    if (!read_cpu_state(buf)) return;
    for (const auto& st : buf)
      for (uint32_t c = 0; c < LS_RUN_MAX; ++c) {
        s.runs[c] += st.runs[c];
        s.hook_events += st.runs[c];
      }
  }

  void zero_percpu_array(bpf_map* m, uint32_t entries, size_t value_size) {
    size_t stride = (value_size + 7) & ~size_t(7);
    std::vector<char> zero(stride * size_t(ncpus_), 0);
    int fd = bpf_map__fd(m);
    for (uint32_t k = 0; k < entries; ++k) bpf_map_update_elem(fd, &k, zero.data(), BPF_ANY);
  }

  Skel skel_;
  Programs programs_;  // declared after skel_: its links detach first
  bool stacks_ = false;
  int ncpus_ = 0;
};

// `record --floor`: empty programs on exactly the plan's hooks (bpf/floor.bpf.c).
// Nothing is measured: snapshots are empty, and only the kernel's stats of
// the empty programs (--stats) say anything.
class FloorSession final : public BpfSession {
 public:
  FloorSession(const LoadPlan& plan, const SessionOptions& o) : programs_(plan) {
    skel_.reset(open_skeleton(floor_bpf__open_opts, plan, o, "the floor's BPF object"));
    programs_.select(skel_->obj, plan);
    if (int err = floor_bpf__load(skel_.get()))
      throw unsupported(
          std::string("loading the floor's empty programs failed: ") + std::strerror(-err),
          "run with -vv to see the verifier log");
    if (o.stats) programs_.enable_stats();
    programs_.attach(plan);
    log::info("attached {} empty programs ({} refused)", attached().size(), refused().size());
  }

  const std::vector<std::string>& attached() const override { return programs_.attached; }
  const std::vector<HookRefusal>& refused() const override { return programs_.refused; }
  Snapshot snapshot() override { return Snapshot::zeroed(); }
  std::vector<uint64_t> hook_runs() override { return Snapshot::zeroed().runs; }
  void reset() override {}
  std::vector<ProgramStats> program_stats() override { return programs_.stats(); }

 private:
  FloorSkel skel_;
  Programs programs_;  // declared after skel_: its links detach first
};

}  // namespace

std::unique_ptr<BpfSession> open_session(const LoadPlan& plan, const SessionOptions& opts) {
  if (opts.floor) return std::make_unique<FloorSession>(plan, opts);
  return std::make_unique<Session>(plan, opts);
}

}  // namespace lockscope
