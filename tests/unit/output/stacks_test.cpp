// SPDX-License-Identifier: Apache-2.0
// Stacks: folded stacks of `report` and `diff` (golden), the pprof profile
// read back by the real reader (go tool pprof), and the refusal to write a
// binary format to a terminal.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>

#include "../golden.hpp"
#include "lockscope/core/error.hpp"
#include "lockscope/output/output.hpp"

namespace lockscope::output {
namespace {

const std::string kData = std::string(LOCKSCOPE_TEST_DATA) + "/output/";

ReportOptions folded(std::vector<std::string> metrics = {}, Weight w = Weight::kTime) {
  ReportOptions o;
  o.format = Format::kFolded;
  o.metrics = std::move(metrics);
  o.weight = w;
  return o;
}

// ---- folded ------------------------------------------------------------------

TEST(Folded, GoldenOfEveryStackedMetricWithTheMetricAsRoot) {
  Profile p = load_profile(kData + "stacks_base.json");
  testing::expect_golden(render_report(p, folded()), "output/stacks_base.folded");
}

TEST(Folded, GoldenOfOneMetricByCount) {
  Profile p = load_profile(kData + "stacks_base.json");
  testing::expect_golden(render_report(p, folded({"pool_lock_hold_ns"}, Weight::kCount)),
                         "output/stacks_base_hold_count.folded");
}

TEST(Folded, OneMetricHasNoRootFrameAndTimeIsTheSitesTotal) {
  Profile p = load_profile(kData + "stacks_base.json");
  std::string out = render_report(p, folded({"pool_lock_hold_ns"}));
  uint64_t sum = 0;
  std::istringstream in(out);
  size_t n = 0;
  for (std::string l; std::getline(in, l); ++n) {
    EXPECT_EQ(l.find("pool_lock_hold_ns"), std::string::npos) << l;
    sum += std::stoull(l.substr(l.rfind(' ') + 1));
  }
  const Metric& m = p.runs.at(0).metrics.at("pool_lock_hold_ns");
  uint64_t want = 0;
  for (const auto& s : m.by_site) want += s.hist->sum();
  EXPECT_EQ(n, m.by_site.size());
  EXPECT_EQ(sum, want);
}

TEST(Folded, SitesWithoutStacksAreShortStacksRootFirst) {
  Profile p = load_profile(kData + "record.json");
  std::string out = render_report(p, folded({"wakeups_under_pool_lock"}));
  EXPECT_EQ(out, "create_worker 7\nkick_pool_pick 30\n");
  out = render_report(p, folded({"pool_lock_hold_ns"}, Weight::kCount));
  // "kick_pool_pick <- __queue_work": the acquirer is the root.
  EXPECT_NE(out.find("__queue_work;kick_pool_pick 13\n"), std::string::npos) << out;
  EXPECT_NE(stacks_note(p).find("does not say how its sites were named"), std::string::npos);
  p.site_source = "acquirers";
  EXPECT_NE(stacks_note(p).find("recorded without --stacks"), std::string::npos);
  p.site_source = "stacks";
  EXPECT_EQ(stacks_note(p), "");
}

TEST(Folded, MetricsWithoutSitesAreUsageErrors) {
  Profile p = load_profile(kData + "stacks_base.json");
  try {
    render_report(p, folded({"pool_lock_wait_ns"}));
    FAIL() << "expected a usage error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), kExitUsage);
    EXPECT_NE(std::string(e.what()).find("has no sites"), std::string::npos);
  }
  EXPECT_THROW(parse_weight("bytes"), Error);
}

TEST(Folded, GoldenDiffIsTheUnionWithZerosWhereAbsent) {
  Profile b = load_profile(kData + "stacks_base.json");
  Profile c = load_profile(kData + "stacks_cand.json");
  FoldedDiffOptions o;
  o.metrics = {"wakeups_under_pool_lock"};
  std::string out = render_folded_diff(b, c, o);
  testing::expect_golden(out, "output/stacks_wakeups.difffolded");
  // The patch's question: the stack that woke under pool->lock before and not after.
  EXPECT_NE(out.find("__queue_work;kick_pool 900 0\n"), std::string::npos) << out;
  o.metrics = {};
  testing::expect_golden(render_folded_diff(b, c, o), "output/stacks_all.difffolded");
}

// ---- pprof -------------------------------------------------------------------

std::string gunzip(const std::string& gz) {
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, 15 + 16), Z_OK);
  std::string out;
  char buf[65536];
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  z.avail_in = uInt(gz.size());
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
  }
  inflateEnd(&z);
  EXPECT_EQ(rc, Z_STREAM_END) << "not a complete gzip stream";
  return out;
}

TEST(Pprof, IsGzipOfAProtoWithTheLockSampleTypes) {
  Profile p = load_profile(kData + "stacks_base.json");
  ReportOptions o = folded({"pool_lock_hold_ns"});
  o.format = Format::kPprof;
  std::string gz = render_report(p, o);
  ASSERT_GE(gz.size(), 2U);
  EXPECT_EQ(uint8_t(gz[0]), 0x1f);
  EXPECT_EQ(uint8_t(gz[1]), 0x8b);
  std::string pb = gunzip(gz);
  // The string table holds the sample types and every site.
  for (const char* s : {"contentions", "count", "delay", "nanoseconds", "__queue_work",
                        "worker_thread", "process_one_work"})
    EXPECT_NE(pb.find(s), std::string::npos) << s;
  EXPECT_TRUE(format_info(Format::kPprof).binary);
  EXPECT_FALSE(format_info(Format::kFolded).binary);
}

std::string run(const std::string& cmd, int* status) {
  FILE* f = popen((cmd + " 2>&1").c_str(), "r");
  if (!f) return {};
  std::string o;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) o.append(buf, n);
  int st = pclose(f);
  *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return o;
}

std::string go_binary() {
  for (const char* c : {"/usr/bin/go", "/usr/lib/go/bin/go", "/usr/local/go/bin/go"})
    if (access(c, X_OK) == 0) return c;
  return {};
}

class PprofReader : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(LOCKSCOPE_BINARY, X_OK) != 0)
      GTEST_SKIP() << "lockscope binary not built: " << LOCKSCOPE_BINARY;
    go_ = go_binary();
    if (go_.empty())
      GTEST_SKIP() << "go is not installed (Debian golang-go, scripts/install-deps.sh): the "
                      "pprof reader cannot be run";
    char dir[] = "/tmp/lockscope-pprof-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override {
    if (!dir_.empty()) {
      int st = 0;
      run("rm -rf '" + dir_ + "'", &st);
    }
  }
  // go tool pprof with a writable home and caches of its own.
  std::string pprof(const std::string& args, int* st) {
    std::string env = "HOME='" + dir_ + "' GOCACHE='" + dir_ + "/cache' GOPATH='" + dir_ +
                      "/gopath' PPROF_TMPDIR='" + dir_ + "' ";
    return run(env + go_ + " tool pprof " + args, st);
  }
  std::string go_, dir_;
};

// "Showing nodes accounting for 3287416ns, 100% of 3287416ns total" -> 3287416
uint64_t total_of(const std::string& top) {
  std::smatch m;
  static const std::regex re(R"(of ([0-9]+)(ns)? total)");
  if (!std::regex_search(top, m, re)) return 0;
  return std::stoull(m[1].str());
}

// The name on the first row under the "flat flat% ..." header.
std::string top_function(const std::string& top) {
  std::istringstream in(top);
  bool header = false;
  for (std::string l; std::getline(in, l);) {
    if (l.find("flat%") != std::string::npos) {
      header = true;
      continue;
    }
    if (header) return l.substr(l.find_last_of(' ') + 1);
  }
  return {};
}

TEST_F(PprofReader, TopFunctionAndTotalsMatchTheProfile) {
  std::string file = dir_ + "/hold.pb.gz";
  int st = -1;
  std::string out = run(std::string(LOCKSCOPE_BINARY) + " report " + kData +
                            "stacks_base.json --format pprof -m pool_lock_hold_ns -o " + file,
                        &st);
  ASSERT_EQ(st, 0) << out;

  Profile p = load_profile(kData + "stacks_base.json");
  const Metric& m = p.runs.at(0).metrics.at("pool_lock_hold_ns");
  uint64_t ns = 0, count = 0, best = 0;
  std::string best_site;
  for (const auto& s : m.by_site) {
    ns += s.hist->sum();
    count += s.count;
    if (s.hist->sum() > best) best = s.hist->sum(), best_site = s.site;
  }

  std::string top = pprof("-top -unit=ns -nodecount=100 -sample_index=delay " + file, &st);
  ASSERT_EQ(st, 0) << top;
  EXPECT_EQ(total_of(top), ns) << top;
  EXPECT_EQ(top_function(top), best_site) << top;

  top = pprof("-top -nodecount=100 -sample_index=contentions " + file, &st);
  ASSERT_EQ(st, 0) << top;
  EXPECT_EQ(total_of(top), count) << top;
}

TEST_F(PprofReader, StacksKeepTheirCallers) {
  std::string file = dir_ + "/wake.pb.gz";
  int st = -1;
  std::string out = run(std::string(LOCKSCOPE_BINARY) + " report " + kData +
                            "stacks_base.json --format pprof -m wakeups_under_pool_lock -o " + file,
                        &st);
  ASSERT_EQ(st, 0) << out;
  // -traces prints each sample's stack, leaf first: kick_pool above __queue_work.
  std::string traces = pprof("-traces -sample_index=contentions " + file, &st);
  ASSERT_EQ(st, 0) << traces;
  std::regex re(R"(900\s+kick_pool\s*\n\s+__queue_work)");
  EXPECT_TRUE(std::regex_search(traces, re)) << traces;
}

// ---- flame graphs in a real browser ----------------------------------------------

std::string chromium_binary() {
  for (const char* c : {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"})
    if (access(c, X_OK) == 0) return c;
  return {};
}

TEST(FlameHtml, HeadlessChromiumSearchesAndZooms) {
  std::string chromium = chromium_binary();
  if (chromium.empty())
    GTEST_SKIP() << "chromium is not installed (Debian chromium, scripts/install-deps.sh): the "
                    "page's script cannot be run";
  char dir[] = "/tmp/lockscope-flame-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string page = std::string(dir) + "/r.html";
  Profile p = load_profile(kData + "stacks_base.json");
  ReportOptions o;
  o.format = Format::kHtml;
  std::ofstream(page) << render_report(p, o);
  int st = -1;
  // --no-sandbox: the tests run as root; a profile directory of its own.
  std::string dom = run("HOME='" + std::string(dir) + "' timeout 120 " + chromium +
                            " --headless --no-sandbox --disable-gpu --user-data-dir='" + dir +
                            "/profile' --dump-dom 'file://" + page +
                            "#search=kick_pool&zoom=flame-all-pool_lock_hold_ns/__queue_work' "
                            "2>/dev/null",
                        &st);
  int rm = 0;
  run("rm -rf '" + std::string(dir) + "'", &rm);
  ASSERT_EQ(st, 0) << dom;
  ASSERT_NE(dom.find("<g class=\"flame\""), std::string::npos) << dom.substr(0, 2000);
  // The search ran: the share of each graph under a frame matching "kick_pool".
  std::smatch m;
  ASSERT_TRUE(std::regex_search(dom, m, std::regex(R"(id="flame-found">([^<]*)<)"))) << dom;
  const Metric& wake = p.runs.at(0).metrics.at("wakeups_under_pool_lock");
  uint64_t all = 0, kick = 0;
  for (const auto& s : wake.by_site) {
    all += s.count;
    if (s.site.rfind("kick_pool", 0) == 0) kick += s.count;
  }
  char want[64];
  std::snprintf(want, sizeof want, "flame-all-wakeups_under_pool_lock: %.1f%%",
                100.0 * double(kick) / double(all));
  EXPECT_NE(m[1].str().find(want), std::string::npos) << m[1].str() << " (want " << want << ")";
  EXPECT_NE(m[1].str().find("flame-all-pool_lock_hold_ns: 0.0%"), std::string::npos) << m[1];
  // The zoom ran: __queue_work fills the hold graph, its siblings are hidden.
  auto frame = [&](const std::string& name) {
    size_t graph = dom.find("id=\"flame-all-pool_lock_hold_ns\"");
    size_t at = dom.find("data-name=\"" + name + "\"", graph);
    return at == std::string::npos ? std::string() : dom.substr(at, dom.find("</g>", at) - at);
  };
  EXPECT_NE(frame("worker_thread").find("display: none"), std::string::npos)
      << frame("worker_thread");
  EXPECT_NE(frame("process_one_work").find("display: none"), std::string::npos);
  EXPECT_EQ(frame("__queue_work").find("display: none"), std::string::npos);
  EXPECT_NE(frame("__queue_work").find("width=\"799.0\""), std::string::npos)
      << frame("__queue_work");
}

// ---- terminals -------------------------------------------------------------------

TEST(Binary, PprofIsNotWrittenToATerminal) {
  if (access(LOCKSCOPE_BINARY, X_OK) != 0)
    GTEST_SKIP() << "lockscope binary not built: " << LOCKSCOPE_BINARY;
  int master = posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0)
    GTEST_SKIP() << "no pseudo-terminal available";
  std::string slave_name = ptsname(master);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int slave = open(slave_name.c_str(), O_RDWR);
    if (slave < 0) _exit(99);
    dup2(slave, STDOUT_FILENO);
    int null = open("/dev/null", O_WRONLY);
    dup2(null, STDERR_FILENO);
    std::string profile = kData + "stacks_base.json";
    execl(LOCKSCOPE_BINARY, LOCKSCOPE_BINARY, "report", profile.c_str(), "--format", "pprof",
          static_cast<char*>(nullptr));
    _exit(98);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  close(master);
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), kExitUsage);
}

}  // namespace
}  // namespace lockscope::output
