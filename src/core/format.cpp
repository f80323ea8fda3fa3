// SPDX-License-Identifier: Apache-2.0
#include "lockscope/core/format.hpp"

#include <fmt/format.h>

#include <cmath>
#include <iterator>

namespace lockscope {

std::string format_count(uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  size_t lead = digits.size() % 3;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (i + 3 - lead) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string format_grouped(double v) {
  double r = std::round(std::fabs(v));
  std::string s = format_count(uint64_t(r));
  return v < 0 && r != 0 ? "-" + s : s;
}

std::string format_ns(double ns) {
  if (!std::isfinite(ns)) return "?";
  double a = std::fabs(ns);
  if (a < 1000.0) {
    // Integer nanoseconds are exact; half values come from bucket midpoints.
    if (std::fabs(ns - std::round(ns)) < 1e-9) return fmt::format("{:.0f} ns", ns);
    return fmt::format("{:.1f} ns", ns);
  }
  static const struct {
    double div;
    const char* unit;
  } units[] = {{1e3, "µs"}, {1e6, "ms"}, {1e9, "s"}};
  size_t u = 0;
  while (u + 1 < std::size(units) && a >= units[u + 1].div * 0.9995) ++u;
  double v = ns / units[u].div;
  double av = std::fabs(v);
  // Three significant digits; guard against rounding up to the next decade.
  if (av >= 99.95) return fmt::format("{:.0f} {}", v, units[u].unit);
  if (av >= 9.995) return fmt::format("{:.1f} {}", v, units[u].unit);
  return fmt::format("{:.2f} {}", v, units[u].unit);
}

std::string format_share(double fraction) {
  double pct = fraction * 100.0;
  if (pct != 0.0 && std::fabs(pct) < 0.1) return fmt::format("{:.3f}%", pct);
  return fmt::format("{:.1f}%", pct);
}

}  // namespace lockscope
