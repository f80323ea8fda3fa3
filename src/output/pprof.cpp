// SPDX-License-Identifier: Apache-2.0
// report --format pprof: the stacks as a gzipped profile.proto (the format of
// github.com/google/pprof, proto/profile.proto), the message set a lock
// profile needs: Profile, ValueType, Sample, Label, Location, Line, Function
// and the string table. Encoded by hand; zlib writes the gzip wrapper.
#include <zlib.h>

#include <cmath>
#include <map>
#include <stdexcept>

#include "internal.hpp"
#include "lockscope/core/error.hpp"

namespace lockscope::output {
namespace detail {

namespace {

// Protocol buffers wire format: varints, and length-delimited fields.
struct Proto {
  std::string b;
  void varint(uint64_t v) {
    while (v >= 0x80) {
      b += char((v & 0x7f) | 0x80);
      v >>= 7;
    }
    b += char(v);
  }
  void key(uint32_t field, uint32_t wire) { varint((uint64_t(field) << 3) | wire); }
  void u64(uint32_t field, uint64_t v) {  // int64/uint64 fields (wire type 0)
    if (v == 0) return;                   // proto3 default
    key(field, 0);
    varint(v);
  }
  void bytes(uint32_t field, const std::string& s) {
    key(field, 2);
    varint(s.size());
    b += s;
  }
  void packed(uint32_t field, const std::vector<uint64_t>& v) {
    if (v.empty()) return;
    Proto p;
    for (uint64_t x : v) p.varint(x);
    bytes(field, p.b);
  }
};

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
  Proto p;
  p.u64(1, st(type));
  p.u64(2, st(unit));
  return p.b;
}

std::string gzip(const std::string& data) {
  z_stream z{};
  // windowBits 15 + 16: a gzip header and trailer around the deflate stream.
  if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("zlib: deflateInit2 failed");
  std::string out(deflateBound(&z, uLong(data.size())) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = uInt(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = uInt(out.size());
  int rc = deflate(&z, Z_FINISH);
  size_t n = z.total_out;
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("zlib: deflate did not finish");
  out.resize(n);
  return out;
}

}  // namespace

std::string render_pprof(const Profile& p, const Selection& s, const ReportOptions& o) {
  bool root = false;
  std::vector<StackSample> stacks = selected_stacks(p, s, o, &root);
  Strings st;
  Proto prof;
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
    Proto sample;
    sample.packed(1, locs);
    sample.packed(2, {sm.count, sm.ns});
    Proto label;  // metric=<name>, for -tagfocus/-tagshow
    label.u64(1, st("metric"));
    label.u64(2, st(sm.metric));
    sample.bytes(3, label.b);
    prof.bytes(2, sample.b);
  }
  for (size_t i = 0; i < names.size(); ++i) {
    uint64_t id = i + 1;
    Proto line;
    line.u64(1, id);  // function_id
    Proto loc;
    loc.u64(1, id);
    loc.bytes(4, line.b);
    prof.bytes(4, loc.b);
    Proto fn;
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
