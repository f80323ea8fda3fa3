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

#include "lockscope/core/log.hpp"
#include "lockscope/vm/vm.hpp"
#include "vm/process.hpp"

namespace lockscope::vm {
using namespace detail;

namespace {

constexpr const char* kSourcePackage = "linux-source-7.3";
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

void unpack_headers(const std::string& root, const Kernel& k) {
  std::string stamp = root + "/.lockscope-headers-" + k.release;
  if (exists(stamp)) return;
  log::info("vm: unpacking headers and kbuild for {}", k.release);
  for (const std::string& pkg :
       {"linux-headers-" + k.release, "linux-headers-" + k.version + "-common",
        "linux-kbuild-" + k.version}) {
    std::string deb = fetch_package(pkg);
    run_checked({"dpkg-deb", "-x", deb, root}, "unpacking " + pkg);
  }
  write_file(stamp, "");
}

}  // namespace

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
  std::string root = chroot_root();
  unpack_headers(root, k);
  std::string build_rel = "/build/twq-" + k.release;
  std::string build = root + build_rel;
  remove_tree(build);
  make_dirs(build);
  write_file(build + "/test_workqueue.c", read_file(src));
  write_file(build + "/Kbuild", "obj-m += test_workqueue.o\n");
  log::info("vm: building test_workqueue.ko for {}", k.release);
  {
    BindMount proc("/proc", root + "/proc");
    RunResult r = run({"chroot", root, "make", "-C", "/usr/src/linux-headers-" + k.release,
                       "M=" + build_rel, "modules"},
                      {"", "", 900});
    if (r.status != 0 || !exists(build + "/test_workqueue.ko"))
      throw Error(
          kExitUnsupported,
          "building test_workqueue.ko for " + k.release + " failed: " + tail_of(r.output, 6),
          "the kernel's headers may not match; try another version");
  }
  make_dirs(out_dir);
  write_file(out_dir + "/source.c", read_file(src));
  write_file(ko, read_file(build + "/test_workqueue.ko"));
  remove_tree(build);
  return ko;
}

}  // namespace lockscope::vm
