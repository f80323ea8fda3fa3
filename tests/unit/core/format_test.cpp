// SPDX-License-Identifier: Apache-2.0
// The one number formatter every renderer uses.
#include "lockscope/core/format.hpp"
#include "lockscope/core/text.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lockscope {
namespace {

TEST(Units, NanosecondsInHumanUnits) {
  EXPECT_EQ(format_ns(0), "0 ns");
  EXPECT_EQ(format_ns(999), "999 ns");
  EXPECT_EQ(format_ns(7.5), "7.5 ns");
  EXPECT_EQ(format_ns(1000), "1.00 µs");
  EXPECT_EQ(format_ns(1234), "1.23 µs");
  EXPECT_EQ(format_ns(45'600), "45.6 µs");
  EXPECT_EQ(format_ns(99'960), "100 µs");
  EXPECT_EQ(format_ns(999'999), "1.00 ms");
  EXPECT_EQ(format_ns(12'345'678), "12.3 ms");
  EXPECT_EQ(format_ns(2e9), "2.00 s");
  EXPECT_EQ(format_ns(125e9), "125 s");
}

TEST(Units, CountsAndShares) {
  EXPECT_EQ(format_count(0), "0");
  EXPECT_EQ(format_count(999), "999");
  EXPECT_EQ(format_count(1000), "1,000");
  EXPECT_EQ(format_count(1234567), "1,234,567");
  EXPECT_EQ(format_count(3611591), "3,611,591");
  EXPECT_EQ(format_count(18446744073709551615ull), "18,446,744,073,709,551,615");
  EXPECT_EQ(format_grouped(1234567.4), "1,234,567");
  EXPECT_EQ(format_grouped(999.5), "1,000");
  EXPECT_EQ(format_grouped(-1234567.4), "-1,234,567");
  EXPECT_EQ(format_grouped(-0.4), "0");
  EXPECT_EQ(format_share(0.1234), "12.3%");
  EXPECT_EQ(format_share(1.0), "100.0%");
  EXPECT_EQ(format_share(0.0004), "0.040%");
}

}  // namespace
}  // namespace lockscope

namespace lockscope {
namespace {

TEST(Text, TruncateMiddleKeepsBothEnds) {
  EXPECT_EQ(truncate_middle("kick_pool_pick <- __queue_work", 12), "kick_p…_work");
  EXPECT_EQ(truncate_middle("short", 12), "short");
  EXPECT_EQ(display_width(truncate_middle("µµµµµµµµµµ", 5)), 5u);
}

TEST(Text, TruncateDistinctNeverMakesTwoValuesLookTheSame) {
  std::vector<std::string> v = {"virtio_transport_send_pkt_work", "virtio_transport_rx_work",
                                "virtio_transport_send_pkt_work", "a"};
  auto t = truncate_distinct(v, 8);
  EXPECT_NE(t[0], t[1]);
  EXPECT_EQ(t[0], t[2]);  // equal values may stay equal
  EXPECT_EQ(t[3], "a");
  // Where the ends differ, the cut width is enough.
  auto u = truncate_distinct({"alpha_one", "beta_two"}, 5);
  EXPECT_EQ(u[0], "al…ne");
  EXPECT_EQ(u[1], "be…wo");
}

TEST(Text, PrefixSuffixAndTrim) {
  EXPECT_TRUE(starts_with("kick_pool", "kick"));
  EXPECT_FALSE(starts_with("kick", "kick_pool"));
  EXPECT_TRUE(ends_with("hold_ns", "_ns"));
  EXPECT_FALSE(ends_with("ns", "_ns"));
  EXPECT_TRUE(ends_with("x", ""));
  EXPECT_EQ(trim("  \tcpu \n"), "cpu");
  EXPECT_EQ(trim("\n\r\t "), "");
  EXPECT_EQ(trim("a b"), "a b");
}

}  // namespace
}  // namespace lockscope
