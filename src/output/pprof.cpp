// SPDX-License-Identifier: Apache-2.0
// report --format pprof: the stacks as a gzipped profile.proto (the format of
// github.com/google/pprof, proto/profile.proto), the message set a lock
// profile needs: Profile, ValueType, Sample, Label, Location, Line, Function
// and the string table. Encoded by hand (lockscope/core/protobuf.hpp), then
// gzipped (lockscope/core/gzip.hpp).
#include <cmath>
#include <map>
#include <stdexcept>

#include "internal.hpp"
#include "lockscope/core/error.hpp"
#include "lockscope/core/gzip.hpp"
#include "lockscope/core/protobuf.hpp"

namespace lockscope::output {
namespace detail {

namespace {

struct Strings {
  std::vector<std::string> table{""};  // index 0 is always ""
  std::map<std::string, uint64_t> index{{"", 0}};
  uint64_t operator()(const std::string& s) {
    auto [it, fresh] = index.emplace(s, table.size());
    if (fresh) table.push_back(s);
    return it->second;
  }
};

std::string value_type(Strings& st, const char* type, const char* unit) {
  ProtoWriter p;
  p.u64(1, st(type));
  p.u64(2, st(unit));
  return p.b;
}

}  // namespace

std::string render_pprof(const Profile& p, const Selection& s, const ReportOptions& o) {
  bool root = false;
  std::vector<StackSample> stacks = selected_stacks(p, s, o, &root);
  Strings st;
  ProtoWriter prof;
  // sample_type (1): contentions/count, delay/nanoseconds, as Go's mutex profiles.
  prof.bytes(1, value_type(st, "contentions", "count"));
  prof.bytes(1, value_type(st, "delay", "nanoseconds"));

  // One function and one location per frame name (kernel functions have no
  // addresses here: the profile keeps names).
  std::map<std::string, uint64_t> loc_of;
  std::vector<std::string> names;
  auto location = [&](const std::string& name) {
    auto [it, fresh] = loc_of.emplace(name, names.size() + 1);
    if (fresh) names.push_back(name);
    return it->second;
  };
  bool any_timed = false;
  for (const auto& sm : stacks) {
    if (sm.count == 0 && sm.ns == 0) continue;
    any_timed |= sm.timed;
    std::vector<uint64_t> locs;  // leaf first
    for (auto it = sm.frames.rbegin(); it != sm.frames.rend(); ++it) locs.push_back(location(*it));
    if (root) locs.push_back(location(sm.metric));
    ProtoWriter sample;
    sample.packed(1, locs);
    sample.packed(2, {sm.count, sm.ns});
    ProtoWriter label;  // metric=<name>, for -tagfocus/-tagshow
    label.u64(1, st("metric"));
    label.u64(2, st(sm.metric));
    sample.bytes(3, label.b);
    prof.bytes(2, sample.b);
  }
  for (size_t i = 0; i < names.size(); ++i) {
    uint64_t id = i + 1;
    ProtoWriter line;
    line.u64(1, id);  // function_id
    ProtoWriter loc;
    loc.u64(1, id);
    loc.bytes(4, line.b);
    prof.bytes(4, loc.b);
    ProtoWriter fn;
    fn.u64(1, id);
    fn.u64(2, st(names[i]));
    fn.u64(3, st(names[i]));
    prof.bytes(5, fn.b);
  }
  Run merged = merged_selection(p, s);
  std::string period_type = value_type(st, "contentions", "count");
  uint64_t default_type = st(any_timed && o.weight == Weight::kTime ? "delay" : "contentions");
  for (const auto& str : st.table) prof.bytes(6, str);
  if (merged.duration_s > 0) prof.u64(10, uint64_t(std::llround(merged.duration_s * 1e9)));
  prof.bytes(11, period_type);
  prof.u64(12, 1);  // period
  prof.u64(14, default_type);
  return gzip(prof.b);
}

}  // namespace detail
}  // namespace lockscope::output
