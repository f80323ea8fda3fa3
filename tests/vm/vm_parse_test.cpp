// SPDX-License-Identifier: Apache-2.0
// The VM tier's host-side parsing: result channel framing, panic detection,
// kernel version selection. No QEMU needed.
#include <gtest/gtest.h>

#include "lockscope/vm/vm.hpp"

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

TEST(KernelVersions, NewestMatchWinsAndMissListsVersions) {
  std::vector<std::string> v = {"7.2.6+deb13", "7.2.9+deb13", "7.2.12+deb13", "7.3.4+deb13"};
  EXPECT_EQ(vm::select_kernel_version(v, "7.2.*"), "7.2.12+deb13");
  EXPECT_EQ(vm::select_kernel_version(v, "7.3.*"), "7.3.4+deb13");
  EXPECT_EQ(vm::select_kernel_version(v, "7.2.9"), "7.2.9+deb13");
  EXPECT_EQ(vm::select_kernel_version(v, "7.2.6+deb13-cloud-amd64"), "7.2.6+deb13");
  try {
    vm::select_kernel_version(v, "9.*");
    FAIL() << "no error for a pattern that matches nothing";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), kExitUsage);
    EXPECT_NE(std::string(e.what()).find("7.2.12+deb13"), std::string::npos) << e.what();
  }
}

TEST(InitScript, MountsRunsAndReportsOverSecondSerialPort) {
  std::string s = vm::init_script({"echo one", "lockscope probe --json > $RESULTS/probe.json"});
  for (const char* needle :
       {"mount -t proc", "mount -t sysfs", "mount -t devtmpfs", "mount -t tracefs", "mount -t bpf",
        "echo one\nlockscope probe", "/dev/ttyS1", "LOCKSCOPE-EXIT $rc", "poweroff -f"})
    EXPECT_NE(s.find(needle), std::string::npos) << needle;
}

}  // namespace
