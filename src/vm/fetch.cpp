// SPDX-License-Identifier: Apache-2.0
// Debian packages into the cache with private apt state: a sources list with
// this machine's own mirror, lists/archives folders under the cache, and the
// machine's Debian keyring for the index signatures. The system's apt state
// is never touched.
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>

#include "lockscope/core/log.hpp"
#include "lockscope/core/text.hpp"
#include "lockscope/vm/vm.hpp"
#include "vm/process.hpp"

namespace lockscope::vm {
using namespace detail;

namespace {

constexpr const char* kKeyring = "/usr/share/keyrings/debian-archive-keyring.gpg";
// Every suite with a cloud-amd64 kernel from 6.1 on: bookworm (6.1),
// bookworm-backports (6.12+deb12), trixie (6.12+deb13), trixie-backports
// (6.16 on; linux-binary-* from 6.19). The module build chroot is trixie.
constexpr const char* kSuites[] = {"bookworm", "bookworm-backports", "trixie", "trixie-backports"};
constexpr int kIndexMaxAgeS = 3600;

std::string apt_dir() { return cache_dir() + "/apt"; }

std::vector<std::string> apt_options() {
  std::string d = apt_dir();
  const std::string settings[] = {
      "Dir::Etc::sourcelist=" + d + "/sources.list",
      "Dir::Etc::sourceparts=" + d + "/sources.list.d",
      "Dir::Etc::preferencesparts=" + d + "/preferences.d",
      "Dir::State::Lists=" + d + "/lists",
      "Dir::State::status=" + d + "/status",
      "Dir::Cache=" + d + "/cache",
      // A file-based package cache whatever the system's apt.conf.d says
      // (some images switch it off): each apt-cache call then takes ~0.2 s
      // instead of re-reading four suites' lists (~8 s).
      "Dir::Cache::pkgcache=pkgcache.bin",
      "Dir::Cache::srcpkgcache=srcpkgcache.bin",
      "APT::Sandbox::User=root",
      "Acquire::Retries=3",
      "Acquire::http::Timeout=30",
      "APT::Get::List-Cleanup=1",
  };
  std::vector<std::string> v;
  for (const auto& s : settings) {
    v.emplace_back("-o");
    v.push_back(s);
  }
  return v;
}

std::vector<std::string> apt(const std::string& tool, std::vector<std::string> args) {
  std::vector<std::string> v{tool};
  for (auto& o : apt_options()) v.push_back(o);
  for (auto& a : args) v.push_back(std::move(a));
  return v;
}

void prepare_apt_dirs() {
  std::string d = apt_dir();
  for (const char* sub :
       {"/lists/partial", "/cache/archives/partial", "/sources.list.d", "/preferences.d"})
    make_dirs(d + sub);
  if (!exists(d + "/status")) write_file(d + "/status", "");
  if (!exists(kKeyring))
    throw Unavailable(std::string("Debian archive keyring missing: ") + kKeyring,
                      "install the debian-archive-keyring package");
  std::string mirror = mirror_uri();
  std::ostringstream s;
  for (const char* suite : kSuites)
    s << "deb [signed-by=" << kKeyring << "] " << mirror << " " << suite << " main\n";
  std::string path = d + "/sources.list";
  if (!exists(path) || read_file(path) != s.str()) {
    write_file(path, s.str());
    unlink((d + "/updated").c_str());  // mirror changed: refresh
  }
}

std::string deb_path(const PackageInfo& p) {
  std::string v = p.version;
  std::replace(v.begin(), v.end(), ':', '_');
  return cache_dir() + "/debs/" + p.name + "_" + v + ".deb";
}

bool verified(const std::string& path, const PackageInfo& p) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return false;
  if (uint64_t(st.st_size) != p.size) {
    log::warn("{}: size {} differs from the index ({}); fetching again", path, st.st_size, p.size);
    return false;
  }
  // A file hashed before and not modified since is not hashed again
  // (linux-source is 167 MB): the stamp holds the SHA256 and the mtime.
  std::string stamp = path + ".sha256";
  std::string want = p.sha256 + " " + std::to_string(st.st_mtime) + "\n";
  if (exists(stamp) && read_file(stamp) == want) return true;
  std::string sum = sha256_file(path);
  if (sum != p.sha256) {
    log::warn("{}: SHA256 differs from the index; fetching again", path);
    unlink(stamp.c_str());
    return false;
  }
  write_file(stamp, want);
  return true;
}

}  // namespace

std::vector<std::string> dependency_names(const std::string& depends) {
  // "a (= 1), b | c (>= 2) [amd64], d:any <!nocheck>" -> a, b, c, d
  std::vector<std::string> names;
  std::string name;
  bool in_name = true;
  char close = 0;  // inside a version, architecture or profile restriction
  for (char c : depends) {
    if (close) {
      if (c == close) close = 0;
      continue;
    }
    if (c == '(' || c == '[' || c == '<') {
      close = c == '(' ? ')' : c == '[' ? ']' : '>';
    } else if (c == ',' || c == '|') {
      in_name = true;
    } else if (c == ':') {
      in_name = false;
    } else if (!isspace(static_cast<unsigned char>(c))) {
      if (in_name) name.push_back(c);
      continue;
    }
    if (!name.empty()) names.push_back(name);
    name.clear();
  }
  if (!name.empty()) names.push_back(name);
  return names;
}

std::string cache_dir() {
  if (const char* c = std::getenv("LOCKSCOPE_CACHE"); c && *c) return c;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/lockscope";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : "/root") + "/.cache/lockscope";
}

std::string mirror_uri() {
  if (const char* m = std::getenv("LOCKSCOPE_MIRROR"); m && *m) return m;
  // deb822: the first URIs: of a stanza that is not a security archive.
  std::ifstream d822("/etc/apt/sources.list.d/debian.sources");
  std::string line;
  while (std::getline(d822, line)) {
    if (line.rfind("URIs:", 0) != 0) continue;
    std::istringstream uris(line.substr(5));
    std::string uri;
    while (uris >> uri)
      if (uri.find("security") == std::string::npos) return uri;
  }
  std::ifstream list("/etc/apt/sources.list");
  while (std::getline(list, line)) {
    std::istringstream w(trim(line));
    std::string word;
    if (!(w >> word) || word != "deb") continue;
    while (w >> word) {
      if (word[0] == '[') {
        while (word.back() != ']' && (w >> word)) {
        }
        continue;
      }
      if (word.find("security") == std::string::npos) return word;
      break;
    }
  }
  throw Unavailable(
      "no Debian mirror found in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list",
      "set LOCKSCOPE_MIRROR to a Debian mirror URI");
}

void update_index(bool force) {
  CacheLock lock;
  prepare_apt_dirs();
  std::string stamp = apt_dir() + "/updated";
  struct stat st;
  bool have = stat(stamp.c_str(), &st) == 0;
  if (have && !force && time(nullptr) - st.st_mtime < kIndexMaxAgeS) return;
  log::info("vm: updating the private package index ({})", mirror_uri());
  RunResult r = run(apt("apt-get", {"-q", "update"}), {"", "", 300});
  bool failed = r.status != 0 || r.output.find("\nW: ") != std::string::npos ||
                r.output.find("\nE: ") != std::string::npos || r.output.rfind("E: ", 0) == 0 ||
                r.output.rfind("W: ", 0) == 0;
  if (failed) {
    if (have) {
      log::warn("vm: package index update failed, using the cached index: {}",
                tail_of(r.output, 2));
      return;
    }
    throw Unavailable(
        "package registry unreachable (apt-get update failed): " + tail_of(r.output, 3),
        "check network access to the mirror in /etc/apt/sources.list.d/debian.sources "
        "or set LOCKSCOPE_MIRROR");
  }
  write_file(stamp, "");
}

std::vector<std::string> search_packages(const std::string& name_regex) {
  update_index();
  RunResult r = run(apt("apt-cache", {"search", "--names-only", name_regex}));
  if (r.status != 0)
    throw unsupported("apt-cache search failed: " + tail_of(r.output, 2),
                      "remove the private index (" + apt_dir() + ") and try again");
  std::vector<std::string> names;
  std::istringstream s(r.output);
  for (std::string line; std::getline(s, line);) {
    std::istringstream w(line);
    std::string n;
    if (w >> n) names.push_back(n);
  }
  std::sort(names.begin(), names.end());
  return names;
}

PackageInfo package_info(const std::string& name) {
  update_index();
  RunResult r = run(apt("apt-cache", {"show", "--no-all-versions", name}));
  if (r.status != 0)
    throw usage_error("package " + name + " is not in the index: " + tail_of(r.output, 1),
                      "check the name with: apt-cache search");
  PackageInfo p;
  std::istringstream s(r.output);
  std::string line;
  while (std::getline(s, line)) {
    if (line.empty() && !p.name.empty()) break;  // first stanza only
    auto colon = line.find(':');
    if (colon == std::string::npos || line[0] == ' ') continue;
    std::string key = line.substr(0, colon), val = trim(line.substr(colon + 1));
    if (key == "Package")
      p.name = val;
    else if (key == "Version")
      p.version = val;
    else if (key == "Filename")
      p.filename = val;
    else if (key == "Size")
      p.size = std::strtoull(val.c_str(), nullptr, 10);
    else if (key == "SHA256")
      p.sha256 = val;
    else if (key == "Depends")
      p.depends = dependency_names(val);
  }
  if (p.name.empty() || p.sha256.empty() || p.size == 0)
    throw Error(kExitUnsupported, "package index entry for " + name + " lacks size or SHA256");
  return p;
}

std::string fetch_package(const std::string& name) {
  CacheLock lock;
  PackageInfo p = package_info(name);
  std::string dest = deb_path(p);
  if (verified(dest, p)) {
    log::debug("vm: {} cached ({})", name, dest);
    return dest;
  }
  unlink(dest.c_str());
  unlink((dest + ".sha256").c_str());
  log::info("vm: downloading {} {} ({:.1f} MB)", p.name, p.version, double(p.size) / 1e6);
  TempDir tmp(cache_dir() + "/debs", ".download-");
  RunResult r =
      run(apt("apt-get", {"-q", "download", p.name + "=" + p.version}), {tmp.path(), "", 1800});
  if (r.status != 0)
    throw Unavailable("downloading " + p.name + " failed: " + tail_of(r.output, 3),
                      "check network access to the package mirror");
  std::string got = tmp.path() + "/" + p.filename.substr(p.filename.rfind('/') + 1);
  if (!verified(got, p))
    throw Error(kExitUnsupported,
                "downloaded " + p.name + " does not match the index (size/SHA256)",
                "the mirror may be syncing; try again later");
  if (rename(got.c_str(), dest.c_str()) != 0)
    throw Error(kExitUnsupported, "cannot move " + got + " to " + dest + ": " + strerror(errno));
  if (rename((got + ".sha256").c_str(), (dest + ".sha256").c_str()) != 0)
    unlink((dest + ".sha256").c_str());
  return dest;
}

}  // namespace lockscope::vm
