// SPDX-License-Identifier: Apache-2.0
// The only translation unit that includes spdlog. libbpf's own messages are
// routed here too: hidden by default, shown with -v (warnings) and -vv (all).
#include "lockscope/core/log.hpp"

#include <bpf/libbpf.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace lockscope::log {
namespace {

int g_verbosity = 0;

int libbpf_print(enum libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_DEBUG && g_verbosity < 2) return 0;
  if (level != LIBBPF_DEBUG && g_verbosity < 1) return 0;
  // Whole messages: a verifier log runs to many kilobytes.
  va_list again;
  va_copy(again, args);
  int n = vsnprintf(nullptr, 0, format, args);
  std::string msg(n > 0 ? size_t(n) : 0, '\0');
  if (n > 0) vsnprintf(msg.data(), msg.size() + 1, format, again);
  va_end(again);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == '\r')) msg.pop_back();
  if (msg.rfind("libbpf: ", 0) != 0) msg.insert(0, "libbpf: ");
  write(level == LIBBPF_WARN ? Level::kWarn : Level::kDebug, msg);
  return n;
}

}  // namespace

void init(int verbosity) {
  g_verbosity = verbosity;
  spdlog::drop("lockscope");  // init may run again (tests): one logger of that name
  auto logger =
      spdlog::stderr_color_st("lockscope", std::getenv("NO_COLOR") ? spdlog::color_mode::never
                                                                   : spdlog::color_mode::automatic);
  logger->set_pattern("%^%l%$: %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(verbosity >= 2   ? spdlog::level::trace
                    : verbosity == 1 ? spdlog::level::info
                                     : spdlog::level::warn);
  libbpf_set_print(libbpf_print);
}

int verbosity() { return g_verbosity; }

void write(Level level, std::string_view msg) {
  switch (level) {
    case Level::kTrace: spdlog::trace("{}", msg); break;
    case Level::kDebug: spdlog::debug("{}", msg); break;
    case Level::kInfo: spdlog::info("{}", msg); break;
    case Level::kWarn: spdlog::warn("{}", msg); break;
    case Level::kError: spdlog::error("{}", msg); break;
  }
}

}  // namespace lockscope::log
