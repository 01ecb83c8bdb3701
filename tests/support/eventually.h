// Polls a condition that nothing signals (a server's answer, a file, a log
// line) until it holds or `within` passes. The pause between polls is the
// polling interval, not synchronisation: the answer is the condition's.
#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace ordersd::test {

inline bool eventually(const std::function<bool()>& done,
                       std::chrono::milliseconds within = std::chrono::seconds(20)) {
  auto until = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();  // one last look, at the deadline
}

}  // namespace ordersd::test
