// SPDX-License-Identifier: Apache-2.0
#include "lockscope/core/profile.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "lockscope/core/cost.hpp"
#include "lockscope/core/error.hpp"
#include "lockscope/core/version.hpp"

namespace lockscope {

using json = nlohmann::json;

std::optional<double> Metric::share() const {
  if (!count || !total || *total == 0) return std::nullopt;
  return double(*count) / double(*total);
}

Metric Metric::unavailable(std::string why) {
  Metric m;
  m.status = Status::kUnavailable;
  m.reason = std::move(why);
  return m;
}

uint64_t Run::total_drops() const {
  uint64_t n = 0;
  for (const auto& [_, v] : drops) n += v;
  return n;
}

bool site_before(const SiteEntry& a, const SiteEntry& b) {
  uint64_t ta = a.hist ? a.hist->sum() : 0, tb = b.hist ? b.hist->sum() : 0;
  if (ta != tb) return ta > tb;
  if (a.count != b.count) return a.count > b.count;
  return a.site < b.site;
}

void sort_sites(std::vector<SiteEntry>& sites) {
  std::stable_sort(sites.begin(), sites.end(), site_before);
}

Profile new_host_profile() {
  Profile p;
  p.tool_version = kVersion;
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  p.created = buf;
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) == 0) p.hostname = host;
  utsname u;
  if (uname(&u) == 0) p.kernel_release = u.release;
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  p.nr_cpus = n > 0 ? uint32_t(n) : 0;
  std::ifstream cs("/sys/devices/system/clocksource/clocksource0/current_clocksource");
  std::getline(cs, p.clocksource);
  p.patch_state = "unknown";
  p.backend = "none";
  return p;
}

uint64_t Metric::events() const {
  if (count) return *count;
  return hist ? hist->count() : 0;
}

double Run::loss_fraction() const {
  bool per_metric = false;
  double worst = 0;
  for (const auto& [_, m] : metrics)
    if (m.loss) {
      per_metric = true;
      worst = std::max(worst, m.loss->fraction);
    }
  if (per_metric) return worst;
  uint64_t lost = total_drops();
  if (lost == 0) return 0.0;
  auto it = counters.find("hook_events");
  if (it == counters.end() || it->second == 0) return 1.0;
  return double(lost) / double(it->second);
}

namespace {

json hist_to_json(const Histogram& h) {
  json buckets = json::array();
  for (const auto& [idx, n] : h.buckets()) buckets.push_back({idx, n});
  json j = {{"count", h.count()}, {"sum", h.sum()},         {"min", h.min()},
            {"max", h.max()},     {"clamped", h.clamped()}, {"sub_bits", Histogram::kSubBits},
            {"buckets", buckets}};
  // Derived, for readers without the bucket arithmetic; ignored on load.
  j["p50"] = h.percentile(50);
  j["p95"] = h.percentile(95);
  j["p99"] = h.percentile(99);
  return j;
}

// Checked accessors: every malformed input becomes one clear error.
class Reader {
 public:
  explicit Reader(std::string origin) : origin_(std::move(origin)) {}

  [[noreturn]] void fail(const std::string& where, const std::string& what) const {
    throw usage_error(origin_ + ": " + where + ": " + what);
  }
  const json& field(const json& obj, const char* key, const std::string& where) const {
    if (!obj.is_object()) fail(where, "expected an object");
    auto it = obj.find(key);
    if (it == obj.end()) fail(where, std::string("missing field '") + key + "'");
    return *it;
  }
  uint64_t u64(const json& v, const std::string& where) const {
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
      fail(where, "expected a non-negative integer");
    return v.get<uint64_t>();
  }
  double num(const json& v, const std::string& where) const {
    if (!v.is_number()) fail(where, "expected a number");
    return v.get<double>();
  }
  std::string str(const json& v, const std::string& where) const {
    if (!v.is_string()) fail(where, "expected a string");
    return v.get<std::string>();
  }
  std::string opt_str(const json& obj, const char* key, const std::string& where) const {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return {};
    return str(*it, where + "." + key);
  }

  Histogram hist(const json& j, const std::string& where) const {
    Histogram h;
    uint64_t count = u64(field(j, "count", where), where + ".count");
    uint64_t sum = u64(field(j, "sum", where), where + ".sum");
    uint64_t mn = u64(field(j, "min", where), where + ".min");
    uint64_t mx = u64(field(j, "max", where), where + ".max");
    uint64_t clamped = j.contains("clamped") ? u64(j["clamped"], where + ".clamped") : 0;
    if (j.contains("sub_bits") && u64(j["sub_bits"], where) != Histogram::kSubBits)
      fail(where, "histogram uses another bucket scheme (sub_bits)");
    const json& b = field(j, "buckets", where);
    if (!b.is_array()) fail(where + ".buckets", "expected an array");
    uint64_t total = 0;
    std::vector<bool> seen(Histogram::kBuckets);
    for (const auto& e : b) {
      if (!e.is_array() || e.size() != 2) fail(where + ".buckets", "expected [index, count] pairs");
      uint64_t idx = u64(e[0], where + ".buckets");
      uint64_t n = u64(e[1], where + ".buckets");
      if (idx >= Histogram::kBuckets) fail(where + ".buckets", "bucket index out of range");
      if (seen[idx])
        fail(where + ".buckets", "bucket index " + std::to_string(idx) + " appears twice");
      seen[idx] = true;
      if (total + n < total) fail(where + ".buckets", "bucket counts overflow");
      total += n;
      h.set_bucket(static_cast<uint32_t>(idx), n);
    }
    if (total != count) fail(where, "bucket counts do not add up to count");
    if (count && mn > mx) fail(where, "min > max");
    h.set_summary(count, sum, mn, mx, clamped);
    return h;
  }

 private:
  std::string origin_;
};

const char* status_name(Metric::Status s) {
  return s == Metric::Status::kOk ? "ok" : "unavailable";
}

json metric_to_json(const Metric& m) {
  json j = {{"status", status_name(m.status)}};
  if (!m.ok()) {
    j["reason"] = m.reason;
    return j;
  }
  if (m.hist) j["histogram"] = hist_to_json(*m.hist);
  if (m.count) j["count"] = *m.count;
  if (m.total) j["total"] = *m.total;
  if (auto s = m.share()) j["share"] = *s;
  if (m.probe_effect) {
    const ProbeEffect& e = *m.probe_effect;
    uint64_t n = m.events();
    j["probe_effect"] = {{"removed_ns", e.removed_ns}, {"program_runs", e.runs}};
    // Derived, for readers; ignored on load.
    if (n) {
      j["probe_effect"]["mean_removed_ns"] = double(e.removed_ns) / double(n);
      j["probe_effect"]["runs_per_event"] = double(e.runs) / double(n);
    }
  }
  if (m.loss)
    j["loss"] = {
        {"drops", m.loss->drops}, {"recursion", m.loss->recursion}, {"fraction", m.loss->fraction}};
  if (!m.by_kind.empty()) {
    json k = json::object();
    for (const auto& [name, h] : m.by_kind) k[name] = hist_to_json(h);
    j["by_kind"] = k;
  }
  if (!m.by_site.empty()) {
    json sites = json::array();
    for (const auto& s : m.by_site) {
      json e = {{"site", s.site}, {"count", s.count}};
      if (!s.detail.empty()) e["detail"] = s.detail;
      if (!s.kind.empty()) e["kind"] = s.kind;
      if (s.hist) e["histogram"] = hist_to_json(*s.hist);
      sites.push_back(e);
    }
    j["by_site"] = sites;
  }
  return j;
}

Metric metric_from_json(const Reader& r, const json& j, const std::string& where) {
  Metric m;
  std::string status = r.str(r.field(j, "status", where), where + ".status");
  if (status == "unavailable") {
    m.status = Metric::Status::kUnavailable;
    m.reason = r.opt_str(j, "reason", where);
    return m;
  }
  if (status != "ok") r.fail(where + ".status", "expected \"ok\" or \"unavailable\"");
  if (j.contains("histogram")) m.hist = r.hist(j["histogram"], where + ".histogram");
  if (j.contains("count")) m.count = r.u64(j["count"], where + ".count");
  if (j.contains("total")) m.total = r.u64(j["total"], where + ".total");
  if (j.contains("probe_effect")) {
    const json& e = j["probe_effect"];
    std::string w = where + ".probe_effect";
    m.probe_effect = ProbeEffect{r.u64(r.field(e, "removed_ns", w), w + ".removed_ns"),
                                 r.u64(r.field(e, "program_runs", w), w + ".program_runs")};
  }
  if (j.contains("loss")) {
    const json& l = j["loss"];
    std::string w = where + ".loss";
    MetricLoss loss;
    loss.drops = r.u64(r.field(l, "drops", w), w + ".drops");
    loss.recursion = r.num(r.field(l, "recursion", w), w + ".recursion");
    loss.fraction = r.num(r.field(l, "fraction", w), w + ".fraction");
    if (!(loss.fraction >= 0 && loss.fraction <= 1) ||
        !(loss.recursion >= 0 && loss.recursion <= 1))
      r.fail(w, "a loss fraction is between 0 and 1");
    m.loss = loss;
  }
  if (j.contains("by_kind")) {
    if (!j["by_kind"].is_object()) r.fail(where + ".by_kind", "expected an object");
    for (const auto& [k, v] : j["by_kind"].items())
      m.by_kind[k] = r.hist(v, where + ".by_kind." + k);
  }
  if (j.contains("by_site")) {
    const json& sites = j["by_site"];
    if (!sites.is_array()) r.fail(where + ".by_site", "expected an array");
    for (size_t i = 0; i < sites.size(); ++i) {
      std::string w = where + ".by_site[" + std::to_string(i) + "]";
      SiteEntry s;
      s.site = r.str(r.field(sites[i], "site", w), w + ".site");
      s.count = r.u64(r.field(sites[i], "count", w), w + ".count");
      s.detail = r.opt_str(sites[i], "detail", w);
      s.kind = r.opt_str(sites[i], "kind", w);
      if (sites[i].contains("histogram")) s.hist = r.hist(sites[i]["histogram"], w + ".histogram");
      m.by_site.push_back(std::move(s));
    }
  }
  return m;
}

json workload_to_json(const WorkloadResult& w) {
  json j = {{"name", w.name},
            {"scope", w.scope},
            {"threads", w.threads},
            {"items", w.items},
            {"duration_s", w.duration_s},
            {"items_per_sec", w.items_per_sec},
            {"latency_ns", w.latency_ns}};
  if (w.latency) j["latency"] = hist_to_json(*w.latency);
  return j;
}

WorkloadResult workload_from_json(const Reader& r, const json& j, const std::string& where) {
  WorkloadResult w;
  w.name = r.str(r.field(j, "name", where), where + ".name");
  w.scope = r.opt_str(j, "scope", where);
  if (j.contains("threads"))
    w.threads = static_cast<uint32_t>(r.u64(j["threads"], where + ".threads"));
  if (j.contains("items")) w.items = r.u64(j["items"], where + ".items");
  if (j.contains("duration_s")) w.duration_s = r.num(j["duration_s"], where + ".duration_s");
  w.items_per_sec = r.num(r.field(j, "items_per_sec", where), where + ".items_per_sec");
  if (j.contains("latency_ns")) {
    if (!j["latency_ns"].is_object()) r.fail(where + ".latency_ns", "expected an object");
    for (const auto& [k, v] : j["latency_ns"].items())
      w.latency_ns[k] = r.num(v, where + ".latency_ns." + k);
  }
  if (j.contains("latency")) w.latency = r.hist(j["latency"], where + ".latency");
  return w;
}

// The recorded part of a cost; the derived figures are computed again
// (derive_cost) once the run's metrics are read.
Cost cost_from_json(const Reader& r, const json& j, const std::string& where) {
  std::string status = r.str(r.field(j, "status", where), where + ".status");
  if (status == "unavailable") return Cost::unavailable(r.opt_str(j, "reason", where));
  if (status != "ok") r.fail(where + ".status", "expected \"ok\" or \"unavailable\"");
  Cost c;
  c.ok = true;
  c.source = r.opt_str(j, "source", where);
  c.window_s = r.num(r.field(j, "window_s", where), where + ".window_s");
  if (!(c.window_s > 0)) r.fail(where + ".window_s", "a sampled window is longer than 0 s");
  c.cpus = static_cast<uint32_t>(r.u64(r.field(j, "cpus", where), where + ".cpus"));
  if (c.cpus == 0) r.fail(where + ".cpus", "expected at least one CPU");
  const json& programs = r.field(j, "programs", where);
  if (!programs.is_array()) r.fail(where + ".programs", "expected an array");
  for (size_t i = 0; i < programs.size(); ++i) {
    std::string w = where + ".programs[" + std::to_string(i) + "]";
    ProgramCost p;
    p.attach = r.str(r.field(programs[i], "attach", w), w + ".attach");
    p.runs = r.u64(r.field(programs[i], "runs", w), w + ".runs");
    p.run_time_ns = r.u64(r.field(programs[i], "run_time_ns", w), w + ".run_time_ns");
    c.programs.push_back(std::move(p));
  }
  if (j.contains("counted_runs")) {
    const json& n = j["counted_runs"];
    if (!n.is_object()) r.fail(where + ".counted_runs", "expected an object");
    for (const auto& [k, v] : n.items()) c.counted_runs[k] = r.u64(v, where + ".counted_runs." + k);
  }
  return c;
}

}  // namespace

std::string profile_to_json(const Profile& p, bool pretty) {
  json refused = json::array();
  for (const auto& h : p.hooks_refused) refused.push_back({{"name", h.name}, {"reason", h.reason}});
  json runs = json::array();
  for (const auto& r : p.runs) {
    json metrics = json::object();
    for (const auto& [name, m] : r.metrics) metrics[name] = metric_to_json(m);
    json jr = {{"scope", r.scope},   {"repetition", r.repetition}, {"duration_s", r.duration_s},
               {"metrics", metrics}, {"counters", r.counters},     {"drops", r.drops}};
    if (r.boot >= 0) jr["boot"] = r.boot;
    if (r.workload) jr["workload"] = workload_to_json(*r.workload);
    if (r.cost) jr["cost"] = cost_to_json(*r.cost);
    runs.push_back(jr);
  }
  json j = {
      {"schema", p.schema},
      {"version", p.version},
      {"tool", {{"name", "lockscope"}, {"version", p.tool_version}}},
      {"created", p.created},
      {"label", p.label},
      {"host",
       {{"hostname", p.hostname},
        {"kernel_release", p.kernel_release},
        {"nr_cpus", p.nr_cpus},
        {"clocksource", p.clocksource}}},
      {"kernel", {{"patch_state", p.patch_state}, {"patch_variant", p.patch_variant}}},
      {"backend", p.backend},
      {"hooks", {{"attached", p.hooks_attached}, {"refused", refused}}},
      {"runs", runs},
  };
  if (!p.site_source.empty()) j["site_source"] = p.site_source;
  return j.dump(pretty ? 2 : -1) + (pretty ? "\n" : "");
}

Profile profile_from_json(const std::string& text, const std::string& origin) {
  // Hostile or absurd inputs are refused while parsing, before the document
  // is built: limits far above any profile lockscope writes (docs/reliability.md).
  if (text.size() > kProfileMaxBytes)
    throw usage_error(origin + ": " + std::to_string(text.size()) +
                      " bytes is larger than a profile can be (" +
                      std::to_string(kProfileMaxBytes >> 20) + " MiB)");
  std::vector<size_t> open;  // entries so far in each open array/object
  size_t values = 0;
  auto limits = [&](int /*depth*/, json::parse_event_t ev, json& /*parsed*/) {
    using E = json::parse_event_t;
    if (ev == E::value || ev == E::array_start || ev == E::object_start) {
      if (++values > kProfileMaxValues)
        throw usage_error(origin + ": more than " + std::to_string(kProfileMaxValues) +
                          " JSON values; not a profile lockscope wrote");
      if (!open.empty() && ++open.back() > kProfileMaxEntries)
        throw usage_error(origin + ": an array or object with more than " +
                          std::to_string(kProfileMaxEntries) +
                          " entries; not a profile lockscope wrote");
    }
    if (ev == E::array_start || ev == E::object_start) {
      open.push_back(0);
      if (open.size() > kProfileMaxDepth)
        throw usage_error(origin + ": JSON nested deeper than " + std::to_string(kProfileMaxDepth) +
                          " levels; not a profile lockscope wrote");
    } else if ((ev == E::array_end || ev == E::object_end) && !open.empty()) {
      open.pop_back();
    }
    return true;
  };
  json j;
  try {
    j = json::parse(text, limits);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for numbers that overflow
    throw usage_error(
        origin + ": not valid JSON (" + e.what() + ")",
        "is the file complete? profiles are written by `lockscope record` or `bench -o`");
  }
  Reader r(origin);
  Profile p;
  if (!j.is_object()) r.fail("top level", "expected an object");
  p.schema = r.str(r.field(j, "schema", "top level"), "schema");
  if (p.schema != kProfileSchema)
    r.fail("schema", "is '" + p.schema + "', expected '" + kProfileSchema + "'");
  p.version = static_cast<int>(r.u64(r.field(j, "version", "top level"), "version"));
  if (p.version != kProfileVersion)
    r.fail("version", "profile version " + std::to_string(p.version) +
                          " is not supported (this lockscope reads version " +
                          std::to_string(kProfileVersion) + ")");
  if (j.contains("tool") && j["tool"].is_object())
    p.tool_version = r.opt_str(j["tool"], "version", "tool");
  p.created = r.opt_str(j, "created", "top level");
  p.label = r.opt_str(j, "label", "top level");
  if (j.contains("host")) {
    const json& h = j["host"];
    p.hostname = r.opt_str(h, "hostname", "host");
    p.kernel_release = r.opt_str(h, "kernel_release", "host");
    p.clocksource = r.opt_str(h, "clocksource", "host");
    if (h.contains("nr_cpus"))
      p.nr_cpus = static_cast<uint32_t>(r.u64(h["nr_cpus"], "host.nr_cpus"));
  }
  if (j.contains("kernel")) {
    p.patch_state = r.opt_str(j["kernel"], "patch_state", "kernel");
    p.patch_variant = r.opt_str(j["kernel"], "patch_variant", "kernel");
  }
  p.backend = r.opt_str(j, "backend", "top level");
  if (p.backend == "fentry+tracepoint") p.backend = "both";  // written by lockscope 0.1
  p.site_source = r.opt_str(j, "site_source", "top level");
  if (j.contains("hooks")) {
    const json& h = j["hooks"];
    if (h.contains("attached")) {
      if (!h["attached"].is_array()) r.fail("hooks.attached", "expected an array");
      for (const auto& a : h["attached"]) p.hooks_attached.push_back(r.str(a, "hooks.attached"));
    }
    if (h.contains("refused")) {
      if (!h["refused"].is_array()) r.fail("hooks.refused", "expected an array");
      for (const auto& a : h["refused"])
        p.hooks_refused.push_back({r.str(r.field(a, "name", "hooks.refused"), "hooks.refused.name"),
                                   r.opt_str(a, "reason", "hooks.refused")});
    }
  }
  const json& runs = r.field(j, "runs", "top level");
  if (!runs.is_array()) r.fail("runs", "expected an array");
  for (size_t i = 0; i < runs.size(); ++i) {
    std::string w = "runs[" + std::to_string(i) + "]";
    const json& jr = runs[i];
    if (!jr.is_object()) r.fail(w, "expected an object");
    Run run;
    run.scope = r.opt_str(jr, "scope", w);
    if (jr.contains("repetition"))
      run.repetition = static_cast<uint32_t>(r.u64(jr["repetition"], w + ".repetition"));
    if (jr.contains("boot")) run.boot = static_cast<int32_t>(r.u64(jr["boot"], w + ".boot"));
    if (jr.contains("duration_s")) run.duration_s = r.num(jr["duration_s"], w + ".duration_s");
    if (jr.contains("workload") && !jr["workload"].is_null())
      run.workload = workload_from_json(r, jr["workload"], w + ".workload");
    if (jr.contains("metrics")) {
      if (!jr["metrics"].is_object()) r.fail(w + ".metrics", "expected an object");
      for (const auto& [name, m] : jr["metrics"].items())
        run.metrics[name] = metric_from_json(r, m, w + ".metrics." + name);
    }
    for (const char* key : {"counters", "drops"}) {
      if (!jr.contains(key)) continue;
      if (!jr[key].is_object()) r.fail(w + "." + key, "expected an object");
      auto& dst = std::string(key) == "counters" ? run.counters : run.drops;
      for (const auto& [k, v] : jr[key].items()) dst[k] = r.u64(v, w + "." + key + "." + k);
    }
    if (jr.contains("cost")) {  // absent in profiles written before costs were recorded
      run.cost = cost_from_json(r, jr["cost"], w + ".cost");
      derive_cost(run);
    }
    p.runs.push_back(std::move(run));
  }
  return p;
}

Profile load_profile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw usage_error("cannot read profile " + path + ": " + std::strerror(errno));
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
      uint64_t(st.st_size) > kProfileMaxBytes)
    throw usage_error(path + ": " + std::to_string(st.st_size) +
                      " bytes is larger than a profile can be (" +
                      std::to_string(kProfileMaxBytes >> 20) + " MiB)");
  std::ostringstream ss;
  ss << in.rdbuf();
  return profile_from_json(ss.str(), path);
}

void write_file_atomic(const std::string& path, const std::string& content) {
  std::string tmpl = path + ".tmp.XXXXXX";
  int fd = mkstemp(tmpl.data());
  if (fd < 0)
    throw usage_error("cannot write " + path + ": " + std::strerror(errno),
                      "choose an output path in a directory you can write (-o FILE)");
  const char* p = content.data();
  size_t left = content.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = errno;
      ::close(fd);
      ::unlink(tmpl.c_str());
      throw usage_error("cannot write " + path + ": " + std::strerror(e));
    }
    p += n;
    left -= size_t(n);
  }
  fchmod(fd, 0644);
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int e = errno;
    ::unlink(tmpl.c_str());
    throw usage_error("cannot write " + path + ": " + std::strerror(e));
  }
  if (::rename(tmpl.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmpl.c_str());
    throw usage_error("cannot write " + path + ": " + std::strerror(e));
  }
}

void save_profile(const Profile& p, const std::string& path) {
  write_file_atomic(path, profile_to_json(p));
}

}  // namespace lockscope
