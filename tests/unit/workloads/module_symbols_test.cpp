// SPDX-License-Identifier: Apache-2.0
// The functions of a module file, placed at its sections' load addresses.
#include "lockscope/workloads/module_symbols.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

namespace {

using lockscope::elf_functions;
using lockscope::ElfFunction;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

const ElfFunction* find(const std::vector<ElfFunction>& v, const std::string& name) {
  for (const auto& f : v)
    if (f.name == name) return &f;
  return nullptr;
}

TEST(ModuleSymbols, ReadsTheFunctionsOfARelocatableObject) {
  std::string bytes = read_file(LOCKSCOPE_MODULE_FIXTURE);
  ASSERT_FALSE(bytes.empty()) << LOCKSCOPE_MODULE_FIXTURE;
  std::string why;
  auto fns = elf_functions(bytes, &why);
  EXPECT_TRUE(why.empty()) << why;
  const ElfFunction* work = find(fns, "fixture_work_fn");
  const ElfFunction* init = find(fns, "fixture_init");
  ASSERT_NE(work, nullptr);
  ASSERT_NE(init, nullptr);
  EXPECT_EQ(work->section, ".text");
  EXPECT_EQ(init->section, ".init.text");
  EXPECT_GT(work->size, 0u);
  EXPECT_GT(init->size, 0u);
  EXPECT_EQ(find(fns, "fixture_counter"), nullptr);  // data, not a function
}

TEST(ModuleSymbols, RefusesWhatIsNoModule) {
  std::string why;
  EXPECT_TRUE(elf_functions("", &why).empty());
  EXPECT_EQ(why, "not an ELF file");
  EXPECT_TRUE(elf_functions("hello, world: no ELF here at all, not even close", &why).empty());
  EXPECT_EQ(why, "not an ELF file");
  // An executable is no relocatable object.
  EXPECT_TRUE(elf_functions(read_file(LOCKSCOPE_BINARY), &why).empty());
  EXPECT_EQ(why, "not a relocatable object (a module is one)");
  // Every truncation of a real object fails cleanly or reads what fits.
  std::string bytes = read_file(LOCKSCOPE_MODULE_FIXTURE);
  for (size_t n : {size_t(16), size_t(64), bytes.size() / 2, bytes.size() - 1}) {
    why.clear();
    auto fns = elf_functions(std::string_view(bytes).substr(0, n), &why);
    EXPECT_TRUE(fns.empty() || why.empty()) << n;
    EXPECT_FALSE(fns.empty() && why.empty()) << n;
  }
}

TEST(ModuleSymbols, ReadsSectionAddressesAndPlacesFunctions) {
  char tmpl[] = "/tmp/lockscope-sections-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  std::ofstream(dir + "/.text") << "0xffffffffc0601000\n";
  std::ofstream(dir + "/.init.text") << "0xffffffffc0605000\n";
  std::ofstream(dir + "/.data") << "0x0000000000000000\n";  // hidden (kptr_restrict)
  auto sections = lockscope::module_sections(dir);
  for (const char* f : {"/.text", "/.init.text", "/.data"}) std::remove((dir + f).c_str());
  rmdir(dir.c_str());
  ASSERT_EQ(sections.size(), 2u);
  EXPECT_EQ(sections.at(".text"), 0xffffffffc0601000u);
  EXPECT_EQ(sections.at(".init.text"), 0xffffffffc0605000u);
  EXPECT_TRUE(lockscope::module_sections("/nonexistent/sections").empty());

  std::vector<ElfFunction> fns = {{".text", 0x50, 0x40, "bench_work_fn"},
                                  {".init.text", 0x10, 0x20, "run_bench"},
                                  {".exit.text", 0, 0x10, "not_loaded"}};
  auto placed = lockscope::place_functions(fns, sections);
  ASSERT_EQ(placed.size(), 2u);
  EXPECT_EQ(placed[0].name, "bench_work_fn");
  EXPECT_EQ(placed[0].addr, 0xffffffffc0601050u);
  EXPECT_EQ(placed[0].size, 0x40u);
  EXPECT_EQ(placed[1].name, "run_bench");
  EXPECT_EQ(placed[1].addr, 0xffffffffc0605010u);
}

}  // namespace
