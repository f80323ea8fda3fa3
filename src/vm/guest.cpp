// SPDX-License-Identifier: Apache-2.0
// Guest image (busybox initramfs around the lockscope binary), the QEMU boot
// runner and the result channel on the second serial port.
#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <dirent.h>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <regex>
#include <set>
#include <sstream>

#include "lockscope/core/log.hpp"
#include "lockscope/core/signals.hpp"
#include "lockscope/vm/vm.hpp"
#include "vm/process.hpp"

namespace lockscope::vm {
using namespace detail;

namespace {

constexpr const char* kBegin = "LOCKSCOPE-FILE-BEGIN ";
constexpr const char* kEnd = "LOCKSCOPE-FILE-END ";
constexpr const char* kExit = "LOCKSCOPE-EXIT ";
constexpr size_t kKeepBoots = 40;

std::string find_busybox() {
  if (const char* b = std::getenv("LOCKSCOPE_BUSYBOX"); b && *b) return b;
  for (const char* p : {"/bin/busybox", "/usr/bin/busybox", "/usr/lib/initramfs-tools/bin/busybox"})
    if (exists(p)) return p;
  throw Unavailable("busybox not found", "install busybox-static (or set LOCKSCOPE_BUSYBOX)");
}

std::string find_qemu() {
  for (const char* p : {"/usr/bin/qemu-system-x86_64", "/usr/local/bin/qemu-system-x86_64"})
    if (exists(p)) return p;
  throw Unavailable("qemu-system-x86_64 not found", "install the qemu-system-x86 package");
}

void copy_into(const std::string& root, const std::string& host, const std::string& guest,
               int mode) {
  if (!exists(host)) throw usage_error("file for the guest not found: " + host);
  std::string dst = root + guest;
  make_dirs(dst.substr(0, dst.rfind('/')));
  run_checked({"cp", "-L", host, dst}, "copying " + host + " into the guest image");
  if (mode) chmod(dst.c_str(), mode_t(mode));
}

// Libraries a dynamic executable needs, as ldd lists them (empty when static).
std::vector<std::string> ldd_libraries(const std::string& binary) {
  RunResult r = run({"ldd", binary});
  std::vector<std::string> libs;
  if (r.status != 0) return libs;  // "not a dynamic executable"
  static const std::regex re("(/[^ \\t]+) \\(0x");
  std::istringstream s(r.output);
  std::string line;
  while (std::getline(s, line)) {
    std::smatch m;
    if (std::regex_search(line, m, re)) libs.push_back(m[1]);
  }
  return libs;
}

void prune_boots(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (!d) return;
  std::vector<std::string> names;
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') names.emplace_back(e->d_name);
  closedir(d);
  std::sort(names.begin(), names.end());
  for (size_t i = 0; i + kKeepBoots < names.size(); ++i) remove_tree(dir + "/" + names[i]);
}

std::string new_boot_dir() {
  std::string base = cache_dir() + "/boots";
  make_dirs(base);
  prune_boots(base);
  char stamp[64];
  time_t now = time(nullptr);
  strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", localtime(&now));
  TempDir t(base, std::string(stamp) + "-");
  std::string p = t.path();
  t.release();
  return p;
}

std::string build_initramfs(const BootSpec& spec, const std::string& boot_dir) {
  TempDir root(boot_dir, ".initramfs-");
  const std::string& r = root.path();
  for (const char* d : {"/bin", "/sbin", "/usr/bin", "/usr/sbin", "/proc", "/sys", "/dev", "/tmp",
                        "/run", "/results", "/lib/modules"})
    make_dirs(r + d);
  copy_into(r, find_busybox(), "/bin/busybox", 0755);
  symlink("busybox", (r + "/bin/sh").c_str());
  if (!spec.lockscope_binary.empty()) {
    copy_into(r, spec.lockscope_binary, "/bin/lockscope", 0755);
    for (const auto& lib : ldd_libraries(spec.lockscope_binary)) copy_into(r, lib, lib, 0);
  }
  for (const auto& f : spec.files) {
    if (f.guest_path.empty() || f.guest_path[0] != '/')
      throw usage_error("guest path must be absolute: '" + f.guest_path + "'");
    copy_into(r, f.host_path, f.guest_path, 0);
  }
  write_file(r + "/init", init_script(spec.commands), 0755);
  std::string image = boot_dir + "/initramfs.cpio.gz";
  run_checked(
      {"sh", "-c", "cd \"$1\" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -1 > \"$2\"", "sh",
       r, image},
      "building the initramfs");
  return image;
}

std::string host_release() {
  struct utsname u;
  uname(&u);
  return u.release;
}

// KVM that opens but cannot run guests (seen with nested virtualisation) is
// remembered per host kernel so later boots go straight to TCG.
std::string kvm_broken_file() { return cache_dir() + "/kvm-broken"; }

bool kvm_known_broken() {
  std::string f = kvm_broken_file();
  return exists(f) && read_file(f).rfind(host_release() + "\n", 0) == 0;
}

void mark_kvm_broken(const std::string& why) {
  log::warn("vm: KVM cannot run guests here ({}); using TCG from now on", why);
  make_dirs(cache_dir());
  write_file(kvm_broken_file(), host_release() + "\n" + why + "\n");
}

std::optional<std::string> kvm_failure(const std::string& qemu_log) {
  for (const char* s : {"KVM internal error", "kvm_buf_set_msrs", "failed to initialize kvm",
                        "KVM: entry failed", "emulation failure"}) {
    auto pos = qemu_log.find(s);
    if (pos != std::string::npos) {
      auto end = qemu_log.find('\n', pos);
      auto start = qemu_log.rfind('\n', pos);
      return qemu_log.substr(start == std::string::npos ? 0 : start + 1,
                             (end == std::string::npos ? qemu_log.size() : end) -
                                 (start == std::string::npos ? 0 : start + 1));
    }
  }
  return std::nullopt;
}

struct Attempt {
  bool exited = false;
  int status = -1;
  bool hung = false;
  std::optional<std::string> kvm_error;
  double seconds = 0;
};

Attempt run_qemu(const BootSpec& spec, const std::string& accel, const std::string& image,
                 const std::string& dir) {
  std::string console = dir + "/console.log", result = dir + "/result.out",
              qlog = dir + "/qemu.log";
  for (const auto& f : {console, result, qlog}) unlink(f.c_str());
  std::string append = kernel_command_line(spec);
  // TCG runs single-threaded: with one host thread per vCPU (MTTCG) a guest
  // that live-patches its text (ftrace, when an fentry program attaches) was
  // seen to trip over a stale int3 in another vCPU ("Oops: int3").
  std::string accel_arg = accel == "tcg" ? "tcg,thread=single" : accel;
  std::vector<std::string> argv = {find_qemu(),
                                   "-accel",
                                   accel_arg,
                                   "-m",
                                   std::to_string(spec.memory_mb),
                                   "-smp",
                                   std::to_string(spec.smp),
                                   "-kernel",
                                   spec.vmlinuz,
                                   "-initrd",
                                   image,
                                   "-append",
                                   append,
                                   "-nodefaults",
                                   "-no-user-config",
                                   "-display",
                                   "none",
                                   "-monitor",
                                   "none",
                                   "-no-reboot",
                                   "-net",
                                   "none",
                                   "-serial",
                                   "file:" + console,
                                   "-serial",
                                   "file:" + result};
  write_file(dir + "/qemu.cmdline", fmt::format("{}\n", fmt::join(argv, " ")));
  Attempt a;
  Child qemu;
  auto start = std::chrono::steady_clock::now();
  qemu.start(argv, qlog);
  while (true) {
    int st;
    if (qemu.poll(&st)) {
      a.exited = true;
      a.status = st;
      break;
    }
    a.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (stop_requested()) {
      qemu.kill_group();
      throw Error(kExitInconclusive, "interrupted; QEMU stopped (console: " + console + ")");
    }
    if (accel == "kvm") {
      if (auto e = kvm_failure(read_file(qlog))) {
        a.kvm_error = e;
        break;  // ~Child kills QEMU
      }
    }
    if (a.seconds > spec.timeout_s) {
      a.hung = true;
      break;
    }
    usleep(100 * 1000);
  }
  a.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (a.exited && accel == "kvm" && !a.kvm_error && a.status != 0) {
    std::string q = read_file(qlog);
    if (q.find("kvm") != std::string::npos || q.find("KVM") != std::string::npos)
      a.kvm_error = tail_of(q, 1);
  }
  return a;
}

}  // namespace

const std::string& BootResult::output() const {
  static const std::string empty;
  auto it = files.find("output");
  return it == files.end() ? empty : it->second;
}

std::string BootResult::describe() const {
  std::ostringstream s;
  if (hung)
    s << "guest hung: killed after " << int(seconds) << " s";
  else if (panicked)
    s << "guest panicked: " << panic_line;
  else if (!completed)
    s << "guest ended without reporting an exit code";
  else
    s << "guest exit code " << exit_code;
  s << " (" << accel << ", " << fmt::format("{:.1f}", seconds) << " s, console " << console_log
    << ")";
  return s.str();
}

std::string kernel_command_line(const BootSpec& spec) {
  // tsc=reliable: the guest times with the TSC. Under TCG the clocksource
  // watchdog would otherwise find the TSC unstable and fall back to HPET,
  // where every bpf_ktime_get_ns() is an emulated device read (3.5x the
  // cost of a lock hook's program, and the lock holds it times inflated).
  std::string line = "console=ttyS0 quiet panic=-1 tsc=reliable";
  if (!spec.extra_append.empty()) line += " " + spec.extra_append;
  return line;
}

bool kvm_usable(std::string* why) {
  int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    if (why) *why = std::string("/dev/kvm: ") + strerror(errno);
    return false;
  }
  int vm = ioctl(fd, KVM_CREATE_VM, 0);
  if (vm < 0) {
    if (why) *why = std::string("KVM_CREATE_VM: ") + strerror(errno);
    close(fd);
    return false;
  }
  close(vm);
  close(fd);
  if (kvm_known_broken()) {
    if (why) *why = "KVM could not run a guest earlier on this host (" + kvm_broken_file() + ")";
    return false;
  }
  return true;
}

std::string init_script(const std::vector<std::string>& commands) {
  std::ostringstream s;
  s << R"(#!/bin/sh
# lockscope guest init: mount, run the commands, send results over /dev/ttyS1, power off.
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root RESULTS=/results
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mkdir -p /sys/fs/bpf && mount -t bpf bpf /sys/fs/bpf
[ -d /sys/kernel/debug ] && mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
cat > /tmp/commands.sh <<'LOCKSCOPE_COMMANDS_EOF'
set -e
)";
  for (const auto& c : commands) s << c << "\n";
  s << R"(LOCKSCOPE_COMMANDS_EOF
cd /
sh /tmp/commands.sh > /tmp/output 2>&1 < /dev/null
rc=$?
dmesg > /tmp/dmesg
send() {
  echo "LOCKSCOPE-FILE-BEGIN $1"
  base64 "$2"
  echo "LOCKSCOPE-FILE-END $1"
}
stty -F /dev/ttyS1 raw -echo 2>/dev/null
{
  send output /tmp/output
  send dmesg /tmp/dmesg
  for f in /results/*; do [ -f "$f" ] && send "${f##*/}" "$f"; done
  echo "LOCKSCOPE-EXIT $rc"
} > /dev/ttyS1
sync
poweroff -f
)";
  return s.str();
}

std::string base64_decode(const std::string& text, bool* ok) {
  static const std::string alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  bool good = true;
  size_t pad = 0, symbols = 0;
  for (char c : text) {
    if (c == '\n' || c == '\r' || c == ' ' || c == '\t') continue;
    if (c == '=') {
      ++pad;
      ++symbols;
      continue;
    }
    auto v = alphabet.find(c);
    if (v == std::string::npos || pad) {
      good = false;
      continue;
    }
    ++symbols;
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(char((acc >> bits) & 0xff));
    }
  }
  if (symbols % 4 != 0 || pad > 2) good = false;
  if (ok) *ok = good;
  return out;
}

ResultChannel parse_result_channel(const std::string& raw) {
  ResultChannel rc;
  std::istringstream s(raw);
  std::string line, name, body;
  bool in_block = false;
  while (std::getline(s, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind(kBegin, 0) == 0) {
      if (in_block) rc.problems.push_back("block '" + name + "' has no end marker");
      name = line.substr(strlen(kBegin));
      body.clear();
      in_block = true;
    } else if (line.rfind(kEnd, 0) == 0) {
      std::string end_name = line.substr(strlen(kEnd));
      if (!in_block || end_name != name) {
        rc.problems.push_back("end marker for '" + end_name + "' without its begin");
        in_block = false;
        continue;
      }
      bool ok = true;
      std::string data = base64_decode(body, &ok);
      if (!ok) rc.problems.push_back("block '" + name + "' is not valid base64");
      rc.files[name] = data;
      in_block = false;
    } else if (line.rfind(kExit, 0) == 0 && !in_block) {
      char* end = nullptr;
      std::string v = line.substr(strlen(kExit));
      errno = 0;
      long code = std::strtol(v.c_str(), &end, 10);
      if (end && end != v.c_str() && *end == '\0' && errno != ERANGE && code >= INT_MIN &&
          code <= INT_MAX)
        rc.exit_code = int(code);
      else
        rc.problems.push_back("bad exit line '" + line + "'");
    } else if (in_block) {
      body += line;
    }
  }
  if (in_block) rc.problems.push_back("block '" + name + "' is truncated");
  if (!rc.exit_code) rc.problems.emplace_back("no exit code reported");
  return rc;
}

std::optional<std::string> find_panic(const std::string& console) {
  // Plain substring search: std::regex recursion ("...*" over a long guest
  // line) overflowed the stack on a 100 kB console line.
  static const char* const kMarks[] = {"Kernel panic - not syncing", "kernel BUG at",
                                       "BUG: unable to handle",
                                       "Oops: ", "general protection fault"};
  std::istringstream s(console);
  std::string line;
  while (std::getline(s, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    for (const char* mark : kMarks)
      if (line.find(mark) != std::string::npos) return line;
  }
  return std::nullopt;
}

std::string tail_lines(const std::string& text, size_t lines) { return tail_of(text, lines); }

BootResult boot(const BootSpec& spec) {
  if (spec.vmlinuz.empty() || !exists(spec.vmlinuz))
    throw usage_error("kernel image not found: " + spec.vmlinuz);
  if (spec.smp < 1 || spec.memory_mb < 128 || spec.timeout_s < 1)
    throw usage_error("bad VM settings (smp >= 1, memory >= 128 MiB, timeout >= 1 s)");
  find_qemu();
  BootResult res;
  res.boot_dir = spec.boot_dir.empty() ? new_boot_dir() : spec.boot_dir;
  make_dirs(res.boot_dir);
  res.console_log = res.boot_dir + "/console.log";
  std::string image = build_initramfs(spec, res.boot_dir);

  std::string accel = spec.accel;
  if (accel == "auto") {
    if (const char* e = std::getenv("LOCKSCOPE_VM_ACCEL"); e && *e) accel = e;
  }
  if (accel == "auto") {
    std::string why;
    accel = kvm_usable(&why) ? "kvm" : "tcg";
    if (accel == "tcg") log::debug("vm: not using KVM: {}", why);
  }
  if (accel != "kvm" && accel != "tcg")
    throw usage_error("accel must be auto, kvm or tcg, not '" + accel + "'");
  log::info("vm: booting {} ({}, {} CPUs, {} MiB, timeout {} s) in {}", spec.vmlinuz, accel,
            spec.smp, spec.memory_mb, spec.timeout_s, res.boot_dir);
  Attempt a = run_qemu(spec, accel, image, res.boot_dir);
  if (a.kvm_error) {
    if (spec.accel == "kvm") {
      unlink(image.c_str());
      throw Unavailable("QEMU with KVM failed: " + *a.kvm_error,
                        "use accel tcg (LOCKSCOPE_VM_ACCEL=tcg)");
    }
    mark_kvm_broken(*a.kvm_error);
    accel = "tcg";
    log::info("vm: booting again with TCG");
    a = run_qemu(spec, accel, image, res.boot_dir);
  }
  unlink(image.c_str());
  res.accel = accel;
  res.seconds = a.seconds;
  res.hung = a.hung;
  std::string console = read_file(res.console_log);
  res.console_tail = tail_of(console, 30);
  if (auto p = find_panic(console)) {
    res.panicked = true;
    res.panic_line = *p;
  }
  ResultChannel ch = parse_result_channel(read_file(res.boot_dir + "/result.out"));
  res.files = std::move(ch.files);
  if (ch.exit_code) {
    res.completed = true;
    res.exit_code = *ch.exit_code;
  }
  for (const auto& [name, data] : res.files) {
    if (name.find('/') != std::string::npos || name.empty() || name[0] == '.') continue;
    write_file(res.boot_dir + "/result-" + name, data);
  }
  if (a.exited && a.status != 0 && !res.completed)
    log::warn("vm: QEMU exited with {}: {}", a.status,
              tail_of(read_file(res.boot_dir + "/qemu.log"), 3));
  if (res.completed && !ch.problems.empty())
    log::warn("vm: result channel: {}", fmt::join(ch.problems, "; "));
  if (!res.completed || res.hung || res.panicked)
    log::warn("vm: {}\nconsole tail:\n{}", res.describe(), res.console_tail);
  else
    log::info("vm: {}", res.describe());
  return res;
}

TestWorkqueueRun run_test_workqueue(BootSpec base, const std::string& ko_path, unsigned wq_items,
                                    unsigned nr_threads) {
  base.files.push_back({ko_path, "/lib/modules/test_workqueue.ko"});
  // The module returns -EAGAIN on purpose once it has printed its rows.
  base.commands.push_back(
      fmt::format("insmod /lib/modules/test_workqueue.ko wq_items={} nr_threads={} || true",
                  wq_items, nr_threads));
  TestWorkqueueRun run;
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (attempt == 1) base.boot_dir.clear();
    run.boot = boot(base);
    auto it = run.boot.files.find("dmesg");
    run.rows = parse_test_workqueue(it == run.boot.files.end() ? std::string() : it->second);
    if (!run.rows.empty() || !run.boot.completed) break;
    if (attempt == 0) {
      log::warn("vm: test_workqueue printed no rows (boot {}); retrying once", run.boot.boot_dir);
      run.retried = true;
    }
  }
  return run;
}

}  // namespace lockscope::vm
