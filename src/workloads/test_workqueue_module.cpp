// SPDX-License-Identifier: Apache-2.0
// The kernel's own lib/test_workqueue benchmark, loaded with finit_module. The
// module runs every affinity scope on its own WQ_UNBOUND|WQ_SYSFS workqueue,
// prints one kernel-log row per scope and refuses to stay loaded (-EAGAIN).
// While it runs, its sections' addresses are read, so that the sites the
// recording finds in it can be named after it is gone.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <thread>

#include "lockscope/core/error.hpp"
#include "lockscope/core/log.hpp"
#include "lockscope/core/text.hpp"
#include "lockscope/workloads/module_symbols.hpp"
#include "lockscope/workloads/workload.hpp"

#ifndef MODULE_INIT_COMPRESSED_FILE
#define MODULE_INIT_COMPRESSED_FILE 4
#endif

namespace lockscope {
namespace {

bool exists(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// Module files the kernel unpacks itself (MODULE_INIT_COMPRESSED_FILE).
const char* const kCompressed[] = {".xz", ".zst", ".gz"};

bool compressed(const std::string& path) {
  for (const char* suf : kCompressed)
    if (ends_with(path, suf)) return true;
  return false;
}

std::string kernel_release() {
  utsname u;
  return uname(&u) == 0 ? std::string(u.release) : std::string("unknown");
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Reads /sys/module/test_workqueue/sections while the module's init (the
// benchmark) runs: the files appear before init starts. Polls every 2 ms
// until .text is listed, then reads the directory once more (its files are
// created one by one) and stops: a few dozen small reads per load.
class SectionWatch {
 public:
  SectionWatch() : thread_([this] { watch(); }) {}
  ~SectionWatch() { stop(); }
  SectionWatch(const SectionWatch&) = delete;
  SectionWatch& operator=(const SectionWatch&) = delete;
  // Waits for the watcher; the sections seen (empty if none were).
  std::map<std::string, uint64_t> stop() {
    done_ = true;
    if (thread_.joinable()) thread_.join();
    return sections_;
  }

 private:
  void watch() {
    static const char* dir = "/sys/module/test_workqueue/sections";
    while (!done_) {
      if (module_sections(dir).count(".text")) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        sections_ = module_sections(dir);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  std::atomic<bool> done_{false};
  std::map<std::string, uint64_t> sections_;
  std::thread thread_;
};

class TestWorkqueueWorkload final : public Workload {
 public:
  explicit TestWorkqueueWorkload(const TestWorkqueueOptions& o) : opts_(o) {
    explicit_path_ = !opts_.module_path.empty();
    if (!explicit_path_) opts_.module_path = default_test_workqueue_path();
  }

  std::string name() const override { return "test_workqueue"; }
  bool follows_default_scope() const override { return false; }

  // Checks the module file before any run (clear error naming the path).
  void check_path() const {
    const std::string& p = opts_.module_path;
    if (exists(p)) return;
    if (explicit_path_)
      throw usage_error(
          "test_workqueue module not found: " + p,
          "give the path of a test_workqueue.ko built for kernel " + kernel_release());
    throw unsupported("test_workqueue module not found: " + p,
                      "this kernel does not ship lib/test_workqueue (CONFIG_TEST_WORKQUEUE); "
                      "build it for " +
                          kernel_release() +
                          " and pass --workload test_workqueue=PATH.ko, or use --workload pty");
  }

  std::vector<KernelSymbol> unloaded_symbols() const override { return symbols_; }

  std::vector<WorkloadResult> run(const std::string&) override {
    check_path();
    const std::string& path = opts_.module_path;
    Fd mod(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (mod.get() < 0)
      throw Error(explicit_path_ ? kExitUsage : kExitUnsupported,
                  "cannot open test_workqueue module " + path + ": " + std::strerror(errno));
    // Position at the end of the kernel log first, so only this load's rows are read.
    Fd kmsg(open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (kmsg.get() < 0)
      throw unsupported(std::string("cannot open /dev/kmsg: ") + std::strerror(errno),
                        "run as root; the module prints its results to the kernel log");
    lseek(kmsg.get(), 0, SEEK_END);

    std::string params;
    if (opts_.items) params += "wq_items=" + std::to_string(opts_.items);
    if (opts_.threads)
      params +=
          (params.empty() ? "" : " ") + std::string("nr_threads=") + std::to_string(opts_.threads);
    int flags = 0;
    if (compressed(path)) flags |= MODULE_INIT_COMPRESSED_FILE;
    log::info("loading {} {}", path, params);
    symbols_.clear();
    SectionWatch watch;
    long rc = syscall(SYS_finit_module, mod.get(), params.c_str(), flags);
    int err = rc == 0 ? 0 : errno;
    place_symbols(watch.stop());
    if (rc == 0) {
      // It should refuse to stay; if this build stayed, unload it again.
      log::warn("{} stayed loaded; unloading it", path);
      syscall(SYS_delete_module, "test_workqueue", O_NONBLOCK);
    } else if (err != EAGAIN) {
      throw load_error(path, err);
    }

    std::string raw;
    char buf[8192];
    for (;;) {
      ssize_t n = read(kmsg.get(), buf, sizeof buf);
      if (n > 0) {
        raw.append(buf, size_t(n));
        if (raw.back() != '\n') raw += '\n';
        continue;
      }
      if (n < 0 && (errno == EINTR || errno == EPIPE)) continue;  // EPIPE: overwritten records
      break;                                                      // EAGAIN: end of log
    }
    auto rows = parse_test_workqueue(kmsg_records_to_text(raw));
    if (rows.empty())
      throw Error(kExitInconclusive, "test_workqueue (" + path + ") printed no result rows",
                  "check the kernel log (dmesg) for the module's messages and run again");
    std::vector<WorkloadResult> out;
    out.reserve(rows.size());
    const uint64_t total = opts_.items && opts_.threads ? opts_.items * opts_.threads : opts_.items;
    for (const auto& r : rows) out.push_back(to_workload_result(r, opts_.threads, total));
    return out;
  }

 private:
  // The module file's functions at the addresses of this load. A compressed
  // module is not unpacked here: its sites stay hex addresses.
  void place_symbols(const std::map<std::string, uint64_t>& sections) {
    const std::string& path = opts_.module_path;
    if (sections.empty()) {
      log::debug(
          "test_workqueue: its sections were not seen while it ran; its functions "
          "stay unnamed");
      return;
    }
    if (functions_.empty() && functions_why_.empty()) {
      if (compressed(path)) {
        functions_why_ = "a compressed module";
      } else {
        std::ifstream in(path, std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        functions_ = elf_functions(bytes, &functions_why_);
      }
      if (functions_.empty() && functions_why_.empty()) functions_why_ = "no function symbols";
      if (!functions_why_.empty())
        log::info("test_workqueue: its functions stay unnamed in sites ({}: {})", path,
                  functions_why_);
    }
    symbols_ = place_functions(functions_, sections);
  }

  static Error load_error(const std::string& path, int err) {
    std::string what = "cannot load test_workqueue module " + path + ": " + std::strerror(err);
    switch (err) {
      case EPERM:
      case EKEYREJECTED:
      case ENOKEY:
        return unsupported(what,
                           "the kernel refuses this module (lockdown or module signature "
                           "enforcement); use a kernel that allows loading it");
      case EEXIST:
        return unsupported(what, "test_workqueue is already loaded: rmmod test_workqueue");
      case ENOEXEC:
      case EINVAL:
        return usage_error(what, "the file is not a module for kernel " + kernel_release() +
                                     " (or a parameter is unknown to it)");
      case ENOSYS: return unsupported(what, "this kernel has no loadable module support");
      default: return unsupported(what);
    }
  }

  TestWorkqueueOptions opts_;
  bool explicit_path_ = false;
  std::vector<ElfFunction> functions_;  // of the module file, read once
  std::string functions_why_;           // why there are none
  std::vector<KernelSymbol> symbols_;   // of the last load
};

}  // namespace

std::string default_test_workqueue_path() {
  std::string base = "/lib/modules/" + kernel_release() + "/kernel/lib/test_workqueue.ko";
  if (exists(base)) return base;
  for (const char* suf : kCompressed)
    if (exists(base + suf)) return base + suf;
  return base;
}

std::string kmsg_records_to_text(const std::string& raw) {
  std::istringstream in(raw);
  std::string line, out;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == ' ') continue;  // continuation (KEY=value) lines
    auto semi = line.find(';');
    std::string msg = semi == std::string::npos ? line : line.substr(semi + 1);
    // /dev/kmsg escapes control characters as \xNN (the module's rows hold tabs).
    for (size_t i = 0; i < msg.size(); ++i) {
      if (msg[i] == '\\' && i + 3 < msg.size() && msg[i + 1] == 'x' &&
          std::isxdigit((unsigned char)msg[i + 2]) && std::isxdigit((unsigned char)msg[i + 3])) {
        out += char(std::stoi(msg.substr(i + 2, 2), nullptr, 16));
        i += 3;
      } else {
        out += msg[i];
      }
    }
    out += '\n';
  }
  return out;
}

std::unique_ptr<Workload> make_test_workqueue_workload(const TestWorkqueueOptions& opts) {
  auto w = std::make_unique<TestWorkqueueWorkload>(opts);
  w->check_path();  // fail before any setup when the module is missing
  return w;
}

}  // namespace lockscope
