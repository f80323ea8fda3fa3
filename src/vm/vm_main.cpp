// SPDX-License-Identifier: Apache-2.0
// lockscope-vm: developer entry point to the VM tier (not installed).
//   lockscope-vm versions
//   lockscope-vm fetch PATTERN
//   lockscope-vm module PATTERN
//   lockscope-vm run PATTERN [options] -- COMMAND...
//   lockscope-vm twq PATTERN [--items N] [--threads N] [options]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "lockscope/core/error.hpp"
#include "lockscope/core/log.hpp"
#include "lockscope/core/signals.hpp"
#include "lockscope/vm/vm.hpp"

namespace {

using namespace lockscope;

constexpr const char* kUsage =
    "usage: lockscope-vm versions\n"
    "       lockscope-vm fetch PATTERN\n"
    "       lockscope-vm module PATTERN\n"
    "       lockscope-vm run PATTERN [options] -- COMMAND...\n"
    "       lockscope-vm twq PATTERN [--items N] [--threads N] [options]\n"
    "options: --binary PATH (copied to /bin/lockscope)  --module (test_workqueue.ko at\n"
    "         /lib/modules/test_workqueue.ko)  --file HOST:GUEST  --smp N  --mem MiB\n"
    "         --timeout S  --accel auto|kvm|tcg  --append PARAM (kernel command line,\n"
    "         e.g. lockdown=confidentiality; repeatable)  -q|-v|-vv\n"
    "PATTERN: a Debian cloud kernel version, a prefix ('7.2', '6.1': the newest match)\n"
    "         or a glob ('7.2.*', '6.12.*+deb12'); `versions` lists them.\n"
    "run prints the guest's stdout+stderr and exits with the guest's exit code\n"
    "(3 when the guest hung, panicked or reported nothing).\n";

int to_int(const std::string& v, const char* what) {
  char* end = nullptr;
  long n = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end) throw usage_error(std::string(what) + " needs a number, not '" + v + "'");
  return int(n);
}

int run(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  int verbosity = 1;
  std::vector<std::string> rest;
  std::vector<std::string> command;
  vm::BootSpec spec;
  bool with_module = false;
  unsigned items = 2000, threads = 2;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) throw usage_error(a + " needs a value");
      return args[++i];
    };
    if (a == "--") {
      command.assign(args.begin() + long(i) + 1, args.end());
      break;
    } else if (a == "-v")
      verbosity = 1;
    else if (a == "-vv")
      verbosity = 2;
    else if (a == "-q")
      verbosity = 0;
    else if (a == "--binary")
      spec.lockscope_binary = value();
    else if (a == "--module")
      with_module = true;
    else if (a == "--file") {
      std::string v = value();
      auto colon = v.find(':');
      if (colon == std::string::npos) throw usage_error("--file needs HOST:GUEST");
      spec.files.push_back({v.substr(0, colon), v.substr(colon + 1)});
    } else if (a == "--smp")
      spec.smp = to_int(value(), "--smp");
    else if (a == "--mem")
      spec.memory_mb = to_int(value(), "--mem");
    else if (a == "--timeout")
      spec.timeout_s = to_int(value(), "--timeout");
    else if (a == "--accel")
      spec.accel = value();
    else if (a == "--append")
      spec.extra_append += (spec.extra_append.empty() ? "" : " ") + value();
    else if (a == "--items")
      items = unsigned(to_int(value(), "--items"));
    else if (a == "--threads")
      threads = unsigned(to_int(value(), "--threads"));
    else if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return kExitOk;
    } else if (!a.empty() && a[0] == '-')
      throw usage_error("unknown option " + a, kUsage);
    else
      rest.push_back(a);
  }
  log::init(verbosity);
  install_stop_handlers();
  if (rest.empty()) throw usage_error("missing subcommand", kUsage);
  const std::string& sub = rest[0];
  if (sub == "versions") {
    for (const auto& k : vm::available_kernels())
      std::printf("%-18s %s\n", k.version.c_str(), k.package.c_str());
    return kExitOk;
  }
  if (rest.size() != 2) throw usage_error(sub + " needs one PATTERN", kUsage);
  vm::Kernel k = vm::fetch_kernel(rest[1]);
  if (sub == "fetch") {
    std::printf("%s %s\n", k.release.c_str(), k.vmlinuz.c_str());
    return kExitOk;
  }
  if (sub == "module") {
    std::printf("%s\n", vm::build_test_workqueue(k).c_str());
    return kExitOk;
  }
  spec.vmlinuz = k.vmlinuz;
  if (sub == "twq") {
    auto r = vm::run_test_workqueue(spec, vm::build_test_workqueue(k), items, threads);
    for (const auto& row : r.rows)
      std::printf("%-12s %12.0f items/s  p50=%.0f p90=%.0f p95=%.0f ns\n", row.scope.c_str(),
                  row.items_per_sec, row.p50_ns, row.p90_ns, row.p95_ns);
    std::fprintf(stderr, "%s%s\n", r.boot.describe().c_str(),
                 r.retried ? " (after one retry)" : "");
    return r.rows.empty() ? kExitInconclusive : kExitOk;
  }
  if (sub != "run") throw usage_error("unknown subcommand " + sub, kUsage);
  if (command.empty()) throw usage_error("run needs -- COMMAND", kUsage);
  if (with_module)
    spec.files.push_back({vm::build_test_workqueue(k), "/lib/modules/test_workqueue.ko"});
  std::string line;
  for (const auto& w : command) line += (line.empty() ? "" : " ") + w;
  spec.commands.push_back(line);
  vm::BootResult r = vm::boot(spec);
  std::fputs(r.output().c_str(), stdout);
  std::fflush(stdout);
  std::fprintf(stderr, "%s\nresults in %s\n", r.describe().c_str(), r.boot_dir.c_str());
  if (!r.completed || r.hung || r.panicked) return kExitInconclusive;
  return r.exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  return lockscope::report_errors("lockscope-vm", [&] { return run(argc, argv); });
}
