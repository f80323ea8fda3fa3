// SPDX-License-Identifier: Apache-2.0
// A protocol-buffers wire-format writer, for the two protobuf formats
// lockscope writes by hand (pprof's profile.proto, report --format pprof;
// Prometheus' io.prometheus.client.MetricFamily, lockscope serve): each
// needs a handful of messages, not a code generator and a runtime library.
// Fields are written in the order they are called; a message is a nested
// ProtoWriter's bytes written as a length-delimited field.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace lockscope {

struct ProtoWriter {
  std::string b;

  void varint(uint64_t v) {
    while (v >= 0x80) {
      b += char((v & 0x7f) | 0x80);
      v >>= 7;
    }
    b += char(v);
  }
  void key(uint32_t field, uint32_t wire) { varint((uint64_t(field) << 3) | wire); }
  // int64/uint64/enum fields (wire type 0), left out when 0 (proto3 default).
  void u64(uint32_t field, uint64_t v) {
    if (v == 0) return;
    key(field, 0);
    varint(v);
  }
  // sint32/sint64 fields: zigzag varints.
  static uint64_t zigzag(int64_t v) { return (uint64_t(v) << 1) ^ uint64_t(v >> 63); }
  void s64(uint32_t field, int64_t v) {
    if (v == 0) return;
    key(field, 0);
    varint(zigzag(v));
  }
  // double fields (wire type 1, little-endian IEEE 754), left out when 0.
  void f64(uint32_t field, double v) {
    if (v == 0 && !std::signbit(v)) return;
    key(field, 1);
    uint64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    for (int i = 0; i < 8; ++i) b += char((bits >> (8 * i)) & 0xff);
  }
  // string, bytes and message fields (wire type 2).
  void bytes(uint32_t field, const std::string& s) {
    key(field, 2);
    varint(s.size());
    b += s;
  }
  // packed repeated varints (uint64) and zigzag varints (sint64).
  void packed(uint32_t field, const std::vector<uint64_t>& v) {
    if (v.empty()) return;
    ProtoWriter p;
    for (uint64_t x : v) p.varint(x);
    bytes(field, p.b);
  }
  void packed_signed(uint32_t field, const std::vector<int64_t>& v) {
    if (v.empty()) return;
    ProtoWriter p;
    for (int64_t x : v) p.varint(zigzag(x));
    bytes(field, p.b);
  }
};

}  // namespace lockscope
