// Histogram: counts of observations in fixed buckets, plus their sum, for
// metrics. observe() is lock-free and thread-safe; snapshot() may run
// concurrently with it and sees each counter at some recent value.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace ordersd {

class Histogram {
 public:
  // `upper_bounds` ascending; an implicit +Inf bucket follows the last.
  explicit Histogram(std::vector<double> upper_bounds);

  void observe(double value);

  struct Snapshot {
    std::vector<double> upper_bounds;
    std::vector<uint64_t> cumulative;  // per bound, then +Inf (= count)
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot snapshot() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1
  std::atomic<uint64_t> sum_micro_{0};                // sum in millionths
};

}  // namespace ordersd
