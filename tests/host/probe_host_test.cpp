// SPDX-License-Identifier: Apache-2.0
// Runs the real `lockscope probe --json` on this machine's kernel and checks
// the facts a locked-down host with a pre-patch workqueue reports: function
// hooks refused, tp_btf tracepoints usable, tracepoint backend chosen.
// Set LOCKSCOPE_EXPECT_FENTRY=1 on a host where fentry works to flip the
// function-hook expectations.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

namespace {

struct Result {
  int code;
  std::string out;
};

Result run(const std::string& cmd) {
  std::string full = cmd + " 2>/dev/null";
  FILE* p = popen(full.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

class ProbeHost : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to load BPF programs";
  }
};

TEST_F(ProbeHost, JsonReportsThisHost) {
  Result r = run(std::string(LOCKSCOPE_BINARY) + " probe --json");
  ASSERT_EQ(r.code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["schema"], "lockscope.probe");
  EXPECT_TRUE(j["btf"]["present"].get<bool>());
  EXPECT_FALSE(j["kernel_release"].get<std::string>().empty());
  EXPECT_TRUE(j["privileges"]["root"].get<bool>());

  bool expect_fentry = std::getenv("LOCKSCOPE_EXPECT_FENTRY") != nullptr;
  for (const auto& f : j["functions"]) {
    if (f["name"] == "try_to_wake_up" || f["name"] == "_raw_spin_lock") {
      EXPECT_TRUE(f["in_btf"].get<bool>()) << f.dump();
      EXPECT_EQ(f["fentry"]["ok"].get<bool>(), expect_fentry) << f.dump();
      if (!expect_fentry) {
        EXPECT_EQ(f["fentry"]["errno"].get<int>(), 1) << "EPERM expected: " << f.dump();
      }
    }
  }
  for (const auto& t : j["tracepoints"]) {
    EXPECT_TRUE(t["tp_btf"]["ok"].get<bool>()) << t.dump();
  }
  EXPECT_EQ(j["patch"]["state"], "pre-patch") << j["patch"].dump();
  EXPECT_EQ(j["backend"]["name"], expect_fentry ? "fentry" : "tracepoint");
}

TEST_F(ProbeHost, TextNamesTheBackendAndWhy) {
  Result r = run(std::string(LOCKSCOPE_BINARY) + " probe");
  ASSERT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("patch state   pre-patch"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("backend"), std::string::npos);
}

TEST(ProbeCli, UnknownFlagIsUsageError) {
  Result r = run(std::string(LOCKSCOPE_BINARY) + " probe --no-such-flag");
  EXPECT_EQ(r.code, 2);
  r = run(std::string(LOCKSCOPE_BINARY) + " no-such-command");
  EXPECT_EQ(r.code, 2);
}

TEST(ProbeCli, NotRootIsExit4) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to drop to another user";
  // setpriv drops every capability; lockscope must name what is missing.
  Result r = run("setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all " +
                 std::string(LOCKSCOPE_BINARY) + " probe");
  EXPECT_EQ(r.code, 4);
}

}  // namespace
