// SPDX-License-Identifier: Apache-2.0
// The VM tier's host-side parsing: result channel framing, panic detection,
// kernel selection and package naming. No QEMU needed.
#include <gtest/gtest.h>

#include "lockscope/vm/vm.hpp"
#include "vm_test_util.hpp"

using namespace lockscope;

namespace {

TEST(ResultChannel, DecodesFilesAndExitCode) {
  // "hello\n" and "a\nb" in base64, as busybox writes them through a tty (CRLF).
  std::string raw =
      "LOCKSCOPE-FILE-BEGIN output\r\naGVsbG8K\r\nLOCKSCOPE-FILE-END output\r\n"
      "LOCKSCOPE-FILE-BEGIN probe.json\r\nYQpi\r\nLOCKSCOPE-FILE-END probe.json\r\n"
      "LOCKSCOPE-EXIT 4\r\n";
  vm::ResultChannel rc = vm::parse_result_channel(raw);
  EXPECT_TRUE(rc.problems.empty()) << rc.problems.front();
  ASSERT_EQ(rc.files.size(), 2u);
  EXPECT_EQ(rc.files["output"], "hello\n");
  EXPECT_EQ(rc.files["probe.json"], "a\nb");
  ASSERT_TRUE(rc.exit_code.has_value());
  EXPECT_EQ(*rc.exit_code, 4);
}

TEST(ResultChannel, ReportsTruncationAndMissingExit) {
  vm::ResultChannel rc = vm::parse_result_channel("LOCKSCOPE-FILE-BEGIN dmesg\naGVsbG8K\n");
  EXPECT_FALSE(rc.exit_code.has_value());
  EXPECT_EQ(rc.files.count("dmesg"), 0u);
  ASSERT_EQ(rc.problems.size(), 2u);
  EXPECT_NE(rc.problems[0].find("truncated"), std::string::npos);
}

TEST(ResultChannel, RejectsBadBase64) {
  vm::ResultChannel rc = vm::parse_result_channel(
      "LOCKSCOPE-FILE-BEGIN x\n*not base64*\nLOCKSCOPE-FILE-END x\nLOCKSCOPE-EXIT 0\n");
  ASSERT_FALSE(rc.problems.empty());
  EXPECT_NE(rc.problems[0].find("base64"), std::string::npos);
}

TEST(Base64, RoundTripsAllByteValues) {
  // Encoded with coreutils base64: bytes 0..255.
  std::string expected;
  for (int i = 0; i < 256; ++i) expected.push_back(char(i));
  std::string enc =
      "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4\n"
      "OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWprbG1ub3Bx\n"
      "cnN0dXZ3eHl6e3x9fn+AgYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6ChoqOkpaanqKmq\n"
      "q6ytrq+wsbKztLW2t7i5uru8vb6/wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX2Nna29zd3t/g4eLj\n"
      "5OXm5+jp6uvs7e7v8PHy8/T19vf4+fr7/P3+/w==\n";
  bool ok = false;
  EXPECT_EQ(vm::base64_decode(enc, &ok), expected);
  EXPECT_TRUE(ok);
}

TEST(Panic, FindsPanicLineInConsole) {
  std::string console =
      "[    1.0] Run /init as init process\r\n"
      "[    2.5] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100\r\n"
      "[    2.6] ---[ end Kernel panic - not syncing ]---\r\n";
  auto p = vm::find_panic(console);
  ASSERT_TRUE(p.has_value());
  EXPECT_NE(p->find("Attempted to kill init"), std::string::npos);
  EXPECT_FALSE(
      vm::find_panic("[ 0.1] Linux version 7.3.4\n[ 3.0] reboot: Power down\n").has_value());
}

// What the Debian index offers today, in both naming schemes.
const std::vector<std::string> kVersions = {"6.1.0-47",      "6.1.0-50",       "6.12.43+deb12",
                                            "6.12.95+deb12", "6.12.107+deb13", "6.12.117+deb13",
                                            "7.2.6+deb13",   "7.2.9+deb13",    "7.2.12+deb13",
                                            "7.3.4+deb13",   "7.20.1+deb14"};

TEST(KernelVersions, GlobsAndExactReleasesSelectTheNewestMatch) {
  EXPECT_EQ(vm::select_kernel_version(kVersions, "7.2.*").version, "7.2.12+deb13");
  EXPECT_EQ(vm::select_kernel_version(kVersions, "7.3.*").version, "7.3.4+deb13");
  EXPECT_EQ(vm::select_kernel_version(kVersions, "6.12.*+deb12").version, "6.12.95+deb12");
  auto exact = vm::select_kernel_version(kVersions, "7.2.6+deb13-cloud-amd64");
  EXPECT_EQ(exact.version, "7.2.6+deb13");
  EXPECT_TRUE(exact.exact);
  EXPECT_TRUE(vm::select_kernel_version(kVersions, "6.1.0-47").exact);
}

TEST(KernelVersions, VersionPrefixEndsAtAComponentBoundary) {
  auto c = vm::select_kernel_version(kVersions, "7.2");
  EXPECT_EQ(c.version, "7.2.12+deb13");  // numeric order: 12 > 9 > 6
  EXPECT_EQ(c.matching, 3u);             // never 7.20.1
  EXPECT_FALSE(c.exact);
  EXPECT_EQ(vm::select_kernel_version(kVersions, "7.20").version, "7.20.1+deb14");
  EXPECT_EQ(vm::select_kernel_version(kVersions, "7.2.9").version, "7.2.9+deb13");
  EXPECT_EQ(vm::select_kernel_version(kVersions, "6.1").version, "6.1.0-50");
  EXPECT_EQ(vm::select_kernel_version(kVersions, "6.12").version, "6.12.117+deb13");
  EXPECT_EQ(vm::select_kernel_version(kVersions, "6").version, "6.12.117+deb13");
  EXPECT_THROW(vm::select_kernel_version(kVersions, "7.3.40"), Error);
  EXPECT_THROW(vm::select_kernel_version(kVersions, "6.1.0-5"), Error);
}

TEST(KernelVersions, ChoiceSaysWhichKernelAndAmongHowMany) {
  EXPECT_EQ(vm::select_kernel_version(kVersions, "7.2").describe(),
            "lockscope: kernel '7.2' -> 7.2.12+deb13-cloud-amd64 (newest of 3 matching)");
  EXPECT_EQ(vm::select_kernel_version(kVersions, "7.3").describe(),
            "lockscope: kernel '7.3' -> 7.3.4+deb13-cloud-amd64 (the only match)");
}

TEST(KernelVersions, MissNamesTheNewestOfEachSeries) {
  try {
    vm::select_kernel_version(kVersions, "9.*");
    FAIL() << "no error for a pattern that matches nothing";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), kExitUsage);
    EXPECT_EQ(std::string(e.what()),
              "no Debian cloud kernel matches '9.*'; newest of each series: 6.1.0-50, "
              "6.12.117+deb13, 7.2.12+deb13, 7.3.4+deb13, 7.20.1+deb14 (11 versions in all)");
    EXPECT_NE(e.hint().find("'7.2'"), std::string::npos) << e.hint();
  }
}

TEST(KernelVersions, NumericOrder) {
  EXPECT_LT(vm::compare_versions("7.2.9+deb13", "7.2.12+deb13"), 0);
  EXPECT_LT(vm::compare_versions("6.1.0-9", "6.1.0-50"), 0);
  EXPECT_LT(vm::compare_versions("6.12.90+deb12", "6.12.90+deb12.1"), 0);
  EXPECT_LT(vm::compare_versions("7.3~rc1", "7.3"), 0);
  EXPECT_LT(vm::compare_versions("7.3", "7.3.1"), 0);
  EXPECT_GT(vm::compare_versions("7.20.1", "7.3.4"), 0);
  EXPECT_EQ(vm::compare_versions("7.02", "7.2"), 0);
  EXPECT_EQ(vm::compare_versions("6.1.0-50", "6.1.0-50"), 0);
}

TEST(KernelPackages, BothNamingSchemesOnePackagePerVersion) {
  std::vector<std::string> names = {"linux-binary-7.3.4+deb13-cloud-amd64",
                                    "linux-image-7.3.4+deb13-cloud-amd64",
                                    "linux-binary-7.3.4+deb13-amd64",
                                    "linux-binary-unsigned-7.3.4+deb13-cloud-amd64",
                                    "linux-image-6.1.0-50-cloud-amd64-unsigned",
                                    "linux-image-6.1.0-50-cloud-amd64",
                                    "linux-image-6.1.0-50-cloud-amd64-dbg",
                                    "linux-image-6.12.43+deb12-cloud-amd64",
                                    "linux-image-6.12.117+deb13-cloud-amd64-unsigned",
                                    "linux-image-cloud-amd64",
                                    "linux-image-6.18.15+deb13-cloud-amd64",
                                    "linux-image-6.12.117+deb13-rt-amd64"};
  std::vector<std::pair<std::string, std::string>> got;
  for (const auto& k : vm::kernels_from_package_names(names))
    got.emplace_back(k.version, k.package);
  EXPECT_EQ(got, (std::vector<std::pair<std::string, std::string>>{
                     {"6.1.0-50", "linux-image-6.1.0-50-cloud-amd64"},
                     {"6.12.43+deb12", "linux-image-6.12.43+deb12-cloud-amd64"},
                     {"6.12.117+deb13", "linux-image-6.12.117+deb13-cloud-amd64-unsigned"},
                     {"6.18.15+deb13", "linux-image-6.18.15+deb13-cloud-amd64"},
                     {"7.3.4+deb13", "linux-binary-7.3.4+deb13-cloud-amd64"}}));
}

TEST(KernelPackages, VmlinuzInEitherPlace) {
  EXPECT_EQ(vm::vmlinuz_member({"./", "./usr/lib/modules/7.3.4+deb13-cloud-amd64/vmlinuz",
                                "./usr/lib/modules/7.3.4+deb13-cloud-amd64/System.map"},
                               "7.3.4+deb13-cloud-amd64"),
            "./usr/lib/modules/7.3.4+deb13-cloud-amd64/vmlinuz");
  EXPECT_EQ(vm::vmlinuz_member({"./boot/", "./boot/config-6.1.0-50-cloud-amd64",
                                "./boot/vmlinuz-6.1.0-50-cloud-amd64"},
                               "6.1.0-50-cloud-amd64"),
            "./boot/vmlinuz-6.1.0-50-cloud-amd64");
  EXPECT_FALSE(vm::vmlinuz_member({"./usr/share/doc/linux-image-7.3.4+deb13-cloud-amd64/"},
                                  "7.3.4+deb13-cloud-amd64")
                   .has_value());
}

TEST(PackageIndex, DependencyNames) {
  EXPECT_EQ(vm::dependency_names("linux-headers-6.1.0-50-common (= 6.1.176-1), linux-kbuild-6.1 "
                                 "(>= 6.1.176-1), linux-compiler-gcc-12-x86"),
            (std::vector<std::string>{"linux-headers-6.1.0-50-common", "linux-kbuild-6.1",
                                      "linux-compiler-gcc-12-x86"}));
  EXPECT_EQ(vm::dependency_names("a (= 1) | b [amd64], c:any <!nocheck>,d"),
            (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_TRUE(vm::dependency_names("").empty());
}

TEST(ModuleBuild, CompilerTheHeadersName) {
  EXPECT_EQ(vm::headers_compiler(
                {"linux-headers-6.1.0-50-common", "linux-kbuild-6.1", "linux-compiler-gcc-12-x86"}),
            "gcc-12");
  EXPECT_EQ(vm::headers_compiler({"gcc-14-for-host", "linux-base"}), "gcc-14");
  EXPECT_EQ(vm::headers_compiler({"linux-base", "gcc-14"}), "gcc-14");
  EXPECT_EQ(vm::headers_compiler({"linux-base"}), "");
}

TEST(ModuleBuild, FirstCompilerErrorWithoutTheBuildFolder) {
  std::string out =
      "make: Entering directory '/usr/src/linux-headers-6.1.0-50-common'\n"
      "  CC [M]  /build/twq-6.1.0-50-cloud-amd64/test_workqueue.o\n"
      "/build/twq-6.1.0-50-cloud-amd64/test_workqueue.c:152:16: error: implicit declaration of "
      "function 'kzalloc_objs'\n"
      "/build/twq-6.1.0-50-cloud-amd64/test_workqueue.c:156:15: error: assignment ...\n"
      "make: *** [Makefile:2050: /build/twq-6.1.0-50-cloud-amd64] Error 2\n";
  EXPECT_EQ(vm::first_build_error(out, "/build/twq-6.1.0-50-cloud-amd64"),
            "test_workqueue.c:152:16: error: implicit declaration of function 'kzalloc_objs'");
  EXPECT_EQ(vm::first_build_error("  CC [M]  x.o\n/bin/sh: 1: gcc-12: not found\nmake: *** [x] "
                                  "Error 127\n",
                                  "/build/x"),
            "/bin/sh: 1: gcc-12: not found");
}

TEST(Boot, KernelCommandLineTimesWithTheTsc) {
  vm::BootSpec s;
  std::string line = vm::kernel_command_line(s);
  EXPECT_NE(line.find("tsc=reliable"), std::string::npos) << line;
  EXPECT_EQ(line.find("tsc=unstable"), std::string::npos) << line;
  s.extra_append = vmtest::lockdown_param("confidentiality");
  line = vm::kernel_command_line(s);
  EXPECT_EQ(line.substr(line.size() - 25), " lockdown=confidentiality") << line;
}

TEST(VmTestUtil, KernelListAndSysfsSelection) {
  auto k = vmtest::parse_kernel_list("7.2=pre-patch  7.3=post-patch,6.12\n6.1.*");
  ASSERT_EQ(k.size(), 4u);
  EXPECT_EQ(k[0].pattern, "7.2");
  EXPECT_EQ(k[0].patch_state, "pre-patch");
  EXPECT_EQ(k[1].patch_state, "post-patch");
  EXPECT_EQ(k[2].pattern, "6.12");
  EXPECT_EQ(k[2].patch_state, "");
  EXPECT_EQ(k[3].pattern, "6.1.*");
  // The default: one kernel per Debian cloud series from 6.1 on, each with
  // the patch state probe must find there.
  auto d = vmtest::parse_kernel_list(vmtest::kDefaultKernels);
  ASSERT_EQ(d.size(), 4u);
  for (const auto& e : d) EXPECT_FALSE(e.patch_state.empty()) << e.pattern;
  EXPECT_EQ(d[3].pattern, "6.1");
  EXPECT_EQ(d[3].patch_state, "legacy");
  EXPECT_EQ(vmtest::selected("none integrity [confidentiality]\n"), "confidentiality");
  EXPECT_EQ(vmtest::selected("[none] integrity confidentiality"), "none");
  EXPECT_EQ(vmtest::selected("tsc\n"), "");
  EXPECT_TRUE(vmtest::times_with_tsc("tsc"));
  EXPECT_TRUE(vmtest::times_with_tsc("tsc-early"));
  EXPECT_FALSE(vmtest::times_with_tsc("hpet"));
  EXPECT_FALSE(vmtest::times_with_tsc("acpi_pm"));
}

TEST(InitScript, MountsRunsAndReportsOverSecondSerialPort) {
  std::string s = vm::init_script({"echo one", "lockscope probe --json > $RESULTS/probe.json"});
  for (const char* needle :
       {"mount -t proc", "mount -t sysfs", "mount -t devtmpfs", "mount -t tracefs", "mount -t bpf",
        "mount -t securityfs", "echo one\nlockscope probe", "/dev/ttyS1", "LOCKSCOPE-EXIT $rc",
        "poweroff -f"})
    EXPECT_NE(s.find(needle), std::string::npos) << needle;
}

}  // namespace
