// SPDX-License-Identifier: Apache-2.0
#include "lockscope/record/symbolizer.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

namespace lockscope {
namespace {

constexpr uint64_t kNoLimit = std::numeric_limits<uint64_t>::max();
constexpr uint64_t kPage = 4096;
// A JIT-compiled BPF program: kallsyms gives no size; lockscope's largest
// are a few KiB.
constexpr uint64_t kBpfProgram = 64 * 1024;

uint64_t plus(uint64_t a, uint64_t n) { return a > kNoLimit - n ? kNoLimit : a + n; }

struct Line {
  uint64_t addr;
  std::string name;
  std::string module;  // "" for the kernel itself
};

// "ffffffff81000000 T _stext" or "ffffffffc0000000 t name\t[module]".
bool parse_kallsyms_line(const std::string& line, Line* out) {
  const char* p = line.c_str();
  char* end = nullptr;
  uint64_t addr = std::strtoull(p, &end, 16);
  if (end == p || addr == 0) return false;  // malformed, or hidden (kptr_restrict)
  if (end[0] != ' ' || end[1] == '\0' || end[2] != ' ') return false;
  char type = end[1];
  if (type != 't' && type != 'T' && type != 'W' && type != 'w') return false;
  const char* name = end + 3;
  size_t len = std::strcspn(name, " \t");
  if (len == 0) return false;
  out->addr = addr;
  out->name.assign(name, len);
  out->module.clear();
  const char* open = std::strchr(name + len, '[');
  const char* close = open ? std::strchr(open, ']') : nullptr;
  if (close) out->module.assign(open + 1, close);
  return true;
}

// /proc/modules: "name size refcount deps state 0xaddress ...". A zero
// address (hidden from this user) is no range.
std::map<std::string, std::pair<uint64_t, uint64_t>> read_module_ranges(const std::string& path,
                                                                        bool* readable) {
  std::map<std::string, std::pair<uint64_t, uint64_t>> out;
  std::ifstream in(path);
  *readable = bool(in);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string name, refs, deps, state, address;
    uint64_t size = 0;
    if (!(f >> name >> size >> refs >> deps >> state >> address)) continue;
    uint64_t base = std::strtoull(address.c_str(), nullptr, 16);
    if (base != 0 && size != 0) out[name] = {base, plus(base, size)};
  }
  return out;
}

}  // namespace

Symbolizer Symbolizer::from_kallsyms(const std::string& path, const std::string& modules) {
  std::vector<Line> lines;
  uint64_t stext = 0, etext = 0, sinittext = 0, einittext = 0;
  {
    std::ifstream in(path);
    std::string text;
    Line l;
    while (std::getline(in, text)) {
      if (!parse_kallsyms_line(text, &l)) continue;
      if (l.module.empty()) {
        if (l.name == "_stext") stext = l.addr;
        if (l.name == "_etext") etext = l.addr;
        if (l.name == "_sinittext") sinittext = l.addr;
        if (l.name == "_einittext") einittext = l.addr;
      }
      lines.push_back(l);
    }
  }
  bool modules_readable = false;
  const auto ranges = read_module_ranges(modules, &modules_readable);

  // How far each symbol may reach at most, whatever follows it.
  auto limit = [&](const Line& l) -> uint64_t {
    if (l.module.empty()) {
      if (!etext) return kNoLimit;  // no layout known: up to the next symbol
      if (l.addr >= stext && l.addr < etext) return etext;
      if (l.addr >= sinittext && l.addr < einittext) return einittext;
      return plus(l.addr, kPage);
    }
    if (l.module == "bpf") return plus(l.addr, kBpfProgram);
    auto r = ranges.find(l.module);
    if (r != ranges.end() && l.addr >= r->second.first && l.addr < r->second.second)
      return r->second.second;
    // ftrace and kprobes trampolines ("__builtin__ftrace"), a module gone
    // since kallsyms was read: no range to trust beyond a page. With no
    // /proc/modules at all, a module's symbols reach the next symbol.
    if (!modules_readable && l.module.rfind("__builtin__", 0) != 0) return kNoLimit;
    return plus(l.addr, kPage);
  };
  std::vector<Sym> syms;
  syms.reserve(lines.size());
  for (auto& l : lines) syms.push_back({l.addr, limit(l), std::move(l.name)});
  return sorted(std::move(syms));
}

Symbolizer Symbolizer::from_entries(std::vector<std::pair<uint64_t, std::string>> entries) {
  std::vector<Sym> syms;
  syms.reserve(entries.size());
  for (auto& e : entries) syms.push_back({e.first, kNoLimit, std::move(e.second)});
  return sorted(std::move(syms));
}

void Symbolizer::add(const std::vector<KernelSymbol>& symbols) {
  if (symbols.empty()) return;
  std::vector<Sym> added;
  added.reserve(symbols.size());
  for (const KernelSymbol& k : symbols)
    added.push_back({k.addr, plus(k.addr, std::max<uint64_t>(k.size, 1)), k.name});
  std::sort(added.begin(), added.end(), [](const Sym& a, const Sym& b) { return a.addr < b.addr; });
  // Drop what starts inside an added symbol (a previous load at the same
  // address, a trampoline's page that happened to reach here).
  auto inside = [&](uint64_t addr) {
    auto it = std::upper_bound(added.begin(), added.end(), addr,
                               [](uint64_t a, const Sym& s) { return a < s.addr; });
    return it != added.begin() && addr < std::prev(it)->end;
  };
  std::vector<Sym> all;
  all.reserve(syms_.size() + added.size());
  for (Sym& s : syms_)
    if (!inside(s.addr)) all.push_back(std::move(s));
  for (Sym& s : added) all.push_back(std::move(s));
  *this = sorted(std::move(all));
}

Symbolizer Symbolizer::sorted(std::vector<Sym> syms) {
  std::sort(syms.begin(), syms.end(), [](const Sym& a, const Sym& b) {
    return a.addr != b.addr ? a.addr < b.addr : a.name < b.name;
  });
  // A symbol ends where the next one (at a higher address) begins.
  uint64_t next = kNoLimit;
  for (size_t i = syms.size(); i-- > 0;) {
    syms[i].end = std::min(syms[i].end, next);
    if (i > 0 && syms[i - 1].addr != syms[i].addr) next = syms[i].addr;
  }
  Symbolizer s;
  s.syms_ = std::move(syms);
  return s;
}

std::string Symbolizer::name(uint64_t addr) const {
  auto it = std::upper_bound(syms_.begin(), syms_.end(), addr,
                             [](uint64_t a, const Sym& s) { return a < s.addr; });
  if (it != syms_.begin() && addr < std::prev(it)->end) return std::prev(it)->name;
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, addr);
  return buf;
}

}  // namespace lockscope
