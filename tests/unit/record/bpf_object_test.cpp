// SPDX-License-Identifier: Apache-2.0
// The BPF object and the hook catalogue agree: one program per catalogued
// hook (tracepoints twice: tp_btf and raw_tp), no program the catalogue does
// not know, and the maps' default capacities are the ones record documents.
// Opening a BPF object parses it without loading: no root needed.
#include "lockscope/probe/hooks.hpp"

#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include <set>

#include "floor.skel.h"
#include "lockscope.skel.h"
#include "lockscope/bpf_shared.h"
#include "lockscope/core/bpf_raii.hpp"
#include "lockscope/core/metrics.hpp"
#include "lockscope/probe/probe.hpp"
#include "lockscope/record/session.hpp"

namespace lockscope {
namespace {

using Skel = SkelPtr<lockscope_bpf, lockscope_bpf__destroy>;
using FloorSkel = SkelPtr<floor_bpf, floor_bpf__destroy>;

std::set<std::string> sections_of(bpf_object* obj) {
  std::set<std::string> sections;
  bpf_program* p;
  bpf_object__for_each_program(p, obj) sections.insert(bpf_program__section_name(p));
  return sections;
}

std::set<std::string> catalogue_sections() {
  std::set<std::string> want;
  for (const auto& h : hook_catalogue()) {
    if (h.kind == HookKind::kFentry) {
      want.insert("fentry/" + std::string(h.target));
    } else if (h.kind == HookKind::kFexit) {
      want.insert("fexit/" + std::string(h.target));
    } else {
      want.insert("tp_btf/" + std::string(h.target));
      want.insert("raw_tp/" + std::string(h.target));
    }
  }
  return want;
}

TEST(HookCatalogue, MatchesTheBpfObject) {
  Skel skel(lockscope_bpf__open());
  ASSERT_TRUE(skel) << "cannot open the BPF object";
  EXPECT_EQ(sections_of(skel->obj), catalogue_sections());
}

// record --floor loads the floor object's programs by the same section names:
// one missing here would leave a hook out of the floor.
TEST(HookCatalogue, TheFloorHasAnEmptyProgramForEveryHook) {
  FloorSkel skel(floor_bpf__open());
  ASSERT_TRUE(skel) << "cannot open the floor's BPF object";
  EXPECT_EQ(sections_of(skel->obj), catalogue_sections());
}

TEST(HookCatalogue, EverySourceHasAHook) {
  unsigned provided = 0;
  for (const auto& h : hook_catalogue()) provided |= h.provides;
  for (const auto& m : metric_catalogue())
    for (unsigned alt : m.needs) EXPECT_EQ(alt & ~provided, 0u) << m.name;
}

TEST(HookCatalogue, ProbeExaminesEveryHook) {
  std::set<std::string> f(probe_functions().begin(), probe_functions().end());
  std::set<std::string> t(probe_tracepoints().begin(), probe_tracepoints().end());
  for (const auto& h : hook_catalogue()) {
    if (is_function_hook(h))
      EXPECT_EQ(f.count(h.target), 1u) << h.target;
    else
      EXPECT_EQ(t.count(std::string(h.category) + ":" + h.target), 1u) << h.target;
  }
}

TEST(HookCatalogue, MapDefaultsAreRecordsDefaults) {
  Skel skel(lockscope_bpf__open());
  ASSERT_TRUE(skel);
  SessionOptions o;
  EXPECT_EQ(bpf_map__max_entries(skel->maps.site_hists), o.site_entries);
  EXPECT_EQ(bpf_map__max_entries(skel->maps.stacks), o.stack_entries);
  EXPECT_EQ(bpf_map__max_entries(skel->maps.inflight), o.inflight_entries);
  EXPECT_EQ(o.stack_entries, uint32_t(LS_DEFAULT_STACK_ENTRIES));
}

}  // namespace
}  // namespace lockscope
