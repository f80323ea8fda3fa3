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
  std::vector<std::string> depends;  // package names in Depends (every alternative)
};

// The package names in a Depends field, in order, without versions,
// architecture qualifiers or restrictions.
std::vector<std::string> dependency_names(const std::string& depends);

// Private apt state under cache_dir()/apt: nothing in the system's apt state
// changes. Lists are refreshed when older than an hour (or when `force`);
// when the registry is unreachable but lists exist, they are used as-is.
void update_index(bool force = false);
PackageInfo package_info(const std::string& name);
// Real packages (never virtual names) whose name matches the POSIX regex.
std::vector<std::string> search_packages(const std::string& name_regex);
// Downloads `name` into cache_dir()/debs (temp name, size + SHA256 checked,
// then renamed) unless a verified copy is there. Returns the .deb path.
std::string fetch_package(const std::string& name);

struct Kernel {
  std::string release;  // uname -r, e.g. "7.3.4+deb13-cloud-amd64", "6.1.0-50-cloud-amd64"
  std::string version;  // the release without "-cloud-amd64": "7.3.4+deb13", "6.1.0-50"
  std::string package;  // the package holding its vmlinuz (see KernelPackage)
  std::string vmlinuz;  // cached path
};

// A Debian cloud kernel the index offers, under either naming scheme:
// linux-binary-<release> (trixie-backports from 6.19, vmlinuz in
// usr/lib/modules/<release>/) or linux-image-<release>[-unsigned] (bookworm,
// bookworm-backports, trixie, trixie-backports; vmlinuz in boot/).
struct KernelPackage {
  std::string version;  // "7.2.12+deb13", "6.1.0-50"
  std::string package;
};

// One entry per version from a list of package names: linux-binary-* wins
// over linux-image-* (from 6.19 a metapackage next to it), which wins over
// linux-image-*-unsigned. Other names (-dbg, other flavours, metapackages
// without a version) are ignored. Sorted oldest first (compare_versions).
std::vector<KernelPackage> kernels_from_package_names(const std::vector<std::string>& names);
// The cloud-amd64 kernels of every suite in the private index, oldest first.
std::vector<KernelPackage> available_kernels();

// Numeric version order: digit runs compare as numbers, '~' sorts before
// anything (as in Debian), other characters by value. <0, 0, >0.
int compare_versions(const std::string& a, const std::string& b);

struct KernelChoice {
  std::string pattern;
  std::string version;  // the newest match
  size_t matching = 0;  // how many versions matched
  bool exact = false;   // the pattern named this version (or its release)
  // "lockscope: kernel '7.2' -> 7.2.12+deb13-cloud-amd64 (newest of 4 matching)"
  std::string describe() const;
};

// The newest version `pattern` selects:
//   - a version or release, exactly ("7.3.4+deb13", "6.1.0-50-cloud-amd64");
//   - a glob over versions or releases ("7.2.*", "6.12.*+deb12");
//   - a version prefix ending at a component boundary ('.', '+', '-', '~'):
//     "7.2" selects 7.2.12+deb13 (never 7.20.1), "6.1" selects 6.1.0-50.
// No match: usage error naming the newest version of each series.
KernelChoice select_kernel_version(const std::vector<std::string>& versions,
                                   const std::string& pattern);
// The vmlinuz inside a kernel package, from its member list (tar -t):
// ./usr/lib/modules/<release>/vmlinuz or ./boot/vmlinuz-<release>.
std::optional<std::string> vmlinuz_member(const std::vector<std::string>& members,
                                          const std::string& release);
// Selects (printing the choice on stderr unless the pattern was exact),
// downloads and extracts the kernel; cached.
Kernel fetch_kernel(const std::string& pattern);

// test_workqueue.ko for `kernel`, built in a cached debootstrap chroot and
// cached per kernel release. Returns the .ko path. Throws Unavailable when
// the kernel's headers are not in the index or the source does not build
// against them (e.g. 6.1: the 7.3 source uses newer kernel APIs), naming the
// first compiler error; callers fall back to the pty workload.
std::string build_test_workqueue(const Kernel& kernel);
// The gcc a linux-headers package was made with, from its Depends
// ("gcc-14", "gcc-14-for-host", "linux-compiler-gcc-12-x86" -> "gcc-12").
std::string headers_compiler(const std::vector<std::string>& depends);
// The first compiler error in a module build's output, without the build
// folder's path; else the first "not found"/"***" line, else the last line.
std::string first_build_error(const std::string& output, const std::string& build_dir);

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
  std::string extra_append;    // appended to the kernel command line (e.g. "lockdown=integrity")
};

// The guest's kernel command line: serial console, no reboot on panic, the
// TSC as clocksource (tsc=reliable), then spec.extra_append.
std::string kernel_command_line(const BootSpec& spec);

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
