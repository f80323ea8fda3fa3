// SPDX-License-Identifier: Apache-2.0
// The /metrics formats: Accept negotiation, OpenMetrics text, and delimited
// protobuf with native histograms (encoded by hand, lockscope/core/protobuf.hpp).
#include "lockscope/serve/formats.hpp"

#include <prometheus/text_serializer.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>

#include "lockscope/core/protobuf.hpp"
#include "lockscope/core/text.hpp"

namespace lockscope::serve {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

constexpr double kNsPerSecond = 1e9;

std::string lower_trimmed(const std::string& text) {
  std::string s = trim(text);
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    auto at = s.find(sep, start);
    out.push_back(s.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos) return out;
    start = at + 1;
  }
}

struct MediaRange {
  std::string type;  // "text/plain", "*/*", ...
  std::map<std::string, std::string> params;
  double q = 1;
};

MediaRange parse_range(const std::string& text) {
  auto parts = split(text, ';');
  MediaRange r;
  r.type = lower_trimmed(parts[0]);
  for (size_t i = 1; i < parts.size(); ++i) {
    auto eq = parts[i].find('=');
    if (eq == std::string::npos) continue;
    std::string k = lower_trimmed(parts[i].substr(0, eq));
    std::string v = lower_trimmed(parts[i].substr(eq + 1));
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    if (k == "q") {
      char* end = nullptr;
      double q = std::strtod(v.c_str(), &end);
      r.q = end != v.c_str() && std::isfinite(q) ? std::clamp(q, 0.0, 1.0) : 0;
    } else {
      r.params[k] = v;
    }
  }
  return r;
}

std::string param(const MediaRange& r, const std::string& k) {
  auto it = r.params.find(k);
  return it == r.params.end() ? "" : it->second;
}

// The format a named media range asks for, if lockscope writes it.
bool match(const MediaRange& r, Format* f) {
  if (r.type == "application/vnd.google.protobuf") {
    *f = Format::kProtobuf;
    return param(r, "proto") == "io.prometheus.client.metricfamily" &&
           param(r, "encoding") == "delimited";
  }
  if (r.type == "application/openmetrics-text") {
    *f = Format::kOpenMetrics;
    std::string v = param(r, "version");
    return v.empty() || v == "1.0.0";
  }
  if (r.type == "text/plain") {
    *f = Format::kText;
    std::string v = param(r, "version");
    return v.empty() || v == "0.0.4";
  }
  return false;
}

// Integral values as integers, others in the shortest form that reads back
// exactly; +Inf, -Inf, NaN as both text formats spell them.
std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 9007199254740992.0)
    return std::to_string(static_cast<long long>(v));
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

// OpenMetrics escaping: label values and HELP text escape \, newline and ".
std::string escaped(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

std::string labels_text(const std::vector<ClientMetric::Label>& labels,
                        const std::string& le = "") {
  if (labels.empty() && le.empty()) return "";
  std::string out = "{";
  for (const auto& l : labels) {
    if (out.size() > 1) out += ',';
    out += l.name + "=\"" + escaped(l.value) + "\"";
  }
  if (!le.empty()) {
    if (out.size() > 1) out += ',';
    out += "le=\"" + le + "\"";
  }
  return out + "}";
}

const char* om_type(MetricType t) {
  switch (t) {
    case MetricType::Counter: return "counter";
    case MetricType::Gauge: return "gauge";
    case MetricType::Summary: return "summary";
    case MetricType::Histogram: return "histogram";
    case MetricType::Untyped: return "unknown";
  }
  return "unknown";
}

uint64_t proto_type(MetricType t) {  // io.prometheus.client.MetricType
  switch (t) {
    case MetricType::Counter: return 0;
    case MetricType::Gauge: return 1;
    case MetricType::Summary: return 2;
    case MetricType::Untyped: return 3;
    case MetricType::Histogram: return 4;
  }
  return 3;
}

// io.prometheus.client.Histogram: sample_count 1, sample_sum 2, bucket 3
// {cumulative_count 1, upper_bound 2}, schema 5 (sint32), zero_threshold 6,
// zero_count 7, positive_span 12 {offset 1 (sint32), length 2},
// positive_delta 13 (packed sint64).
std::string proto_histogram(const ClientMetric::Histogram& h, const Histogram* source) {
  ProtoWriter p;
  p.u64(1, h.sample_count);
  p.f64(2, h.sample_sum);
  for (const auto& b : h.bucket) {
    ProtoWriter bucket;
    bucket.u64(1, b.cumulative_count);
    bucket.f64(2, b.upper_bound);
    p.bytes(3, bucket.b);
  }
  if (source) {
    NativeHistogram n = native_histogram(*source);
    p.s64(5, NativeHistogram::kSchema);
    p.f64(6, NativeHistogram::kZeroThreshold);
    p.u64(7, n.zero_count);
    for (const auto& s : n.spans) {
      ProtoWriter span;
      span.s64(1, s.offset);
      span.u64(2, s.length);
      p.bytes(12, span.b);
    }
    p.packed_signed(13, n.deltas);
  }
  return p.b;
}

}  // namespace

const std::vector<FormatInfo>& formats() {
  static const std::vector<FormatInfo> all{
      {Format::kText, "text", "text/plain; version=0.0.4; charset=utf-8"},
      {Format::kOpenMetrics, "openmetrics",
       "application/openmetrics-text; version=1.0.0; charset=utf-8"},
      {Format::kProtobuf, "protobuf",
       "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
       "encoding=delimited"},
  };
  return all;
}

Format negotiate(const std::string& accept) {
  Format best = Format::kText;
  double best_q = 0;
  size_t best_rank = 0;  // a named type: 10 + its Format; a wildcard: its Format
  for (const auto& text : split(accept, ',')) {
    MediaRange r = parse_range(text);
    if (r.type.empty() || r.q <= 0) continue;
    Format f = Format::kText;
    size_t rank;
    if (r.type == "*/*" || r.type == "text/*") {
      rank = size_t(f);
    } else if (r.type == "application/*") {
      f = Format::kOpenMetrics;
      rank = size_t(f);
    } else if (match(r, &f)) {
      rank = 10 + size_t(f);
    } else {
      continue;
    }
    if (r.q > best_q || (r.q == best_q && rank > best_rank)) {
      best = f;
      best_q = r.q;
      best_rank = rank;
    }
  }
  return best;
}

bool accepts_gzip(const std::string& accept_encoding) {
  bool star = false, gzip = false, gzip_named = false;
  for (const auto& text : split(accept_encoding, ',')) {
    MediaRange r = parse_range(text);  // the same token;q=... syntax
    if (r.type == "gzip" || r.type == "x-gzip") {
      gzip_named = true;
      gzip = r.q > 0;
    } else if (r.type == "*") {
      star = r.q > 0;
    }
  }
  return gzip_named ? gzip : star;
}

int32_t NativeHistogram::index_of(double seconds) {
  return int32_t(std::ceil(std::log2(seconds) * double(1 << kSchema)));
}

double NativeHistogram::upper_bound(int32_t index) {
  return std::exp2(double(index) / double(1 << kSchema));
}

std::vector<std::pair<int32_t, uint64_t>> NativeHistogram::buckets() const {
  std::vector<std::pair<int32_t, uint64_t>> out;
  int32_t index = 0;
  int64_t count = 0;
  size_t d = 0;
  for (const Span& s : spans) {
    index += s.offset;
    for (uint32_t i = 0; i < s.length && d < deltas.size(); ++i, ++index) {
      count += deltas[d++];
      out.emplace_back(index, uint64_t(count));
    }
  }
  return out;
}

NativeHistogram native_histogram(const Histogram& h) {
  NativeHistogram n;
  std::map<int32_t, uint64_t> counts;
  for (const auto& [idx, c] : h.buckets()) {
    if (c == 0) continue;
    // The middle of the integer values the bucket holds (a width-1 bucket:
    // its one value).
    double mid_ns = double(Histogram::lower_bound(idx)) + double(Histogram::width(idx) - 1) / 2;
    if (mid_ns < 0.5) {
      n.zero_count += c;
      continue;
    }
    counts[NativeHistogram::index_of(mid_ns / kNsPerSecond)] += c;
  }
  int32_t next = 0;  // the index after the last span's end
  int64_t prev = 0;
  for (const auto& [index, c] : counts) {
    if (n.spans.empty() || index != next) {
      n.spans.push_back({n.spans.empty() ? index : index - next, 0});
    }
    ++n.spans.back().length;
    n.deltas.push_back(int64_t(c) - prev);
    prev = int64_t(c);
    next = index + 1;
  }
  if (n.spans.empty()) n.spans.push_back({0, 0});  // a native histogram with nothing in it yet
  return n;
}

std::string to_text(const std::vector<MetricFamily>& families) {
  return prometheus::TextSerializer().Serialize(families);
}

std::string to_openmetrics(const std::vector<MetricFamily>& families) {
  std::string out;
  for (const auto& f : families) {
    // A counter's family is named without `_total`; its sample with it.
    std::string name = f.name;
    if (f.type == MetricType::Counter && ends_with(name, "_total"))
      name.resize(name.size() - std::string("_total").size());
    out += "# TYPE " + name + " " + om_type(f.type) + "\n";
    if (ends_with(name, "_seconds")) out += "# UNIT " + name + " seconds\n";
    if (!f.help.empty()) out += "# HELP " + name + " " + escaped(f.help) + "\n";
    for (const auto& m : f.metric) {
      switch (f.type) {
        case MetricType::Counter:
          out += name + "_total" + labels_text(m.label) + " " + number(m.counter.value) + "\n";
          break;
        case MetricType::Gauge:
          out += name + labels_text(m.label) + " " + number(m.gauge.value) + "\n";
          break;
        case MetricType::Untyped:
          out += name + labels_text(m.label) + " " + number(m.untyped.value) + "\n";
          break;
        case MetricType::Summary:
          for (const auto& q : m.summary.quantile) {
            auto l = m.label;
            l.push_back({"quantile", number(q.quantile)});
            out += name + labels_text(l) + " " + number(q.value) + "\n";
          }
          out += name + "_sum" + labels_text(m.label) + " " + number(m.summary.sample_sum) + "\n";
          out += name + "_count" + labels_text(m.label) + " " +
                 std::to_string(m.summary.sample_count) + "\n";
          break;
        case MetricType::Histogram: {
          const auto& h = m.histogram;
          for (const auto& b : h.bucket)
            if (!std::isinf(b.upper_bound))
              out += name + "_bucket" + labels_text(m.label, number(b.upper_bound)) + " " +
                     std::to_string(b.cumulative_count) + "\n";
          out += name + "_bucket" + labels_text(m.label, "+Inf") + " " +
                 std::to_string(h.sample_count) + "\n";
          out += name + "_sum" + labels_text(m.label) + " " + number(h.sample_sum) + "\n";
          out +=
              name + "_count" + labels_text(m.label) + " " + std::to_string(h.sample_count) + "\n";
          break;
        }
      }
    }
  }
  return out + "# EOF\n";
}

// io.prometheus.client.MetricFamily {name 1, help 2, type 3, metric 4}, each
// preceded by its length (varint): Prometheus' "delimited" encoding.
// Metric {label 1 {name 1, value 2}, gauge 2 {value 1}, counter 3 {value 1},
// untyped 5 {value 1}, histogram 7}.
std::string to_protobuf(const Exposition& e) {
  std::string out;
  for (const auto& f : e.families) {
    if (f.type == MetricType::Summary) continue;  // lockscope exports none
    auto src = e.histograms.find(f.name);
    ProtoWriter fam;
    fam.bytes(1, f.name);
    fam.bytes(2, f.help);
    fam.u64(3, proto_type(f.type));
    for (size_t i = 0; i < f.metric.size(); ++i) {
      const auto& m = f.metric[i];
      ProtoWriter metric;
      for (const auto& l : m.label) {
        ProtoWriter pair;
        pair.bytes(1, l.name);
        pair.bytes(2, l.value);
        metric.bytes(1, pair.b);
      }
      ProtoWriter value;
      switch (f.type) {
        case MetricType::Counter:
          value.f64(1, m.counter.value);
          metric.bytes(3, value.b);
          break;
        case MetricType::Gauge:
          value.f64(1, m.gauge.value);
          metric.bytes(2, value.b);
          break;
        case MetricType::Untyped:
          value.f64(1, m.untyped.value);
          metric.bytes(5, value.b);
          break;
        case MetricType::Histogram: {
          const Histogram* source = nullptr;
          if (src != e.histograms.end() && i < src->second.size()) source = &src->second[i];
          metric.bytes(7, proto_histogram(m.histogram, source));
          break;
        }
        case MetricType::Summary: break;
      }
      fam.bytes(4, metric.b);
    }
    ProtoWriter delimited;
    delimited.varint(fam.b.size());
    out += delimited.b + fam.b;
  }
  return out;
}

std::string encode(Format f, const Exposition& e) {
  switch (f) {
    case Format::kText: return to_text(e.families);
    case Format::kOpenMetrics: return to_openmetrics(e.families);
    case Format::kProtobuf: return to_protobuf(e);
  }
  return to_text(e.families);
}

}  // namespace lockscope::serve
