#include "auth/rate_limiter.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace ordersd::auth {

namespace {

std::optional<double> positive_number(std::string_view text) {
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || !(v > 0) || !std::isfinite(v)) return std::nullopt;
  return v;
}

}  // namespace

std::optional<RateLimit> RateLimit::parse(std::string_view text) {
  size_t colon = text.find(':');
  auto rate = positive_number(text.substr(0, colon));
  if (!rate) return std::nullopt;
  RateLimit limit{*rate, std::max(1.0, *rate)};
  if (colon != std::string_view::npos) {
    auto burst = positive_number(text.substr(colon + 1));
    if (!burst || *burst < 1) return std::nullopt;
    limit.burst = *burst;
  }
  return limit;
}

std::string RateLimit::to_string() const {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g/s burst %g", rate, burst);
  return buf;
}

RateLimiter::RateLimiter(RateLimit limit, size_t max_keys) : limit_(limit), max_keys_(max_keys), sweep_at_(max_keys) {
  limit_.burst = std::max(1.0, limit_.burst);
}

std::optional<std::chrono::milliseconds> RateLimiter::take(const std::string& key, Clock::time_point now) {
  if (!enabled()) return std::nullopt;
  std::lock_guard lk(mu_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= sweep_at_) {
      forget_full(now);
      // When most buckets are still in use, sweep again only once the table
      // has doubled: each sweep is paid for by as many inserts.
      sweep_at_ = std::max(max_keys_, 2 * buckets_.size());
    }
    it = buckets_.emplace(key, Bucket{limit_.burst, now}).first;
  }
  Bucket& b = it->second;
  double elapsed = std::chrono::duration<double>(now - b.at).count();
  if (elapsed > 0) {
    b.tokens = std::min(limit_.burst, b.tokens + elapsed * limit_.rate);
    b.at = now;
  }
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return std::nullopt;
  }
  double wait_s = (1 - b.tokens) / limit_.rate;
  return std::chrono::milliseconds(static_cast<int64_t>(std::ceil(wait_s * 1000)));
}

void RateLimiter::forget_full(Clock::time_point now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    double elapsed = std::chrono::duration<double>(now - it->second.at).count();
    if (it->second.tokens + elapsed * limit_.rate >= limit_.burst) {
      it = buckets_.erase(it);
    } else {
      ++it;
    }
  }
}

size_t RateLimiter::keys() const {
  std::lock_guard lk(mu_);
  return buckets_.size();
}

}  // namespace ordersd::auth
