// Closed-loop HTTP load for the benchmarks that drive a real server: many
// keep-alive connections, one thread each, each sending its next request as
// soon as the previous one is answered; and the setup every order load needs.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <latch>
#include <mutex>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/http_client.h"

namespace ordersd::bench {

using Steady = std::chrono::steady_clock;
using test::HttpClient;
using test::HttpResponse;

inline constexpr int kCustomers = 64;
inline constexpr int kSkus = 256;
inline constexpr long long kDepositCents = 1'000'000'000'000;  // the most one deposit takes
inline constexpr long long kRestockQuantity = 1'000'000'000;   // the most one restock takes
inline constexpr int kSetupConnections = 16;

// Thrown, not exit()ed: unwinding stops the server (ServerProcess) and
// removes its data directory (TempDir). main() reports it.
[[noreturn]] inline void fail(const std::string& what) { throw std::runtime_error(what); }

inline int64_t wall_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline double seconds_between(Steady::time_point a, Steady::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// Nearest-rank percentile of `values`.
template <typename T>
double percentile(std::vector<T> values, double p) {
  if (values.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(values.size())));
  auto nth = values.begin() + static_cast<std::ptrdiff_t>(std::max<size_t>(rank, 1) - 1);
  std::nth_element(values.begin(), nth, values.end());
  return static_cast<double>(*nth);
}

struct Request {
  std::string method;
  std::string target;
  std::string body;
};

struct LoadResult {
  Steady::time_point start;
  Steady::time_point end;     // the last answer received
  int64_t start_wall_us = 0;  // just before the first request was sent
  std::vector<int64_t> latency_ns;
  double seconds() const { return seconds_between(start, end); }
};

// Sends requests 0..count-1 over `connections` keep-alive connections, one
// thread each, closed loop; every answer must have `expected_status`. After
// each answer, after(n, client, answer) runs on that connection's thread.
template <typename Make, typename After>
LoadResult run_load(uint16_t port, int connections, int count, int expected_status, Make make, After after) {
  connections = std::max(1, std::min(connections, count));
  std::atomic<int> next{0};
  std::atomic<bool> failed{false};
  std::string failure;
  std::mutex failure_mu;
  std::vector<std::vector<int64_t>> latencies(connections);
  std::latch connected(connections + 1);
  std::latch go(1);
  std::vector<std::thread> threads;
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      auto note = [&](const std::string& what) {
        std::lock_guard lk(failure_mu);
        if (!failed.exchange(true)) failure = what;
      };
      std::optional<HttpClient> client;
      try {
        client.emplace(port);
      } catch (const std::exception& e) {
        note(std::string("connecting: ") + e.what());
      }
      connected.count_down();
      go.wait();
      if (!client) return;
      auto& mine = latencies[c];
      try {
        for (int n = next.fetch_add(1); n < count && !failed.load(std::memory_order_relaxed); n = next.fetch_add(1)) {
          Request r = make(n);
          auto begin = Steady::now();
          HttpResponse res = client->request(r.method, r.target, r.body);
          mine.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(Steady::now() - begin).count());
          if (res.status != expected_status) {
            note(r.method + " " + r.target + " answered " + std::to_string(res.status) + ": " + res.body);
            continue;
          }
          after(n, *client, res);
        }
      } catch (const std::exception& e) {
        note(std::string("request failed: ") + e.what());
      }
    });
  }
  connected.arrive_and_wait();
  LoadResult out;
  out.start_wall_us = wall_us();
  out.start = Steady::now();
  go.count_down();
  for (auto& t : threads) t.join();
  out.end = Steady::now();
  if (failed) fail(failure);
  for (auto& mine : latencies) out.latency_ns.insert(out.latency_ns.end(), mine.begin(), mine.end());
  return out;
}

template <typename Make>
LoadResult run_load(uint16_t port, int connections, int count, int expected_status, Make make) {
  return run_load(port, connections, count, expected_status, make, [](int, HttpClient&, const HttpResponse&) {});
}

// GETs over every client (one thread each, closed loop) for `seconds`: each
// request asks for target(client, rng), with a random engine of the
// client's own; any answer but 200 fails the run. `started` runs on the
// calling thread once every client is ready and `stopped` once they have
// all stopped, so that what they measure (the server's CPU) brackets the
// load exactly. Returns every answer's latency.
struct GetLoad {
  std::vector<int64_t> latency_ns;
  Steady::time_point start, end;
};

inline GetLoad get_load(std::vector<std::unique_ptr<HttpClient>>& clients, double seconds,
                        const std::function<std::string(size_t client, std::mt19937& rng)>& target,
                        const std::function<void()>& started = {}, const std::function<void()>& stopped = {}) {
  std::atomic<bool> stop{false};
  std::atomic<bool> failed{false};
  std::string failure;
  std::mutex mu;
  std::vector<std::vector<int64_t>> latencies(clients.size());
  std::latch ready(static_cast<std::ptrdiff_t>(clients.size()) + 1);
  std::vector<std::thread> threads;
  for (size_t c = 0; c < clients.size(); ++c) {
    threads.emplace_back([&, c] {
      std::mt19937 rng(static_cast<uint32_t>(c * 7919 + 1));
      auto& mine = latencies[c];
      mine.reserve(1 << 16);
      ready.arrive_and_wait();
      try {
        while (!stop.load(std::memory_order_relaxed)) {
          std::string path = target(c, rng);
          auto begin = Steady::now();
          HttpResponse res = clients[c]->get(path);
          mine.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(Steady::now() - begin).count());
          if (res.status != 200) {
            std::lock_guard lk(mu);
            if (!failed.exchange(true)) failure = "GET " + path + " answered " + std::to_string(res.status) + ": " + res.body;
            return;
          }
        }
      } catch (const std::exception& e) {
        std::lock_guard lk(mu);
        if (!failed.exchange(true)) failure = e.what();
      }
    });
  }
  if (started) started();
  ready.arrive_and_wait();
  GetLoad out;
  out.start = Steady::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  out.end = Steady::now();
  if (stopped) stopped();
  if (failed) fail(failure);
  for (auto& mine : latencies) out.latency_ns.insert(out.latency_ns.end(), mine.begin(), mine.end());
  return out;
}

inline std::string order_id(int n) { return "o-" + std::to_string(n); }

inline Request place_order(int n) {
  return {"POST", "/orders",
          "{\"order_id\":\"" + order_id(n) + "\",\"customer_id\":\"c-" + std::to_string(n % kCustomers) +
              "\",\"items\":[{\"sku\":\"s-" + std::to_string(n % kSkus) +
              "\",\"quantity\":1,\"unit_price_cents\":100}],\"shipping_address\":{\"country\":\"NL\",\"city\":"
              "\"Utrecht\"}}"};
}

// Money for every customer and stock for every sku, far more than any order load uses.
inline void fund_and_stock(uint16_t port) {
  run_load(
      port, kSetupConnections, kCustomers + kSkus, 200,
      [](int n) -> Request {
        if (n < kCustomers) {
          return {"POST", "/customers/c-" + std::to_string(n) + "/deposits",
                  "{\"amount_cents\":" + std::to_string(kDepositCents) + "}"};
        }
        return {"POST", "/inventory/s-" + std::to_string(n - kCustomers) + "/restock",
                "{\"quantity\":" + std::to_string(kRestockQuantity) + "}"};
      },
      [](int, HttpClient&, const HttpResponse&) {});
}

}  // namespace ordersd::bench
