// RateLimiter: token buckets by key ("token:ci", "address:10.0.0.7").
//
// Each key may make `burst` requests at once and `rate` a second on
// average. Buckets that have refilled are forgotten when the table grows
// past `max_keys` (a forgotten bucket was full: forgetting it changes no
// answer). Buckets still in use are kept, so the table outgrows `max_keys`
// only while that many keys are all being limited at once. Thread-safe.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace ordersd::auth {

struct RateLimit {
  double rate = 0;   // requests a second; 0 = unlimited
  double burst = 0;  // bucket size; at least 1
  // "100" (burst = rate) or "100:500"; nullopt when malformed.
  static std::optional<RateLimit> parse(std::string_view text);
  std::string to_string() const;
};

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  explicit RateLimiter(RateLimit limit, size_t max_keys = 100'000);

  // Takes one request from `key`'s bucket: nullopt when it may go, else how
  // long until it may.
  std::optional<std::chrono::milliseconds> take(const std::string& key, Clock::time_point now = Clock::now());
  bool enabled() const { return limit_.rate > 0; }
  size_t keys() const;

 private:
  struct Bucket {
    double tokens;
    Clock::time_point at;
  };
  void forget_full(Clock::time_point now);  // mu_ held

  RateLimit limit_;
  size_t max_keys_;
  size_t sweep_at_;  // guarded by mu_
  mutable std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace ordersd::auth
