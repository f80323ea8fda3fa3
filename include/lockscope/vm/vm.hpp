// SPDX-License-Identifier: Apache-2.0
// Real kernels under QEMU: fetch Debian kernel packages into a cache, build
// the kernel's own test_workqueue module for them, build an initramfs around
// the lockscope binary and boot it. Results come back over a second serial
// port in a framed format (never scraped from the kernel console).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lockscope/core/error.hpp"
#include "lockscope/workloads/workload.hpp"

namespace lockscope::vm {

// The environment cannot do what was asked (no QEMU, not root, package
// registry unreachable). Exit code kExitUnsupported; tests skip on it.
class Unavailable : public Error {
 public:
  Unavailable(const std::string& what, std::string hint = {})
      : Error(kExitUnsupported, what, std::move(hint)) {}
};

// $LOCKSCOPE_CACHE, else $XDG_CACHE_HOME/lockscope, else ~/.cache/lockscope.
std::string cache_dir();

// The Debian mirror URI from this machine's apt sources (deb822 `URIs:` line
// of /etc/apt/sources.list.d/debian.sources, else the first `deb` line of
// /etc/apt/sources.list). $LOCKSCOPE_MIRROR overrides. Throws Unavailable.
std::string mirror_uri();

// A package as the (private, signature-checked) package index describes it.
struct PackageInfo {
  std::string name;
  std::string version;
  std::string filename;  // pool path
  uint64_t size = 0;
  std::string sha256;
};

// Private apt state under cache_dir()/apt: nothing in the system's apt state
// changes. Lists are refreshed when older than an hour (or when `force`);
// when the registry is unreachable but lists exist, they are used as-is.
void update_index(bool force = false);
PackageInfo package_info(const std::string& name);
std::vector<std::string> package_names(const std::string& prefix);
// Downloads `name` into cache_dir()/debs (temp name, size + SHA256 checked,
// then renamed) unless a verified copy is there. Returns the .deb path.
std::string fetch_package(const std::string& name);

struct Kernel {
  std::string release;  // uname -r, e.g. "7.3.4+deb13-cloud-amd64"
  std::string version;  // e.g. "7.3.4+deb13"
  std::string package;  // linux-binary-<release>
  std::string vmlinuz;  // cached path
};

// Kernel versions ("7.2.12+deb13", …) of the linux-binary-*-cloud-amd64
// packages the index offers, oldest first.
std::vector<std::string> available_kernel_versions();
// The newest version matching the glob `pattern` ("7.2.*", "7.3.4+deb13").
// No match: usage error listing the versions that exist.
std::string select_kernel_version(const std::vector<std::string>& versions,
                                  const std::string& pattern);
Kernel fetch_kernel(const std::string& pattern);

// test_workqueue.ko for `kernel`, built in a cached debootstrap chroot and
// cached per kernel release. Returns the .ko path.
std::string build_test_workqueue(const Kernel& kernel);

struct GuestFile {
  std::string host_path;
  std::string guest_path;  // absolute, inside the guest
};

struct BootSpec {
  std::string vmlinuz;
  std::string lockscope_binary;       // copied to /bin/lockscope (+ its ldd libraries)
  std::vector<GuestFile> files;       // extra files (e.g. test_workqueue.ko)
  std::vector<std::string> commands;  // shell commands, run in order by /bin/sh
  int smp = 2;
  int memory_mb = 1024;
  int timeout_s = 300;
  std::string accel = "auto";  // auto | kvm | tcg
  std::string boot_dir;        // per-boot folder; empty = cache_dir()/boots/<stamp>
  std::string extra_append;    // appended to the kernel command line
};

struct BootResult {
  std::string boot_dir;
  std::string console_log;  // path
  std::string accel;        // kvm | tcg (what actually ran)
  bool completed = false;   // the guest reported an exit code
  bool hung = false;        // killed at the timeout
  bool panicked = false;    // a kernel panic/oops line in the console
  std::string panic_line;
  int exit_code = -1;  // of the last command (first failing one with `set -e`-like use)
  std::map<std::string, std::string> files;  // "output", "dmesg" and /results/* of the guest
  std::string console_tail;                  // last lines of the console
  double seconds = 0;

  const std::string& output() const;  // files["output"] (stdout+stderr of the commands)
  std::string describe() const;       // one line: how the boot ended
};

// Builds the initramfs, boots, waits (timeout, stop flag), parses the result
// channel. Never throws for guest failures (see completed/hung/panicked);
// throws for host problems. QEMU never outlives this call.
BootResult boot(const BootSpec& spec);

// --- pieces exposed for tests ---

// The result channel: the guest writes
//   LOCKSCOPE-FILE-BEGIN <name>\n<base64 lines>\nLOCKSCOPE-FILE-END <name>\n ...
//   LOCKSCOPE-EXIT <code>\n
struct ResultChannel {
  std::map<std::string, std::string> files;
  std::optional<int> exit_code;
  std::vector<std::string> problems;  // truncated blocks, bad base64, …
};
ResultChannel parse_result_channel(const std::string& raw);
std::string base64_decode(const std::string& text, bool* ok = nullptr);
// First kernel panic / oops / BUG line in a console log, if any.
std::optional<std::string> find_panic(const std::string& console);
std::string tail_lines(const std::string& text, size_t lines);
// The /init script for `spec` (exposed for tests and for docs).
std::string init_script(const std::vector<std::string>& commands);
// Whether KVM can be used: /dev/kvm opens and KVM_CREATE_VM succeeds.
bool kvm_usable(std::string* why = nullptr);

// Runs test_workqueue in a guest and parses its rows. A boot that printed no
// rows at all is retried once (logged); `retried` says whether it happened.
struct TestWorkqueueRun {
  BootResult boot;
  std::vector<TestWorkqueueRow> rows;
  bool retried = false;
};
TestWorkqueueRun run_test_workqueue(BootSpec base, const std::string& ko_path, unsigned wq_items,
                                    unsigned nr_threads);

}  // namespace lockscope::vm
