// SPDX-License-Identifier: Apache-2.0
// The exposition formats `lockscope serve` answers /metrics in, chosen by
// the scrape's Accept header (docs/prometheus.md): the catalogue of formats,
// the negotiation, and one encoder per format. Pure: no network.
//
//   text         Prometheus text format 0.0.4 (prometheus-cpp's serializer);
//                what a scraper that names nothing gets
//   openmetrics  OpenMetrics 1.0.0 text: counters typed without `_total`,
//                `# UNIT` for seconds, `# EOF` at the end
//   protobuf     delimited io.prometheus.client.MetricFamily messages, each
//                histogram with its classic buckets and, besides, a native
//                (exponential, schema 5) histogram made from lockscope's own
//                buckets: what Prometheus asks for with
//                --enable-feature=native-histograms
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "lockscope/core/histogram.hpp"
#include "lockscope/serve/exposition.hpp"

namespace lockscope::serve {

// In order of preference, least first; a Format is its index in formats().
enum class Format : size_t { kText, kOpenMetrics, kProtobuf };

struct FormatInfo {
  Format format;
  const char* name;          // "text", "openmetrics", "protobuf" (the scrapes_total label)
  const char* content_type;  // the response's Content-Type
};
const std::vector<FormatInfo>& formats();
inline const FormatInfo& format_info(Format f) { return formats()[size_t(f)]; }

// The format to answer an Accept header with: the acceptable media range
// with the highest q (RFC 9110 §12.5.1) among those lockscope writes; at
// equal q a named type before a wildcard, then protobuf, OpenMetrics, text.
// Media types with parameters lockscope does not write (another protobuf
// message or encoding, an OpenMetrics or text version it does not speak)
// do not match. No header, or nothing acceptable: text, as Prometheus'
// own client libraries do.
Format negotiate(const std::string& accept);

// Whether an Accept-Encoding header accepts gzip (`gzip` or `*` with q > 0):
// then the answer is gzipped (Prometheus always asks for it).
bool accepts_gzip(const std::string& accept_encoding);

// The native histogram of `h` (values in nanoseconds, exported in
// seconds): schema 5, i.e. 32 exponential buckets per power of two, bucket
// i holding (2^((i-1)/32), 2^(i/32)] seconds. Each of lockscope's
// log-linear buckets goes whole to the native bucket holding its midpoint
// (lockscope's buckets are linear within a power of two, so no edge but
// the powers of two coincide): a value is then counted at most half a
// lockscope bucket (1/64) away from itself, and a quantile interpolated in
// its native bucket is within 2^(1/32) - 1 + 1/64 (3.8%) of the truth.
// Zero-nanosecond values go to the zero bucket (threshold 0.1 ns).
struct NativeHistogram {
  static constexpr int32_t kSchema = 5;
  static constexpr double kZeroThreshold = 1e-10;
  uint64_t zero_count = 0;
  struct Span {
    int32_t offset;  // gap to the previous span's end (the first: its start index)
    uint32_t length;
  };
  std::vector<Span> spans;
  std::vector<int64_t> deltas;  // each bucket's count minus the previous one's
  // (index, count) of the non-empty buckets, decoded from spans and deltas.
  std::vector<std::pair<int32_t, uint64_t>> buckets() const;
  // The native bucket holding `seconds` (> 0).
  static int32_t index_of(double seconds);
  static double upper_bound(int32_t index);
};
NativeHistogram native_histogram(const Histogram& h);

// The families in each format.
std::string to_text(const std::vector<prometheus::MetricFamily>& families);
std::string to_openmetrics(const std::vector<prometheus::MetricFamily>& families);
std::string to_protobuf(const Exposition& e);
std::string encode(Format f, const Exposition& e);

}  // namespace lockscope::serve
