// SPDX-License-Identifier: Apache-2.0
// Number formatting shared by the diff renderers and the gate's reasons.
#pragma once

#include <fmt/format.h>

#include "lockscope/core/format.hpp"

#include <cmath>
#include <string>

namespace lockscope::diff::fmtx {

// A run-level value of `key`: shares with 4 decimals, others grouped integers
// (one decimal below 100 where the value is fractional).
inline std::string value(const std::string& key, double v) {
  if (std::isnan(v)) return "n/a";
  if (key.size() > 6 && key.compare(key.size() - 6, 6, ".share") == 0)
    return fmt::format("{:.4f}", v);
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
