// SPDX-License-Identifier: Apache-2.0
// The /metrics formats: Accept negotiation, OpenMetrics text, delimited
// protobuf and the native histograms in it (read back with a small wire
// decoder here; the host test has a real Prometheus ingest them).
#include "lockscope/serve/formats.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <regex>
#include <stdexcept>

namespace lockscope::serve {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// What Prometheus 2.42 sends (scrape/scrape.go), without and with
// --enable-feature=native-histograms.
constexpr const char* kPrometheusAccept =
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
constexpr const char* kPrometheusNativeAccept =
    "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,"
    "application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

TEST(ServeFormats, NegotiatesWhatScrapersAskFor) {
  EXPECT_EQ(negotiate(kPrometheusAccept), Format::kOpenMetrics);
  EXPECT_EQ(negotiate(kPrometheusNativeAccept), Format::kProtobuf);
  EXPECT_EQ(negotiate(""), Format::kText);     // no Accept header
  EXPECT_EQ(negotiate("*/*"), Format::kText);  // curl
  EXPECT_EQ(negotiate("text/plain"), Format::kText);
  EXPECT_EQ(negotiate("text/plain;version=0.0.4"), Format::kText);
  EXPECT_EQ(negotiate("application/json"), Format::kText);  // nothing acceptable: text
  // q decides; at equal q a named type wins over a wildcard.
  EXPECT_EQ(negotiate("text/plain;q=0.2, application/vnd.google.protobuf;"
                      "proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.8"),
            Format::kProtobuf);
  EXPECT_EQ(negotiate("application/openmetrics-text;q=0.3, text/plain;q=0.9"), Format::kText);
  EXPECT_EQ(negotiate("*/*, application/openmetrics-text"), Format::kOpenMetrics);
  EXPECT_EQ(negotiate("application/openmetrics-text;q=0, */*"), Format::kText);
  // Quoted parameters, any case.
  EXPECT_EQ(
      negotiate("Application/Vnd.Google.Protobuf; proto=\"io.prometheus.client.MetricFamily\";"
                " encoding=\"delimited\""),
      Format::kProtobuf);
  // What lockscope does not write does not match.
  EXPECT_EQ(negotiate("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
                      "encoding=text"),
            Format::kText);
  EXPECT_EQ(negotiate("application/openmetrics-text;version=2.0.0"), Format::kText);
  EXPECT_EQ(negotiate("text/plain;version=1.0.0"), Format::kText);
}

TEST(ServeFormats, GzipWhenTheEncodingHeaderAllowsIt) {
  EXPECT_TRUE(accepts_gzip("gzip"));  // Prometheus
  EXPECT_TRUE(accepts_gzip("deflate, gzip;q=1.0, *;q=0.5"));
  EXPECT_TRUE(accepts_gzip("*"));
  EXPECT_TRUE(accepts_gzip("X-GZIP"));
  EXPECT_FALSE(accepts_gzip(""));
  EXPECT_FALSE(accepts_gzip("identity"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0, *"));  // named beats the wildcard
  EXPECT_FALSE(accepts_gzip("br, *;q=0"));
}

TEST(ServeFormats, ContentTypesNameEachFormat) {
  EXPECT_EQ(std::string(format_info(Format::kText).content_type),
            "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(std::string(format_info(Format::kOpenMetrics).content_type),
            "application/openmetrics-text; version=1.0.0; charset=utf-8");
  EXPECT_EQ(std::string(format_info(Format::kProtobuf).content_type),
            "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
            "encoding=delimited");
  // A Format is its index in the catalogue (the endpoint indexes by it).
  for (size_t i = 0; i < formats().size(); ++i) EXPECT_EQ(size_t(formats()[i].format), i);
  // The round trip: each content type negotiates its own format.
  for (const auto& f : formats()) EXPECT_EQ(negotiate(f.content_type), f.format) << f.name;
}

MetricFamily counter(const std::string& name, double v, std::vector<ClientMetric::Label> l = {}) {
  MetricFamily f;
  f.name = name;
  f.help = "help of " + name;
  f.type = MetricType::Counter;
  ClientMetric m;
  m.label = std::move(l);
  m.counter.value = v;
  f.metric.push_back(m);
  return f;
}

Exposition small_exposition() {
  Exposition e;
  e.families.push_back(counter("lockscope_lost_events_total", 3, {{"reason", "a \"b\"\\\n"}}));
  MetricFamily g;
  g.name = "lockscope_start_time_seconds";
  g.help = "Unix time";
  g.type = MetricType::Gauge;
  ClientMetric gm;
  gm.gauge.value = 1.5e9;
  g.metric.push_back(gm);
  e.families.push_back(g);
  Histogram h;
  for (uint64_t v : {0, 1000, 2000, 3000, 900000}) h.add(v);
  MetricFamily hf;
  hf.name = "lockscope_wq_queue_latency_seconds";
  hf.help = "latency";
  hf.type = MetricType::Histogram;
  ClientMetric hm;
  fill_histogram(h, hm.histogram);
  hf.metric.push_back(hm);
  e.families.push_back(hf);
  e.histograms[hf.name].push_back(h);
  return e;
}

TEST(ServeFormats, OpenMetricsTypesCountersWithoutTotalAndEndsWithEOF) {
  std::string om = to_openmetrics(small_exposition().families);
  EXPECT_NE(om.find("# TYPE lockscope_lost_events counter\n"), std::string::npos) << om;
  EXPECT_NE(om.find("lockscope_lost_events_total{reason=\"a \\\"b\\\"\\\\\\n\"} 3\n"),
            std::string::npos)
      << om;
  EXPECT_NE(om.find("# TYPE lockscope_start_time_seconds gauge\n# UNIT "
                    "lockscope_start_time_seconds seconds\n"),
            std::string::npos)
      << om;
  EXPECT_NE(om.find("lockscope_start_time_seconds 1500000000\n"), std::string::npos) << om;
  EXPECT_NE(om.find("lockscope_wq_queue_latency_seconds_bucket{le=\"1.28e-07\"} 1\n"),
            std::string::npos)
      << om;
  EXPECT_NE(om.find("lockscope_wq_queue_latency_seconds_bucket{le=\"+Inf\"} 5\n"
                    "lockscope_wq_queue_latency_seconds_sum 0.000906\n"
                    "lockscope_wq_queue_latency_seconds_count 5\n"),
            std::string::npos)
      << om;
  ASSERT_GE(om.size(), 6u);
  EXPECT_EQ(om.substr(om.size() - 6), "# EOF\n");
  EXPECT_EQ(om.find("# EOF"), om.size() - 6);  // once, at the end
  // Every line is a comment or a sample of the family typed before it.
  std::regex sample("^([a-z_]+)(\\{.*\\})? [-+0-9.eInfNa]+$");
  std::string family;
  size_t pos = 0;
  while (pos < om.size()) {
    std::string line = om.substr(pos, om.find('\n', pos) - pos);
    pos += line.size() + 1;
    if (line.rfind("# TYPE ", 0) == 0) {
      family = line.substr(7, line.find(' ', 7) - 7);
      continue;
    }
    if (line[0] == '#') continue;
    std::smatch m;
    ASSERT_TRUE(std::regex_match(line, m, sample)) << line;
    EXPECT_EQ(m[1].str().rfind(family, 0), 0u) << line << " outside its family " << family;
  }
}

// A protobuf wire reader, just enough to read the messages back.
struct Field {
  uint32_t number = 0;
  uint32_t wire = 0;
  uint64_t value = 0;  // varint, fixed64
  std::string bytes;   // length-delimited
};

uint64_t read_varint(const std::string& b, size_t& pos) {
  uint64_t v = 0;
  for (int shift = 0; pos < b.size(); shift += 7) {
    auto c = uint8_t(b[pos++]);
    v |= uint64_t(c & 0x7f) << shift;
    if (!(c & 0x80)) return v;
  }
  throw std::runtime_error("truncated varint");
}

std::vector<Field> read_message(const std::string& b) {
  std::vector<Field> out;
  size_t pos = 0;
  while (pos < b.size()) {
    uint64_t k = read_varint(b, pos);
    Field f;
    f.number = uint32_t(k >> 3);
    f.wire = uint32_t(k & 7);
    if (f.wire == 0) {
      f.value = read_varint(b, pos);
    } else if (f.wire == 1) {
      if (pos + 8 > b.size()) throw std::runtime_error("truncated fixed64");
      for (int i = 0; i < 8; ++i) f.value |= uint64_t(uint8_t(b[pos + size_t(i)])) << (8 * i);
      pos += 8;
    } else if (f.wire == 2) {
      uint64_t n = read_varint(b, pos);
      if (pos + n > b.size()) throw std::runtime_error("truncated bytes");
      f.bytes = b.substr(pos, n);
      pos += n;
    } else {
      throw std::runtime_error("unexpected wire type");
    }
    out.push_back(f);
  }
  return out;
}

double as_double(uint64_t bits) {
  double d;
  std::memcpy(&d, &bits, sizeof d);
  return d;
}
int64_t unzigzag(uint64_t v) { return int64_t(v >> 1) ^ -int64_t(v & 1); }

const Field* field(const std::vector<Field>& m, uint32_t n) {
  for (const auto& f : m)
    if (f.number == n) return &f;
  return nullptr;
}

TEST(ServeFormats, ProtobufIsDelimitedMetricFamiliesWithNativeHistograms) {
  Exposition e = small_exposition();
  std::string pb = to_protobuf(e);
  std::vector<std::vector<Field>> families;
  size_t pos = 0;
  while (pos < pb.size()) {
    uint64_t n = read_varint(pb, pos);
    ASSERT_LE(pos + n, pb.size());
    families.push_back(read_message(pb.substr(pos, n)));
    pos += n;
  }
  ASSERT_EQ(families.size(), 3u);
  // Counter: name, help, type COUNTER (0: absent), value 3, the label.
  EXPECT_EQ(field(families[0], 1)->bytes, "lockscope_lost_events_total");
  EXPECT_EQ(field(families[0], 2)->bytes, "help of lockscope_lost_events_total");
  EXPECT_EQ(field(families[0], 3), nullptr);
  auto metric = read_message(field(families[0], 4)->bytes);
  auto pair = read_message(field(metric, 1)->bytes);
  EXPECT_EQ(field(pair, 1)->bytes, "reason");
  EXPECT_EQ(field(pair, 2)->bytes, "a \"b\"\\\n");
  EXPECT_EQ(as_double(field(read_message(field(metric, 3)->bytes), 1)->value), 3);
  // Gauge: type 1, value in Metric.gauge (2).
  EXPECT_EQ(field(families[1], 3)->value, 1u);
  metric = read_message(field(families[1], 4)->bytes);
  EXPECT_EQ(as_double(field(read_message(field(metric, 2)->bytes), 1)->value), 1.5e9);
  // Histogram: type 4, the classic buckets and the native ones.
  EXPECT_EQ(field(families[2], 3)->value, 4u);
  metric = read_message(field(families[2], 4)->bytes);
  auto h = read_message(field(metric, 7)->bytes);
  EXPECT_EQ(field(h, 1)->value, 5u);
  EXPECT_DOUBLE_EQ(as_double(field(h, 2)->value), 906e-6);
  size_t classic = 0;
  for (const auto& f : h) classic += f.number == 3 ? 1 : 0;
  EXPECT_EQ(classic, bucket_edges_ns().size());
  EXPECT_EQ(unzigzag(field(h, 5)->value), 5);  // schema
  EXPECT_EQ(as_double(field(h, 6)->value), NativeHistogram::kZeroThreshold);
  EXPECT_EQ(field(h, 7)->value, 1u);  // the 0 ns value
  // Spans and deltas decode to the native histogram's own buckets.
  NativeHistogram n;
  for (const auto& f : h) {
    if (f.number == 12) {
      auto s = read_message(f.bytes);
      n.spans.push_back({int32_t(s.empty() || !field(s, 1) ? 0 : unzigzag(field(s, 1)->value)),
                         uint32_t(field(s, 2) ? field(s, 2)->value : 0)});
    }
    if (f.number == 13) {
      size_t p = 0;
      while (p < f.bytes.size()) n.deltas.push_back(unzigzag(read_varint(f.bytes, p)));
    }
  }
  auto decoded = n.buckets();
  auto expected = native_histogram(e.histograms.begin()->second[0]).buckets();
  EXPECT_EQ(decoded, expected);
  ASSERT_EQ(decoded.size(), 4u);  // 1, 2, 3 and 900 us
  uint64_t total = 0;
  for (const auto& [idx, c] : decoded) total += c;
  EXPECT_EQ(total, 4u);
}

TEST(ServeFormats, NativeBucketIndexMatchesItsBounds) {
  for (double x : {1e-9, 1.5e-6, 1e-3, 0.5, 1.0, 2.0, 3.7}) {
    int32_t i = NativeHistogram::index_of(x);
    EXPECT_LE(x, NativeHistogram::upper_bound(i) * (1 + 1e-12)) << x;
    EXPECT_GT(x, NativeHistogram::upper_bound(i - 1)) << x;
  }
  // Powers of two are upper bounds (inclusive).
  EXPECT_EQ(NativeHistogram::index_of(1.0), 0);
  EXPECT_EQ(NativeHistogram::index_of(2.0), 32);
  EXPECT_EQ(NativeHistogram::index_of(0.5), -32);
}

TEST(ServeFormats, NativeHistogramKeepsEveryValueNearItsBucket) {
  // Against the raw values: each lands in the native bucket holding its
  // lockscope bucket's middle, at most half a lockscope bucket away.
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> dist(9.0, 2.5);
  Histogram h;
  for (int i = 0; i < 20000; ++i) h.add(uint64_t(dist(rng)));
  NativeHistogram n = native_histogram(h);
  uint64_t total = n.zero_count;
  for (const auto& [idx, c] : n.buckets()) total += c;
  EXPECT_EQ(total, h.count());
  // Spans: the first offset is a start index, the rest gaps >= 1, lengths >= 1.
  for (size_t i = 1; i < n.spans.size(); ++i) {
    EXPECT_GE(n.spans[i].offset, 1);
    EXPECT_GE(n.spans[i].length, 1u);
  }
  // A quantile from the native buckets (nearest rank, upper bound) is
  // within the documented 3.8% of lockscope's own.
  for (double q : {0.5, 0.9, 0.95, 0.99}) {
    auto rank = uint64_t(std::ceil(q * double(h.count())));
    uint64_t seen = n.zero_count;
    double native = 0;
    for (const auto& [idx, c] : n.buckets()) {
      seen += c;
      if (seen >= rank) {
        native = NativeHistogram::upper_bound(idx) * 1e9;
        break;
      }
    }
    double own = h.quantile(q).value;
    EXPECT_NEAR(native, own, own * (std::exp2(1.0 / 32) - 1 + 1.0 / 64) + 1) << q;
  }
  // An empty histogram is still a native one (a no-op span).
  NativeHistogram empty = native_histogram(Histogram{});
  ASSERT_EQ(empty.spans.size(), 1u);
  EXPECT_EQ(empty.spans[0].length, 0u);
  EXPECT_TRUE(empty.deltas.empty());
}

TEST(ServeFormats, EncodeDispatchesOnTheFormat) {
  Exposition e = small_exposition();
  EXPECT_EQ(encode(Format::kText, e), to_text(e.families));
  EXPECT_EQ(encode(Format::kOpenMetrics, e), to_openmetrics(e.families));
  EXPECT_EQ(encode(Format::kProtobuf, e), to_protobuf(e));
}

}  // namespace
}  // namespace lockscope::serve
