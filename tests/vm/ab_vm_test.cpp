// SPDX-License-Identifier: Apache-2.0
// `lockscope ab` end to end: the real binary boots the pre-patch (7.2.x) and
// post-patch (7.3.x) Debian kernels in turn under QEMU, records
// test_workqueue inside each boot and compares. Two boots per side keep it
// within the CI budget. With 2 vs 2 runs no rank test can reach p <= 0.05 and
// an absolute gate cannot bound the candidate's median (its sign test takes 5
// runs), so the patch's effect is asserted on the medians, the report must say
// that significance is out of reach, and the gate must end inconclusive with
// exit code 3 and that reason. Then `--resume --until-decided` must refuse
// the folder (another plan), as it must. Skips with the reason when QEMU, root
// or the package mirror is missing.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "vm_test_util.hpp"

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

using lockscope::vmtest::missing_prerequisite;
using lockscope::vmtest::slurp;

struct Ran {
  int code = -1;
  std::string out, err;
};

Ran run(const std::string& args, const std::string& dir) {
  Ran r;
  std::string out = dir + "/stdout", err = dir + "/stderr";
  std::string cmd = std::string(LOCKSCOPE_BINARY) + " " + args + " > " + out + " 2> " + err;
  int st = std::system(cmd.c_str());
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

const json* find_row(const json& diff, const std::string& scope, const std::string& key) {
  for (const auto& row : diff.at("rows"))
    if (row.at("scope") == scope && row.at("key") == key) return &row;
  return nullptr;
}

double median(const json& row, const char* side) {
  const json& m = row.at(side).at("median");
  return m.is_null() ? -1 : m.get<double>();
}

}  // namespace

TEST(VmAb, PrePatchVersusPostPatch) {
  if (auto why = missing_prerequisite(); !why.empty()) GTEST_SKIP() << why;

  char tmpl[] = "/tmp/lockscope-ab-vm-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string tmp = tmpl, dir = tmp + "/ab";
  const char* timeout = std::getenv("LOCKSCOPE_VM_TIMEOUT");
  Ran ab = run(
      std::string("ab --baseline '7.2.*' --candidate '7.3.*' --boots 2 --items 1000 --threads 2 "
                  "--smp 2 --timeout ") +
          (timeout && *timeout ? timeout : "400") +
          " --max-loss 0.02 --gate 'wakeups_under_pool_lock.share[all] <= 0.02' --format json "
          "--guest-binary " +
          LOCKSCOPE_GUEST_BINARY + " -o " + dir,
      tmp);
  std::printf("lockscope ab exit %d\nstderr:\n%s\n", ab.code, ab.err.c_str());
  if (ab.code == 4) GTEST_SKIP() << "environment lacks what lockscope ab needs:\n" << ab.err;
  ASSERT_TRUE(ab.code == 0 || ab.code == 1 || ab.code == 3) << ab.err;

  json j;
  ASSERT_NO_THROW(j = json::parse(ab.out)) << ab.out;
  // Exit code, JSON and the one line per boot agree.
  EXPECT_EQ(j.at("exit_code").get<int>(), ab.code);
  ASSERT_EQ(j.at("boots").size(), 4u);
  int ok[2] = {0, 0};
  for (const auto& b : j.at("boots")) {
    bool base = b.at("side") == "baseline";
    if (b.at("ok").get<bool>())
      ++ok[base ? 0 : 1];
    else
      ADD_FAILURE() << "boot left out: " << b.dump();
    EXPECT_NE(ab.err.find(b.at("kernel").get<std::string>()), std::string::npos);
  }
  EXPECT_EQ(j.at("baseline").at("profiles").get<int>(), ok[0]);
  EXPECT_EQ(j.at("candidate").at("profiles").get<int>(), ok[1]);
  if (ok[0] < 2 || ok[1] < 2) {
    EXPECT_EQ(ab.code, 3) << "too few boots must make the experiment inconclusive";
    EXPECT_NE(j.at("verdict").get<std::string>().find("inconclusive"), std::string::npos);
    FAIL() << "too few usable boots to check the comparison; profiles and consoles kept in " << dir;
  }
  // Interleaved A B A B.
  for (size_t i = 0; i < 4; ++i)
    EXPECT_EQ(j.at("boots")[i].at("side"), i % 2 ? "candidate" : "baseline") << i;

  const json& diff = j.at("diff");
  ASSERT_FALSE(diff.is_null());
  EXPECT_NE(diff.at("baseline").at("kernel").get<std::string>().rfind("7.2.", 0),
            std::string::npos);
  EXPECT_NE(diff.at("candidate").at("kernel").get<std::string>().rfind("7.3.", 0),
            std::string::npos);

  // The seed's table: every test_workqueue scope, 2 runs per side.
  for (const char* scope : {"cpu", "smt", "cache_shard", "cache", "numa", "system"}) {
    const json* row = find_row(diff, scope, "tput");
    ASSERT_NE(row, nullptr) << "no tput row for scope " << scope;
    EXPECT_EQ(row->at("baseline").at("runs").get<int>(), 2) << scope;
    EXPECT_EQ(row->at("candidate").at("runs").get<int>(), 2) << scope;
    EXPECT_GT(median(*row, "baseline"), 0) << scope;
    EXPECT_GT(median(*row, "candidate"), 0) << scope;
    EXPECT_NE(find_row(diff, scope, "p95"), nullptr) << scope;
  }

  // The lock metrics: wakeups under pool->lock far lower after the patch.
  const json* share = find_row(diff, "all", "wakeups_under_pool_lock.share");
  ASSERT_NE(share, nullptr) << diff.at("rows").dump();
  double sb = median(*share, "baseline"), sc = median(*share, "candidate");
  std::printf("wakeups under pool->lock: baseline %.4f, candidate %.4f (medians of 2 boots)\n", sb,
              sc);
  EXPECT_GT(sb, 0.05) << "pre-patch kick_pool wakes workers under pool->lock";
  EXPECT_GE(sc, 0);
  EXPECT_LT(sc, 0.02);
  EXPECT_LT(sc * 5, sb);
  const json* count = find_row(diff, "all", "wakeups_under_pool_lock.count");
  ASSERT_NE(count, nullptr);
  EXPECT_LT(median(*count, "candidate") * 5, median(*count, "baseline"));

  // 2 vs 2 runs cannot be significant at 0.05, and the report says so.
  bool honest = false;
  for (const auto& n : diff.at("notes"))
    honest = honest || n.get<std::string>().find("cannot reach") != std::string::npos;
  EXPECT_TRUE(honest) << diff.at("notes").dump();
  EXPECT_FALSE(share->at("significant_bh").is_boolean() && share->at("significant_bh").get<bool>());

  // The gate cannot decide on 2 candidate runs, says why, and the exit code is its verdict.
  ASSERT_TRUE(diff.contains("gate"));
  EXPECT_EQ(diff.at("gate").at("outcome"), "INCONCLUSIVE") << diff.at("gate").dump();
  EXPECT_EQ(diff.at("gate").at("exit_code").get<int>(), ab.code);
  ASSERT_EQ(diff.at("gate").at("checks").size(), 1u);
  EXPECT_NE(diff.at("gate").at("checks")[0].at("reason").get<std::string>().find("too few runs"),
            std::string::npos)
      << diff.at("gate").dump();
  EXPECT_EQ(ab.code, 3);
  EXPECT_EQ(j.at("verdict"), "gate inconclusive");
  EXPECT_NE(ab.err.find("gate inconclusive"), std::string::npos) << ab.err;

  // The folder reproduces the comparison with `lockscope diff`.
  Ran d = run("diff " + dir + "/baseline " + dir + "/candidate --max-loss 0.02 " +
                  "--gate 'wakeups_under_pool_lock.share[all] <= 0.02'",
              tmp);
  EXPECT_EQ(d.code, ab.code) << d.out << d.err;
  EXPECT_NE(d.out.find("cannot reach"), std::string::npos) << d.out;
  for (const auto& b : j.at("boots"))
    EXPECT_TRUE(fs::exists(b.at("console").get<std::string>())) << b.dump();

  // The folder records its plan: continuing it as a sequential experiment is
  // another experiment, refused before anything boots.
  Ran again = run(std::string("ab --baseline '7.2.*' --candidate '7.3.*' --until-decided "
                              "--max-boots 6 --items 1000 --threads 2 --smp 2 --max-loss 0.02 "
                              "--gate 'wakeups_under_pool_lock.share[all] <= 0.02' --resume "
                              "--guest-binary ") +
                      LOCKSCOPE_GUEST_BINARY + " -o " + dir,
                  tmp);
  EXPECT_EQ(again.code, 2) << again.err;
  EXPECT_NE(again.err.find("holds another experiment"), std::string::npos) << again.err;

  if (!HasFailure())
    fs::remove_all(tmp);
  else
    std::printf("kept %s\n", tmp.c_str());
}
