// SPDX-License-Identifier: Apache-2.0
// test_workqueue.ko, the kernel's own workqueue benchmark (lib/test_workqueue.c,
// not built by Debian), compiled out of tree per kernel: in a cached
// debootstrap trixie chroot (gcc-14 and glibc new enough for the kbuild
// tools), with the kernel's headers and kbuild packages unpacked into it.
// The source file is taken from Debian's linux-source package at build time.
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <regex>
#include <sstream>

#include "lockscope/core/log.hpp"
#include "lockscope/vm/vm.hpp"
#include "vm/process.hpp"

namespace lockscope::vm {
using namespace detail;

namespace {

constexpr const char* kSourcePackage = "linux-source-7.3";
constexpr const char* kChrootCompiler = "gcc-14";
constexpr const char* kChrootPackages = "gcc-14,make,libc6-dev,libelf-dev,dwarves";

std::string source_package() {
  const char* p = std::getenv("LOCKSCOPE_TWQ_SOURCE_PACKAGE");
  return p && *p ? p : kSourcePackage;
}

// lib/test_workqueue.c out of the linux-source tarball, cached.
std::string test_workqueue_source() {
  std::string pkg = source_package();
  std::string dir = cache_dir() + "/src/" + pkg;
  std::string out = dir + "/test_workqueue.c";
  std::string deb = fetch_package(pkg);
  if (exists(out) && exists(dir + "/source.deb") && read_file(dir + "/source.deb") == deb)
    return out;
  make_dirs(dir);
  std::string tarball = "./usr/src/" + pkg + ".tar.xz";
  std::string member = pkg + "/lib/test_workqueue.c";
  log::info("vm: extracting lib/test_workqueue.c from {}", pkg);
  run_checked({"sh", "-c", R"(dpkg-deb --fsys-tarfile "$1" | tar -xO "$2" | tar -xJO "$3" > "$4")",
               "sh", deb, tarball, member, out + ".tmp"},
              "extracting " + member + " from " + deb);
  if (read_file(out + ".tmp").find("module_init") == std::string::npos)
    throw Error(kExitUnsupported, member + " not found in " + deb,
                "set LOCKSCOPE_TWQ_SOURCE_PACKAGE to a linux-source package that has it");
  rename((out + ".tmp").c_str(), out.c_str());
  write_file(dir + "/source.deb", deb);
  return out;
}

std::string chroot_root() {
  std::string root = cache_dir() + "/chroot/trixie";
  if (exists(root + "/.lockscope-complete")) return root;
  log::info("vm: creating the module build chroot (debootstrap trixie, about 1-2 minutes)");
  remove_tree(root);
  TempDir tmp(cache_dir() + "/chroot", ".debootstrap-");
  RunResult r =
      run({"debootstrap", "--variant=minbase", std::string("--include=") + kChrootPackages,
           "--keyring=/usr/share/keyrings/debian-archive-keyring.gpg", "trixie", tmp.path(),
           mirror_uri()},
          {"", "", 1800});
  if (r.status != 0) {
    // debootstrap may leave its own mounts behind when it fails.
    for (const char* m : {"/proc", "/sys", "/dev/pts", "/dev"})
      umount2((tmp.path() + m).c_str(), MNT_DETACH);
    throw Error(kExitUnsupported, "debootstrap trixie failed: " + tail_of(r.output, 4),
                "see the debootstrap log in the output above; check the mirror and disk space");
  }
  write_file(tmp.path() + "/.lockscope-complete", "");
  if (rename(tmp.path().c_str(), root.c_str()) != 0)
    throw Error(kExitUnsupported, "cannot move the chroot to " + root + ": " + strerror(errno));
  tmp.release();
  return root;
}

class BindMount {
 public:
  BindMount(const std::string& src, const std::string& dst) : dst_(dst) {
    make_dirs(dst);
    if (mount(src.c_str(), dst.c_str(), nullptr, MS_BIND, nullptr) != 0)
      throw Error(kExitUnsupported,
                  "bind mount " + src + " on " + dst + " failed: " + strerror(errno),
                  "building test_workqueue.ko needs root");
  }
  ~BindMount() {
    if (umount2(dst_.c_str(), 0) != 0) umount2(dst_.c_str(), MNT_DETACH);
  }
  BindMount(const BindMount&) = delete;
  BindMount& operator=(const BindMount&) = delete;

 private:
  std::string dst_;
};

struct Headers {
  std::vector<std::string> packages;
  std::string compiler;  // the gcc they were made with ("gcc-12"), empty when not named
};

// linux-headers-<release> and the linux-headers-*/linux-kbuild-* packages it
// depends on (bookworm's 6.1 names its kbuild package linux-kbuild-6.1, later
// suites linux-kbuild-<version>: the index says which), and their compiler.
Headers headers_for(const Kernel& k) {
  std::string name = "linux-headers-" + k.release;
  PackageInfo info;
  try {
    info = package_info(name);
  } catch (const Error& e) {
    if (e.code() != kExitUsage) throw;  // the index itself failed: say that
    throw Unavailable("test_workqueue.ko cannot be built for " + k.release + ": " + name +
                          " is not in the package index",
                      "the mirror keeps headers only for the kernels a suite still ships; pick "
                      "a newer version, or use --workload pty");
  }
  Headers h;
  h.packages.push_back(name);
  h.compiler = headers_compiler(info.depends);
  for (const auto& d : info.depends)
    if (d.rfind("linux-headers-", 0) == 0 || d.rfind("linux-kbuild-", 0) == 0)
      h.packages.push_back(d);
  return h;
}

void unpack_headers(const std::string& root, const Kernel& k, const Headers& h) {
  std::string stamp = root + "/.lockscope-headers-" + k.release;
  if (exists(stamp)) return;
  log::info("vm: unpacking headers and kbuild for {}", k.release);
  for (const std::string& pkg : h.packages) {
    std::string deb = fetch_package(pkg);
    run_checked({"dpkg-deb", "-x", deb, root}, "unpacking " + pkg);
  }
  write_file(stamp, "");
}

}  // namespace

std::string headers_compiler(const std::vector<std::string>& depends) {
  // gcc-14, gcc-14-for-host (7.x), linux-compiler-gcc-12-x86 (bookworm's 6.1)
  static const std::regex re("^(?:linux-compiler-)?(gcc-[0-9]+)(?:-for-host|-x86)?$");
  for (const auto& d : depends) {
    std::smatch m;
    if (std::regex_match(d, m, re)) return m[1];
  }
  return {};
}

std::string first_build_error(const std::string& output, const std::string& build_dir) {
  std::istringstream s(output);
  std::string line, fallback;
  while (std::getline(s, line)) {
    for (size_t p; (p = line.find(build_dir + "/")) != std::string::npos;)
      line.erase(p, build_dir.size() + 1);
    if (line.find("error:") != std::string::npos) return line;
    if (fallback.empty() &&
        (line.find("not found") != std::string::npos || line.find("*** ") != std::string::npos))
      fallback = line;
  }
  return fallback.empty() ? tail_of(output, 1) : fallback;
}

std::string build_test_workqueue(const Kernel& k) {
  if (geteuid() != 0)
    throw Unavailable("building test_workqueue.ko needs root (debootstrap, chroot, mount)",
                      "run as root");
  CacheLock lock;
  std::string out_dir = cache_dir() + "/modules/" + k.release;
  std::string ko = out_dir + "/test_workqueue.ko";
  std::string src = test_workqueue_source();
  if (exists(ko) && exists(out_dir + "/source.c") &&
      read_file(out_dir + "/source.c") == read_file(src)) {
    log::info("vm: test_workqueue.ko for {} (cached)", k.release);
    return ko;
  }
  Headers headers = headers_for(k);
  std::string root = chroot_root();
  unpack_headers(root, k, headers);
  std::string build_rel = "/build/twq-" + k.release;
  std::string build = root + build_rel;
  remove_tree(build);
  make_dirs(build);
  write_file(build + "/test_workqueue.c", read_file(src));
  write_file(build + "/Kbuild", "obj-m += test_workqueue.o\n");
  std::vector<std::string> argv = {
      "chroot", root, "make", "-C", "/usr/src/linux-headers-" + k.release, "M=" + build_rel};
  // Headers made with a gcc the chroot lacks (bookworm's gcc-12): the
  // chroot's own compiler builds a module that loads all the same.
  if (!headers.compiler.empty() && !exists(root + "/usr/bin/" + headers.compiler)) {
    log::info("vm: the {} headers name {}, which the module build chroot lacks; building with {}",
              k.release, headers.compiler, kChrootCompiler);
    argv.push_back(std::string("CC=") + kChrootCompiler);
  }
  argv.emplace_back("modules");
  log::info("vm: building test_workqueue.ko for {}", k.release);
  make_dirs(out_dir);
  std::string log_path = out_dir + "/build.log";
  {
    BindMount proc("/proc", root + "/proc");
    RunResult r = run(argv, {"", "", 900});
    write_file(log_path, r.output);
    if (r.status != 0 || !exists(build + "/test_workqueue.ko")) {
      std::string why = first_build_error(r.output, build_rel);
      remove_tree(build);
      throw Unavailable(
          "test_workqueue from " + source_package() + " does not build against the " + k.release +
              " headers: " + why,
          "use --workload pty on this kernel; the compiler's output is in " + log_path);
    }
  }
  write_file(out_dir + "/source.c", read_file(src));
  write_file(ko, read_file(build + "/test_workqueue.ko"));
  remove_tree(build);
  return ko;
}

}  // namespace lockscope::vm
