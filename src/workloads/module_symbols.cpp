// SPDX-License-Identifier: Apache-2.0
// Function symbols of a module file, placed at the addresses its sections
// were loaded at.
#include "lockscope/workloads/module_symbols.hpp"

#include <dirent.h>
#include <elf.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>

namespace lockscope {
namespace {

// A T read at `off` of `bytes`, or false when it does not fit.
template <typename T>
bool read_at(std::string_view bytes, uint64_t off, T* out) {
  if (off > bytes.size() || bytes.size() - off < sizeof(T)) return false;
  std::memcpy(out, bytes.data() + off, sizeof(T));
  return true;
}

// The NUL-terminated string at `off` of the string table [base, base+size).
bool string_at(std::string_view bytes, uint64_t base, uint64_t size, uint64_t off,
               std::string* out) {
  if (off >= size || base > bytes.size() || bytes.size() - base < size) return false;
  std::string_view table = bytes.substr(base, size);
  size_t end = table.find('\0', off);
  if (end == std::string_view::npos) return false;
  out->assign(table.substr(off, end - off));
  return true;
}

}  // namespace

std::vector<ElfFunction> elf_functions(std::string_view bytes, std::string* why) {
  auto fail = [&](const char* what) {
    *why = what;
    return std::vector<ElfFunction>{};
  };
  Elf64_Ehdr eh;
  if (!read_at(bytes, 0, &eh) || std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
    return fail("not an ELF file");
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
    return fail("not a 64-bit little-endian ELF file");
  if (eh.e_type != ET_REL) return fail("not a relocatable object (a module is one)");
  if (eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shnum == 0 || eh.e_shstrndx >= eh.e_shnum)
    return fail("no section header table");
  std::vector<Elf64_Shdr> sh(eh.e_shnum);
  for (size_t i = 0; i < sh.size(); ++i)
    if (!read_at(bytes, eh.e_shoff + i * sizeof(Elf64_Shdr), &sh[i]))
      return fail("section header table past the end of the file");
  const Elf64_Shdr& names = sh[eh.e_shstrndx];
  std::vector<ElfFunction> out;
  bool have_symtab = false;
  for (const Elf64_Shdr& s : sh) {
    if (s.sh_type != SHT_SYMTAB) continue;
    have_symtab = true;
    if (s.sh_entsize != sizeof(Elf64_Sym) || s.sh_link >= sh.size())
      return fail("malformed symbol table");
    const Elf64_Shdr& strtab = sh[s.sh_link];
    for (uint64_t off = 0; off + sizeof(Elf64_Sym) <= s.sh_size; off += sizeof(Elf64_Sym)) {
      Elf64_Sym sym;
      if (!read_at(bytes, s.sh_offset + off, &sym)) return fail("symbol table past the end");
      if (ELF64_ST_TYPE(sym.st_info) != STT_FUNC) continue;
      if (sym.st_shndx == SHN_UNDEF || sym.st_shndx >= SHN_LORESERVE || sym.st_shndx >= sh.size())
        continue;
      ElfFunction f;
      if (!string_at(bytes, strtab.sh_offset, strtab.sh_size, sym.st_name, &f.name) ||
          f.name.empty() ||
          !string_at(bytes, names.sh_offset, names.sh_size, sh[sym.st_shndx].sh_name, &f.section))
        return fail("symbol or section name outside its string table");
      f.offset = sym.st_value;
      f.size = sym.st_size;
      out.push_back(std::move(f));
    }
  }
  if (!have_symtab) return fail("no symbol table (a stripped module)");
  return out;
}

std::map<std::string, uint64_t> module_sections(const std::string& dir) {
  std::map<std::string, uint64_t> out;
  std::unique_ptr<DIR, int (*)(DIR*)> d(opendir(dir.c_str()), closedir);
  if (!d) return out;
  while (dirent* e = readdir(d.get())) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    std::ifstream in(dir + "/" + name);
    std::string text;
    if (!(in >> text)) continue;
    uint64_t addr = std::strtoull(text.c_str(), nullptr, 16);
    if (addr != 0) out[name] = addr;
  }
  return out;
}

std::vector<KernelSymbol> place_functions(const std::vector<ElfFunction>& functions,
                                          const std::map<std::string, uint64_t>& sections) {
  std::vector<KernelSymbol> out;
  for (const ElfFunction& f : functions) {
    auto s = sections.find(f.section);
    if (s == sections.end()) continue;
    out.push_back({s->second + f.offset, f.size, f.name});
  }
  return out;
}

}  // namespace lockscope
