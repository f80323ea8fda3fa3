// SPDX-License-Identifier: Apache-2.0
// Debian cloud kernels: which ones the index offers (both package naming
// schemes), which one a pattern selects, and their vmlinuz in the cache.
#include <fnmatch.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <sstream>

#include "lockscope/core/log.hpp"
#include "lockscope/core/text.hpp"
#include "lockscope/vm/vm.hpp"
#include "vm/process.hpp"

namespace lockscope::vm {
using namespace detail;

namespace {

constexpr const char* kFlavour = "-cloud-amd64";

// Lower is preferred when one version comes in several packages.
struct Scheme {
  const char* prefix;
  const char* suffix;
  int rank;
};
constexpr Scheme kSchemes[] = {
    {"linux-binary-", "-cloud-amd64", 0},
    {"linux-image-", "-cloud-amd64", 1},
    {"linux-image-", "-cloud-amd64-unsigned", 2},
};

bool is_boundary(char c) { return c == '.' || c == '+' || c == '-' || c == '~'; }

// Weight of a non-digit character, as Debian orders versions: '~' first,
// then the end of a part, then letters, then everything else.
int weight(char c) {
  if (c == '~') return -1;
  if (std::isalpha(static_cast<unsigned char>(c))) return c;
  return c + 256;
}

// "7.2.12+deb13" -> "7.2": the series a version belongs to.
std::string series_of(const std::string& v) {
  size_t first = v.find('.');
  if (first == std::string::npos) return v;
  size_t end = first + 1;
  while (end < v.size() && std::isdigit(static_cast<unsigned char>(v[end]))) ++end;
  return v.substr(0, end);
}

bool is_glob(const std::string& p) { return p.find_first_of("*?[") != std::string::npos; }

}  // namespace

int compare_versions(const std::string& a, const std::string& b) {
  size_t i = 0, j = 0;
  auto digit = [](const std::string& s, size_t k) {
    return k < s.size() && std::isdigit(static_cast<unsigned char>(s[k]));
  };
  while (i < a.size() || j < b.size()) {
    // Non-digit runs, character by character (the end of a run weighs 0).
    while ((i < a.size() && !digit(a, i)) || (j < b.size() && !digit(b, j))) {
      int wa = i < a.size() && !digit(a, i) ? weight(a[i]) : 0;
      int wb = j < b.size() && !digit(b, j) ? weight(b[j]) : 0;
      if (wa != wb) return wa < wb ? -1 : 1;
      if (i < a.size() && !digit(a, i)) ++i;
      if (j < b.size() && !digit(b, j)) ++j;
    }
    // Digit runs, as numbers of any length.
    while (i < a.size() && a[i] == '0') ++i;
    while (j < b.size() && b[j] == '0') ++j;
    size_t ea = i, eb = j;
    while (digit(a, ea)) ++ea;
    while (digit(b, eb)) ++eb;
    if (ea - i != eb - j) return ea - i < eb - j ? -1 : 1;
    int c = a.compare(i, ea - i, b, j, eb - j);
    if (c != 0) return c < 0 ? -1 : 1;
    i = ea;
    j = eb;
  }
  return 0;
}

std::vector<KernelPackage> kernels_from_package_names(const std::vector<std::string>& names) {
  std::map<std::string, std::pair<int, std::string>> best;  // version -> (rank, package)
  for (const auto& n : names) {
    for (const Scheme& s : kSchemes) {
      std::string prefix = s.prefix, suffix = s.suffix;
      if (n.size() <= prefix.size() + suffix.size() || n.rfind(prefix, 0) != 0 ||
          !ends_with(n, suffix))
        continue;
      std::string v = n.substr(prefix.size(), n.size() - prefix.size() - suffix.size());
      // A version starts with a digit: "linux-image-cloud-amd64" (the
      // metapackage) and "linux-binary-unsigned-…" do not.
      if (!std::isdigit(static_cast<unsigned char>(v[0]))) continue;
      auto it = best.find(v);
      if (it == best.end() || s.rank < it->second.first) best[v] = {s.rank, n};
    }
  }
  std::vector<KernelPackage> out;
  out.reserve(best.size());
  for (const auto& [v, p] : best) out.push_back({v, p.second});
  std::sort(out.begin(), out.end(), [](const KernelPackage& a, const KernelPackage& b) {
    return compare_versions(a.version, b.version) < 0;
  });
  return out;
}

std::vector<KernelPackage> available_kernels() {
  return kernels_from_package_names(
      search_packages("^linux-(binary|image)-[0-9].*-cloud-amd64(-unsigned)?$"));
}

std::string KernelChoice::describe() const {
  std::string release = version + kFlavour;
  if (exact) return "lockscope: kernel '" + pattern + "' -> " + release;
  return "lockscope: kernel '" + pattern + "' -> " + release +
         (matching == 1 ? std::string(" (the only match)")
                        : " (newest of " + std::to_string(matching) + " matching)");
}

KernelChoice select_kernel_version(const std::vector<std::string>& versions,
                                   const std::string& pattern) {
  KernelChoice c;
  c.pattern = pattern;
  for (const auto& v : versions) {
    std::string release = v + kFlavour;
    if (pattern == v || pattern == release) {
      c.version = v;
      c.matching = 1;
      c.exact = true;
      return c;
    }
  }
  bool glob = is_glob(pattern);
  for (const auto& v : versions) {
    bool match;
    if (glob) {
      std::string release = v + kFlavour;
      match = fnmatch(pattern.c_str(), v.c_str(), 0) == 0 ||
              fnmatch(pattern.c_str(), release.c_str(), 0) == 0;
    } else {
      match = !pattern.empty() && v.rfind(pattern, 0) == 0 &&
              (v.size() == pattern.size() || is_boundary(v[pattern.size()]) ||
               is_boundary(pattern.back()));
    }
    if (!match) continue;
    ++c.matching;
    if (c.version.empty() || compare_versions(v, c.version) > 0) c.version = v;
  }
  if (c.matching > 0) return c;

  // The newest of each series, so that the message stays one line.
  std::vector<std::string> newest;
  for (const auto& v : versions) {
    auto same = std::find_if(newest.begin(), newest.end(),
                             [&](const std::string& n) { return series_of(n) == series_of(v); });
    if (same == newest.end())
      newest.push_back(v);
    else if (compare_versions(v, *same) > 0)
      *same = v;
  }
  std::sort(newest.begin(), newest.end(),
            [](const std::string& a, const std::string& b) { return compare_versions(a, b) < 0; });
  std::string list;
  for (const auto& v : newest) list += (list.empty() ? "" : ", ") + v;
  throw usage_error(
      "no Debian cloud kernel matches '" + pattern + "'; " +
          (versions.empty() ? std::string("the index lists none")
                            : "newest of each series: " + list + " (" +
                                  std::to_string(versions.size()) + " versions in all)"),
      "pass a version prefix such as '7.2', a glob such as '7.2.*', or a version listed");
}

std::optional<std::string> vmlinuz_member(const std::vector<std::string>& members,
                                          const std::string& release) {
  for (const std::string& want :
       {"./usr/lib/modules/" + release + "/vmlinuz", "./boot/vmlinuz-" + release})
    for (const auto& m : members)
      if (m == want || "./" + m == want) return m;
  return std::nullopt;
}

Kernel fetch_kernel(const std::string& pattern) {
  CacheLock lock;
  std::vector<KernelPackage> all = available_kernels();
  std::vector<std::string> versions;
  versions.reserve(all.size());
  for (const auto& k : all) versions.push_back(k.version);
  KernelChoice choice = select_kernel_version(versions, pattern);
  if (!choice.exact) std::fprintf(stderr, "%s\n", choice.describe().c_str());
  Kernel k;
  k.version = choice.version;
  k.release = k.version + kFlavour;
  for (const auto& p : all)
    if (p.version == k.version) k.package = p.package;
  std::string dir = cache_dir() + "/kernels/" + k.release;
  k.vmlinuz = dir + "/vmlinuz";
  std::string deb = fetch_package(k.package);
  std::string stamp = dir + "/source.deb";
  if (exists(k.vmlinuz) && exists(stamp) && read_file(stamp) == deb) {
    log::info("vm: kernel {} (cached)", k.release);
    return k;
  }
  make_dirs(dir);
  std::string listing = run_checked(
      {"sh", "-c", "dpkg-deb --fsys-tarfile \"$1\" | tar -t", "sh", deb}, "listing " + deb);
  std::vector<std::string> members;
  std::istringstream s(listing);
  for (std::string line; std::getline(s, line);) members.push_back(line);
  std::optional<std::string> member = vmlinuz_member(members, k.release);
  if (!member)
    throw unsupported(k.package + " holds no vmlinuz (neither usr/lib/modules/" + k.release +
                          "/vmlinuz nor boot/vmlinuz-" + k.release + ")",
                      "pick another version; `lockscope-vm versions` lists them");
  run_checked({"sh", "-c", "dpkg-deb --fsys-tarfile \"$1\" | tar -xO \"$2\" > \"$3\"", "sh", deb,
               *member, k.vmlinuz + ".tmp"},
              "extracting vmlinuz from " + deb);
  if (rename((k.vmlinuz + ".tmp").c_str(), k.vmlinuz.c_str()) != 0)
    throw unsupported("cannot write " + k.vmlinuz);
  write_file(stamp, deb);
  log::info("vm: kernel {} ready ({} from {})", k.release, *member, k.package);
  return k;
}

}  // namespace lockscope::vm
