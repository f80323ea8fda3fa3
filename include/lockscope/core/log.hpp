// SPDX-License-Identifier: Apache-2.0
// Logging front door. spdlog is included by src/log.cpp only (header-only
// spdlog costs ~30 s of compile per translation unit in the static build);
// everything else formats with fmt and logs through these functions.
#pragma once

#include <fmt/format.h>

#include <string_view>

namespace lockscope::log {

enum class Level { kTrace, kDebug, kInfo, kWarn, kError };

// verbosity: 0 = warnings and errors, 1 (-v) = info + libbpf warnings,
// 2 (-vv) = debug + all libbpf output.
void init(int verbosity);
int verbosity();
void write(Level level, std::string_view msg);

template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... a) {
  write(Level::kDebug, fmt::format(f, std::forward<Args>(a)...));
}
template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... a) {
  write(Level::kInfo, fmt::format(f, std::forward<Args>(a)...));
}
template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... a) {
  write(Level::kWarn, fmt::format(f, std::forward<Args>(a)...));
}
template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... a) {
  write(Level::kError, fmt::format(f, std::forward<Args>(a)...));
}

}  // namespace lockscope::log
