// Latency histogram in microseconds, HDR-style log-linear buckets: exact below
// 128 µs, then 64 buckets per power of two (relative error < 1.6 %). Mergeable
// and serialisable, so worker processes can send theirs to the driver.
#pragma once

#include <bit>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::bench {

class Histogram {
 public:
  Histogram() : counts_(kBuckets, 0) {}

  void record(uint64_t us) {
    ++counts_[index(us)];
    ++total_;
    if (us > max_) max_ = us;
  }
  void merge(const Histogram& o) {
    for (size_t i = 0; i < kBuckets; ++i) counts_[i] += o.counts_[i];
    total_ += o.total_;
    if (o.max_ > max_) max_ = o.max_;
  }
  uint64_t count() const { return total_; }
  uint64_t max() const { return max_; }

  // The smallest recorded bucket value v such that at least p (0..1) of the
  // samples are <= v (the bucket's upper edge, capped at the true maximum).
  uint64_t percentile(double p) const {
    if (total_ == 0) return 0;
    auto want = static_cast<uint64_t>(p * static_cast<double>(total_) + 0.5);
    if (want == 0) want = 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= want) return std::min(upper(i), max_);
    }
    return max_;
  }

  // "max;idx:count,idx:count" — only non-empty buckets.
  std::string serialize() const {
    std::string out = std::to_string(max_) + ";";
    for (size_t i = 0; i < kBuckets; ++i)
      if (counts_[i]) out += std::to_string(i) + ":" + std::to_string(counts_[i]) + ",";
    return out;
  }
  static Histogram parse(std::string_view s);

 private:
  static constexpr size_t kBuckets = 64 * 60;
  static size_t index(uint64_t v) {
    if (v < 128) return static_cast<size_t>(v);
    int shift = std::bit_width(v) - 7;  // v >> shift is in [64, 127]
    return static_cast<size_t>(64 * shift) + static_cast<size_t>(v >> shift);
  }
  static uint64_t upper(size_t i) {
    if (i < 128) return i;
    size_t shift = i / 64 - 1;
    uint64_t base = i - 64 * shift;  // v >> shift
    return ((base + 1) << shift) - 1;
  }

  std::vector<uint64_t> counts_;
  uint64_t total_ = 0;
  uint64_t max_ = 0;
};

inline Histogram Histogram::parse(std::string_view s) {
  Histogram h;
  auto semi = s.find(';');
  if (semi == std::string_view::npos) return h;
  h.max_ = std::stoull(std::string(s.substr(0, semi)));
  s.remove_prefix(semi + 1);
  while (!s.empty()) {
    auto comma = s.find(',');
    auto item = s.substr(0, comma);
    auto colon = item.find(':');
    auto idx = std::stoull(std::string(item.substr(0, colon)));
    auto n = std::stoull(std::string(item.substr(colon + 1)));
    if (idx < kBuckets) {
      h.counts_[idx] += n;
      h.total_ += n;
    }
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return h;
}

}  // namespace switchboard::bench
