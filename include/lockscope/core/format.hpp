// SPDX-License-Identifier: Apache-2.0
// Number formatting every renderer shares (report, diff, bench, record).
#pragma once

#include <cstdint>
#include <string>

namespace lockscope {

// Thousands separators: 1234567 -> "1,234,567".
std::string format_count(uint64_t n);
// Rounded to an integer, sign kept: -1234567.4 -> "-1,234,567".
std::string format_grouped(double v);
// Nanoseconds in the unit that keeps three significant digits:
// "950 ns", "1.23 µs", "45.6 ms", "2.00 s".
std::string format_ns(double ns);
// 0.1234 -> "12.3%" (three decimals below 0.1%).
std::string format_share(double fraction);

}  // namespace lockscope
