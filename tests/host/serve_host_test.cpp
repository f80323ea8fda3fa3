// SPDX-License-Identifier: Apache-2.0
// `lockscope serve` scraped by a real Prometheus (Debian's `prometheus`
// package, installed by scripts/install-deps.sh), twice over: with its
// defaults (OpenMetrics) and with native histograms (protobuf). The targets
// are up, the p95 PromQL computes from the exported classic buckets, and
// from the native ones, agree with lockscope's own p95 of the same load
// window, counters only grow, `promtool check metrics` passes; SIGTERM
// leaves nothing in the kernel; a second instance on the same port exits 4
// at once.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <regex>

#include "host_util.hpp"
#include "lockscope/core/profile.hpp"
#include "lockscope/serve/exposition.hpp"

namespace lockscope::hosttest {
namespace {

constexpr const char* kPrometheus = "/usr/bin/prometheus";
constexpr const char* kPromtool = "/usr/bin/promtool";

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// GET http://127.0.0.1:PORT/PATH (HTTP/1.0): the body, or "" on failure.
std::string http_get(uint16_t port, const std::string& path, int* status = nullptr) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string resp;
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) {
    std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (write(fd, req.data(), req.size()) == ssize_t(req.size())) {
      char buf[65536];
      ssize_t n;
      while ((n = read(fd, buf, sizeof buf)) > 0) resp.append(buf, size_t(n));
    }
  }
  close(fd);
  auto body = resp.find("\r\n\r\n");
  if (body == std::string::npos) return "";
  if (status) *status = int(std::strtol(resp.c_str() + resp.find(' ') + 1, nullptr, 10));
  return resp.substr(body + 4);
}

std::string url_encode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += char(c);
    } else {
      char b[4];
      std::snprintf(b, sizeof b, "%%%02X", c);
      out += b;
    }
  }
  return out;
}

uint16_t free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  socklen_t len = sizeof sa;
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  close(fd);
  return ntohs(sa.sin_port);
}

// "lockscope: serving http://127.0.0.1:PORT/metrics": the port, 0 if absent.
uint16_t served_port(const std::string& err) {
  std::smatch m;
  static const std::regex re("serving http://127\\.0\\.0\\.1:([0-9]+)/metrics");
  return std::regex_search(err, m, re) ? uint16_t(std::stoi(m[1])) : 0;
}

class ServeProcess : public LockscopeProcess {
 public:
  explicit ServeProcess(const std::vector<std::string>& args) : LockscopeProcess("serve", args) {}
  uint16_t wait_serving(int timeout_ms) {
    return wait_for("/metrics (refresh", timeout_ms) ? served_port(err()) : 0;
  }
};

// A real Prometheus on loopback, scraping `target` every second, with its
// own temporary storage (removed at the end); `flags` are added to its
// command line (e.g. --enable-feature=native-histograms).
class Prometheus {
 public:
  explicit Prometheus(uint16_t target, std::vector<std::string> flags = {})
      : dir_(tmp_path("prometheus")), port_(free_port()) {
    std::filesystem::create_directories(dir_ + "/data");
    std::ofstream(dir_ + "/prometheus.yml")
        << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        << "scrape_configs:\n  - job_name: lockscope\n    static_configs:\n"
        << "      - targets: ['127.0.0.1:" << target << "']\n";
    pid_ = fork();
    if (pid_ == 0) {
      int log = open((dir_ + "/log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(log, STDOUT_FILENO);
      dup2(log, STDERR_FILENO);
      std::string cfg = "--config.file=" + dir_ + "/prometheus.yml";
      std::string data = "--storage.tsdb.path=" + dir_ + "/data";
      std::string web = "--web.listen-address=127.0.0.1:" + std::to_string(port_);
      std::vector<std::string> args{kPrometheus, cfg, data, web};
      args.insert(args.end(), flags.begin(), flags.end());
      std::vector<char*> argv;
      argv.reserve(args.size() + 1);
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(kPrometheus, argv.data());
      _exit(127);
    }
  }
  ~Prometheus() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  Prometheus(const Prometheus&) = delete;
  Prometheus& operator=(const Prometheus&) = delete;

  bool wait_ready(int timeout_ms) {
    for (int t = 0; t < timeout_ms; t += 200) {
      int status = 0;
      http_get(port_, "/-/ready", &status);
      if (status == 200) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return false;
  }
  nlohmann::json api(const std::string& path_and_query) {
    std::string body = http_get(port_, "/api/v1/" + path_and_query);
    auto j = nlohmann::json::parse(body, nullptr, false);
    return j.is_discarded() ? nlohmann::json{} : j;
  }
  // An instant query at Unix time `at`: the "result" array.
  nlohmann::json query(const std::string& promql, double at) {
    char t[32];
    std::snprintf(t, sizeof t, "%.3f", at);
    auto j = api("query?query=" + url_encode(promql) + "&time=" + t);
    return j.value("status", "") == "success" ? j["data"]["result"] : nlohmann::json{};
  }
  std::string target_health() {
    auto j = api("targets");
    if (j.value("status", "") != "success") return "";
    for (const auto& t : j["data"]["activeTargets"])
      if (t["labels"].value("job", "") == "lockscope") return t.value("health", "");
    return "";
  }
  std::string log() const { return read_text(dir_ + "/log"); }
  // Waits until the lockscope target is up; its health ("" if unknown).
  std::string wait_target_up(int timeout_ms) {
    std::string health;
    for (int t = 0; t < timeout_ms && health != "up"; t += 500) {
      health = target_health();
      if (health != "up") std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    return health;
  }
  // The value of a query returning one sample, NaN if it returns none.
  double scalar(const std::string& promql, double at) {
    auto r = query(promql, at);
    return r.size() == 1 ? std::stod(r[0]["value"][1].get<std::string>()) : std::nan("");
  }

 private:
  std::string dir_;
  uint16_t port_;
  pid_t pid_ = -1;
};

std::string skip_reason() {
  if (geteuid() != 0) return "needs root (loads BPF programs)";
  if (access(kPrometheus, X_OK) != 0)
    return std::string(kPrometheus) +
           " missing (Debian package prometheus: scripts/install-deps.sh)";
  if (access(kPromtool, X_OK) != 0)
    return std::string(kPromtool) + " missing (Debian package prometheus)";
  return "";
}

// Runs pty round trips on two threads until `deadline` (Unix seconds).
void load_until(double deadline) {
  std::atomic<uint64_t> done{0};
  while (unix_now() < deadline) pty_load(2, 200, &done);
}

int run_promtool_check_metrics(const std::string& exposition, std::string* out) {
  std::string file = tmp_path("exposition.prom");
  std::ofstream(file) << exposition;
  std::string cmd = std::string(kPromtool) + " check metrics < " + file + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out->append(buf, n);
  int st = pclose(p);
  std::remove(file.c_str());
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST(ServeHost, ScrapedByARealPrometheus) {
  if (auto why = skip_reason(); !why.empty()) GTEST_SKIP() << why;
  auto progs_before = lockscope_prog_ids();
  auto links_before = lockscope_link_ids();

  ServeProcess serve({"--listen", "127.0.0.1:0", "--backend", "tracepoint", "--refresh", "0.5"});
  uint16_t port = serve.wait_serving(60000);
  ASSERT_NE(port, 0) << serve.err();
  // Two Prometheus servers scrape it: Debian's defaults (they ask for
  // OpenMetrics, then text) and one with native histograms (it asks for
  // protobuf, and keeps only the native form of a histogram that has one).
  Prometheus prom(port);
  Prometheus native(port, {"--enable-feature=native-histograms"});
  ASSERT_TRUE(prom.wait_ready(30000)) << prom.log();
  ASSERT_TRUE(native.wait_ready(30000)) << native.log();
  ASSERT_EQ(prom.wait_target_up(30000), "up") << prom.log();
  ASSERT_EQ(native.wait_target_up(30000), "up") << native.log();

  // lockscope's own figure for the same load: a `record` run concurrently
  // (its own session and maps, 32 buckets per power of two), independent of
  // serve's exposition and of Prometheus. A quantile from the scraped bucket
  // counts themselves would check nothing. The two windows cannot match to
  // the millisecond (Prometheus sees serve's refreshes at its scrapes), so
  // the load runs strictly inside both: record covers [r0, r0 + 14 s]; the
  // rate window at r0 + 14 s spans (r0 + 1 s, r0 + 14 s], whose first sample
  // holds data from before r0 + 2 s and last from after r0 + 12.5 s (1 s
  // scrapes, 0.5 s refresh); the load runs from r0 + 3.5 s to r0 + 11.5 s.
  // Both windows then count the whole load, and differ only by the idle
  // background at their edges.
  constexpr double kRecord = 14, kLoadFrom = 3.5, kLoadTo = 11.5, kRateWindow = 13;
  std::string profile = tmp_path("serve-record.json");
  RecordProcess rec({"-d", "14", "--backend", "tracepoint", "-o", profile});
  ASSERT_TRUE(rec.wait_recording(60000)) << rec.err();
  double r0 = unix_now();
  std::thread load([&] {
    while (unix_now() < r0 + kLoadFrom) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    load_until(r0 + kLoadTo);
  });
  // An exposition mid-load (sites, losses and all) for promtool.
  while (unix_now() < r0 + 7) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::string exposition = http_get(port, "/metrics");
  load.join();
  ASSERT_EQ(rec.wait_exit(), 0) << rec.err();
  double t_end = r0 + kRecord;
  // Let serve refresh and Prometheus scrape past the end of the window.
  while (unix_now() < t_end + 3) std::this_thread::sleep_for(std::chrono::milliseconds(100));

  std::string lint;
  EXPECT_EQ(run_promtool_check_metrics(exposition, &lint), 0) << lint << "\n" << exposition;
  EXPECT_NE(exposition.find("lockscope_wq_queue_latency_seconds_bucket{le=\"+Inf\"}"),
            std::string::npos)
      << exposition;
  // The tracepoint backend cannot time holds: absent, and listed with why.
  EXPECT_EQ(exposition.find("lockscope_pool_lock_hold_seconds"), std::string::npos);
  EXPECT_NE(exposition.find("lockscope_metric_unavailable{metric=\"pool_lock_hold_ns\""),
            std::string::npos);

  // Prometheus's p95 over the window, from serve's buckets.
  std::string range = "[" + std::to_string(int(kRateWindow)) + "s]";
  auto r = prom.query(
      "histogram_quantile(0.95, sum by (le) (rate("
      "lockscope_wq_queue_latency_seconds_bucket" +
          range + ")))",
      t_end);
  ASSERT_EQ(r.size(), 1u) << r.dump();
  double prom_p95_ns = std::stod(r[0]["value"][1].get<std::string>()) * 1e9;
  ASSERT_TRUE(std::isfinite(prom_p95_ns)) << r.dump();

  Profile p = load_profile(profile);
  std::remove(profile.c_str());
  ASSERT_EQ(p.runs.size(), 1u);
  const Metric& q = p.runs[0].metrics.at("wq_queue_latency_ns");
  ASSERT_TRUE(q.ok() && q.hist && q.hist->count() > 1000) << "too few work items recorded";
  Histogram::Quantile own = q.hist->quantile(0.95);
  // The bucket error: histogram_quantile interpolates inside one of serve's
  // buckets (edges bucket_edges_ns()), so it can be off by that bucket's
  // width; lockscope's own p95 carries its own (1/64) bound.
  const auto& edges = serve::bucket_edges_ns();
  double lo = 0, hi = double(edges.back());
  for (size_t i = 0; i < edges.size(); ++i)
    if (double(edges[i]) >= prom_p95_ns) {
      hi = double(edges[i]);
      lo = i ? double(edges[i - 1]) : 0;
      break;
    }
  std::printf(
      "p95 wq_queue_latency: Prometheus %.0f ns (bucket %.0f..%.0f), record %.0f ns "
      "+- %.0f (%llu items)\n",
      prom_p95_ns, lo, hi, own.value, own.error_bound,
      static_cast<unsigned long long>(q.hist->count()));
  EXPECT_NEAR(prom_p95_ns, own.value, (hi - lo) + own.error_bound);

  // The same p95 from the native histograms (schema 5, made from
  // lockscope's own buckets): off by at most the native bucket's width
  // (2^(1/32) - 1 of its value), plus the half lockscope bucket each value
  // moved by going to the native bucket of its bucket's middle, plus the
  // record run's own bound.
  double native_p95_ns =
      native.scalar(
          "histogram_quantile(0.95, sum(rate(lockscope_wq_queue_latency_seconds" + range + ")))",
          t_end) *
      1e9;
  ASSERT_TRUE(std::isfinite(native_p95_ns)) << native.log();
  double native_width = native_p95_ns * (std::exp2(1.0 / 32) - 1);
  double mapping = double(Histogram::width(Histogram::index_of(uint64_t(native_p95_ns)))) / 2;
  std::printf("p95 wq_queue_latency, native histograms: Prometheus %.0f ns (+- %.0f + %.0f)\n",
              native_p95_ns, native_width, mapping);
  EXPECT_NEAR(native_p95_ns, own.value, native_width + mapping + own.error_bound);
  // Each server got the format it asked for: the native one stored no
  // classic buckets, and serve counted the scrapes by format.
  auto classic_buckets = native.query("lockscope_wq_queue_latency_seconds_bucket", t_end);
  EXPECT_TRUE(classic_buckets.is_array() && classic_buckets.empty()) << classic_buckets.dump();
  auto native_series = native.query("lockscope_wq_queue_latency_seconds", t_end);
  ASSERT_EQ(native_series.size(), 1u) << native_series.dump();
  EXPECT_TRUE(native_series[0].contains("histogram")) << native_series.dump();
  EXPECT_GT(prom.scalar("lockscope_scrapes_total{format=\"openmetrics\"}", t_end), 0);
  EXPECT_GT(native.scalar("lockscope_scrapes_total{format=\"protobuf\"}", t_end), 0);

  // Counters only grow: every raw sample Prometheus stored of every
  // lockscope counter and histogram count, in time order.
  auto series = prom.query("{__name__=~\"lockscope_.*_total|lockscope_.*_count\"}[2m]", t_end + 2);
  ASSERT_GT(series.size(), 3u) << series.dump();
  size_t growing = 0;
  for (const auto& s : series) {
    double prev = -1;
    const auto& values = s["values"];
    for (const auto& v : values) {
      double x = std::stod(v[1].get<std::string>());
      EXPECT_GE(x, prev) << s["metric"].dump() << " went down";
      prev = x;
    }
    if (values.size() >= 2 && std::stod(values.back()[1].get<std::string>()) >
                                  std::stod(values.front()[1].get<std::string>()))
      ++growing;
  }
  EXPECT_GT(growing, 0u) << "no counter grew under load";

  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait_exit(), 0) << serve.err();
  EXPECT_TRUE(left_behind(progs_before, lockscope_prog_ids).empty());
  EXPECT_TRUE(left_behind(links_before, lockscope_link_ids).empty());
}

TEST(ServeHost, SecondInstanceOnTheSamePortExits4AtOnce) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (loads BPF programs)";
  auto progs_before = lockscope_prog_ids();
  auto links_before = lockscope_link_ids();
  ServeProcess first({"--listen", "127.0.0.1:0", "--backend", "tracepoint"});
  uint16_t port = first.wait_serving(60000);
  ASSERT_NE(port, 0) << first.err();

  auto t0 = std::chrono::steady_clock::now();
  ServeProcess second({"--listen", "127.0.0.1:" + std::to_string(port)});
  int rc = second.wait_exit();
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(rc, 4) << second.err();
  EXPECT_LT(took, 5.0) << "the second instance should fail before loading anything";
  EXPECT_NE(second.err().find("cannot listen on 127.0.0.1:" + std::to_string(port)),
            std::string::npos)
      << second.err();
  EXPECT_NE(second.err().find("Address already in use"), std::string::npos) << second.err();
  EXPECT_EQ(second.err().find("recording with"), std::string::npos)
      << "the second instance loaded its programs before failing";

  // The first still answers, also to many scrapes at once while it records
  // (scrapes read the last published families, never the maps).
  std::atomic<int> complete{0};
  std::vector<std::thread> scrapers;
  scrapers.reserve(8);
  for (int t = 0; t < 8; ++t)
    scrapers.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        int status = 0;
        std::string body = http_get(port, "/metrics", &status);
        if (status == 200 && body.find("lockscope_info{") != std::string::npos &&
            body.find("lockscope_lost_events_total{") != std::string::npos)
          ++complete;
      }
    });
  for (auto& t : scrapers) t.join();
  EXPECT_EQ(complete.load(), 8 * 25);
  first.signal(SIGINT);
  EXPECT_EQ(first.wait_exit(), 0) << first.err();
  EXPECT_TRUE(left_behind(progs_before, lockscope_prog_ids).empty());
  EXPECT_TRUE(left_behind(links_before, lockscope_link_ids).empty());
}

TEST(ServeHost, BadListenIsAUsageError) {
  ServeProcess bad({"--listen", "localhost:9488"});
  EXPECT_EQ(bad.wait_exit(), 2) << bad.err();
  EXPECT_NE(bad.err().find("not a numeric IPv4 address"), std::string::npos) << bad.err();
}

}  // namespace
}  // namespace lockscope::hosttest
