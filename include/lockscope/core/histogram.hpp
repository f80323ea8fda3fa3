// SPDX-License-Identifier: Apache-2.0
// Log-linear histogram: the user-space side of the contract in
// lockscope/bpf_shared.h (32 sub-buckets per power of two, <= 1/32 relative
// bucket width). Exact count, sum, min and max; percentiles are read from the
// buckets and carry the bucket's error bound.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

struct ls_hist;

namespace lockscope {

class Histogram {
 public:
  static constexpr unsigned kSubBits = 5;
  static constexpr uint64_t kSub = 1u << kSubBits;
  static constexpr unsigned kMaxMsb = 39;
  static constexpr uint32_t kBuckets = (kMaxMsb - kSubBits + 2) * kSub;

  // Bucket index of a value (same arithmetic as ls_hist_index() in BPF).
  static uint32_t index_of(uint64_t v);
  // Smallest value in bucket `idx`, and the bucket's width.
  static uint64_t lower_bound(uint32_t idx);
  static uint64_t width(uint32_t idx);

  void add(uint64_t v, uint64_t n = 1);
  void merge(const Histogram& other);
  // Adds one CPU's copy of a BPF histogram.
  void merge_bpf(const ls_hist& h);

  uint64_t count() const { return count_; }
  uint64_t sum() const { return sum_; }
  uint64_t min() const { return count_ ? min_ : 0; }
  uint64_t max() const { return max_; }
  uint64_t clamped() const { return clamped_; }
  double mean() const { return count_ ? double(sum_) / double(count_) : 0.0; }
  bool empty() const { return count_ == 0; }

  struct Quantile {
    double value = 0;        // estimate: midpoint of the bucket, clamped to [min, max]
    double error_bound = 0;  // half the bucket width: |true - value| <= error_bound
  };
  // q in [0, 1], nearest-rank definition: the value of rank ceil(q * count)
  // (at least 1) in the sorted sample; rank count is the exact max, q = 0
  // the exact min. The estimate is the middle of that rank's bucket,
  // clamped to [min, max]; the clamped last bucket spans up to max.
  // Returns {0, 0} for an empty histogram.
  Quantile quantile(double q) const;
  double percentile(double p) const { return quantile(p / 100.0).value; }

  // Non-empty buckets, index -> count.
  const std::map<uint32_t, uint64_t>& buckets() const { return buckets_; }

  // For deserialization: sets the exact summary fields.
  void set_summary(uint64_t count, uint64_t sum, uint64_t min, uint64_t max, uint64_t clamped);
  void set_bucket(uint32_t idx, uint64_t n) { buckets_[idx] = n; }

  bool operator==(const Histogram& o) const;

 private:
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t min_ = 0;
  uint64_t max_ = 0;
  uint64_t clamped_ = 0;
  std::map<uint32_t, uint64_t> buckets_;
};

}  // namespace lockscope
