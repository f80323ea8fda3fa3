// SPDX-License-Identifier: Apache-2.0
// Where the pictures put their marker labels: a pure placement, checked
// without drawing.
#include <gtest/gtest.h>

#include "../../../src/output/internal.hpp"

namespace lockscope::output::detail {
namespace {

bool overlap(const LabelSpot& a, const LabelSpot& b) {
  return a.row == b.row && a.left < b.right && b.left < a.right;
}

void expect_no_collision(const std::vector<LabelSpot>& v) {
  for (size_t i = 0; i < v.size(); ++i)
    for (size_t j = i + 1; j < v.size(); ++j) EXPECT_FALSE(overlap(v[i], v[j])) << i << " " << j;
}

TEST(LabelPlacement, FarApartLabelsShareTheRowNextToThePlot) {
  auto v = place_labels({100, 400, 700}, {60, 60, 60}, 0, 800, 80, 13);
  for (const auto& l : v) {
    EXPECT_EQ(l.row, 0);
    EXPECT_EQ(l.y, 80);
    EXPECT_FALSE(l.end_anchor);
  }
  EXPECT_EQ(v[1].left, 404);  // just right of its marker
}

TEST(LabelPlacement, CloseMarkersStaggerUpwardsAndNeverCollide) {
  // p95 and p99 a few pixels apart (a tail of one bucket), p50 further left.
  auto v = place_labels({300, 612, 618}, {80, 88, 88}, 0, 800, 80, 13);
  expect_no_collision(v);
  EXPECT_EQ(v[0].row, 0);
  EXPECT_EQ(v[1].row, 0);
  EXPECT_EQ(v[2].row, 1);
  EXPECT_EQ(v[2].y, 67);  // one row up, still above the plot (y < 80 + 1)
  // All three on one spot: three rows.
  v = place_labels({500, 500, 500}, {80, 80, 80}, 0, 800, 80, 13);
  expect_no_collision(v);
  EXPECT_EQ(v[0].row + v[1].row + v[2].row, 0 + 1 + 2);
}

TEST(LabelPlacement, LabelsNearTheRightEdgeTurnLeftAndStayInside) {
  auto v = place_labels({790, 795}, {80, 80}, 0, 800, 80, 13);
  expect_no_collision(v);
  for (const auto& l : v) {
    EXPECT_TRUE(l.end_anchor);
    EXPECT_LE(l.right, 800);
    EXPECT_GE(l.left, 0);
  }
  EXPECT_NE(v[0].row, v[1].row);
}

TEST(LabelPlacement, InInputOrderWhateverTheOrderOfTheMarkers) {
  auto v = place_labels({600, 100}, {50, 50}, 0, 800, 80, 13);
  EXPECT_EQ(v[0].left, 604);
  EXPECT_EQ(v[1].left, 104);
}

}  // namespace
}  // namespace lockscope::output::detail
