// SPDX-License-Identifier: Apache-2.0
#include "lockscope/core/histogram.hpp"

#include <algorithm>
#include <cmath>

#include "lockscope/bpf_shared.h"

namespace lockscope {

static_assert(Histogram::kBuckets == LS_HIST_BUCKETS, "histogram contract drift");
static_assert(Histogram::kSubBits == LS_HIST_SUB_BITS, "histogram contract drift");

uint32_t Histogram::index_of(uint64_t v) {
  if (v < kSub) return static_cast<uint32_t>(v);
  unsigned m = 63u - static_cast<unsigned>(__builtin_clzll(v));
  if (m > kMaxMsb) return kBuckets - 1;
  unsigned shift = m - kSubBits;
  return static_cast<uint32_t>(shift * kSub + (v >> shift));
}

uint64_t Histogram::lower_bound(uint32_t idx) {
  if (idx < 2 * kSub) return idx;
  unsigned shift = idx / kSub - 1;
  return (uint64_t(idx % kSub) + kSub) << shift;
}

uint64_t Histogram::width(uint32_t idx) {
  if (idx < 2 * kSub) return 1;
  return uint64_t(1) << (idx / kSub - 1);
}

void Histogram::add(uint64_t v, uint64_t n) {
  if (n == 0) return;
  if (count_ == 0 || v < min_) min_ = v;
  max_ = std::max(max_, v);
  count_ += n;
  sum_ += v * n;
  if (v > 0 && 63u - unsigned(__builtin_clzll(v)) > kMaxMsb) clamped_ += n;
  buckets_[index_of(v)] += n;
}

void Histogram::merge(const Histogram& o) {
  if (o.count_ == 0) return;
  if (count_ == 0 || o.min_ < min_) min_ = o.min_;
  max_ = std::max(max_, o.max_);
  count_ += o.count_;
  sum_ += o.sum_;
  clamped_ += o.clamped_;
  for (const auto& [idx, n] : o.buckets_) buckets_[idx] += n;
}

void Histogram::merge_bpf(const ls_hist& h) {
  // The programs may be halfway through an update while this copy is read
  // (bucket first, count last: bpf/hist.bpf.h). The buckets are the truth:
  // the count is theirs, and min/max are widened to the buckets' bounds
  // when the update had not reached them yet.
  uint64_t n = 0;
  uint32_t first = kBuckets, last = 0;
  for (uint32_t i = 0; i < kBuckets; ++i)
    if (h.buckets[i]) {
      n += h.buckets[i];
      first = std::min(first, i);
      last = i;
    }
  if (n == 0) return;
  uint64_t lo = h.min, hi = h.max;
  if (h.count == 0 || lo > lower_bound(first) + width(first) - 1) lo = lower_bound(first);
  if (h.count == 0 || hi < lower_bound(last)) hi = lower_bound(last) + width(last) - 1;
  if (count_ == 0 || lo < min_) min_ = lo;
  max_ = std::max<uint64_t>(max_, hi);
  count_ += n;
  sum_ += h.sum;
  clamped_ += h.clamped;
  for (uint32_t i = first; i <= last; ++i)
    if (h.buckets[i]) buckets_[i] += h.buckets[i];
}

Histogram::Quantile Histogram::quantile(double q) const {
  if (count_ == 0) return {};
  q = std::clamp(q, 0.0, 1.0);
  // Rank of the wanted sample (1-based, nearest-rank definition).
  uint64_t rank = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(q * double(count_))));
  if (rank >= count_) return {double(max_), 0.0};
  if (rank == 1 && q == 0.0) return {double(min_), 0.0};
  uint64_t seen = 0;
  for (const auto& [idx, n] : buckets_) {
    seen += n;
    if (seen >= rank) {
      double lo = double(lower_bound(idx));
      // Integer values: [lo, hi]. The last bucket also holds every clamped
      // value, so it reaches up to the maximum.
      double hi = idx == kBuckets - 1 ? double(max_) : lo + double(width(idx)) - 1.0;
      lo = std::max(lo, double(min_));
      hi = std::min(hi, double(max_));
      if (hi < lo) hi = lo;
      return {(lo + hi) / 2.0, (hi - lo) / 2.0};
    }
  }
  return {double(max_), 0.0};
}

void Histogram::set_summary(uint64_t count, uint64_t sum, uint64_t min, uint64_t max,
                            uint64_t clamped) {
  count_ = count;
  sum_ = sum;
  min_ = min;
  max_ = max;
  clamped_ = clamped;
}

bool Histogram::operator==(const Histogram& o) const {
  return count_ == o.count_ && sum_ == o.sum_ && min() == o.min() && max_ == o.max_ &&
         clamped_ == o.clamped_ && buckets_ == o.buckets_;
}

}  // namespace lockscope
