// SPDX-License-Identifier: Apache-2.0
// Number formatting shared by the diff renderers and the gate's reasons.
#pragma once

#include <fmt/format.h>

#include "lockscope/core/format.hpp"

#include <cmath>
#include <string>

namespace lockscope::diff::fmtx {

// A run-level value of `key`: shares in percent, others grouped integers
// (one decimal below 100 where the value is fractional).
inline bool is_share(const std::string& key) {
  return key.size() > 6 && key.compare(key.size() - 6, 6, ".share") == 0;
}

// A share (a fraction) in percent: 0.4050 -> "40.50%".
inline std::string share(double fraction) {
  if (std::isnan(fraction)) return "n/a";
  return fmt::format("{:.2f}%", 100 * fraction);
}

// A change of a share (a difference of fractions) in percentage points.
inline std::string points(double diff) {
  if (std::isnan(diff)) return "n/a";
  return fmt::format("{:+.2f} pp", 100 * diff);
}

inline std::string value(const std::string& key, double v) {
  if (std::isnan(v)) return "n/a";
  if (is_share(key)) return share(v);
  if (std::fabs(v) >= 100 || v == std::floor(v)) return format_grouped(v);
  return fmt::format("{:.1f}", v);
}

inline std::string pct(double v) {
  if (std::isnan(v)) return "n/a";
  if (std::isinf(v)) return v > 0 ? "+inf%" : "-inf%";
  return fmt::format("{:+.1f}%", v);
}

inline std::string pvalue(double p) {
  if (p < 0.001) return "<0.001";
  return fmt::format("{:.3f}", p);
}

}  // namespace lockscope::diff::fmtx
