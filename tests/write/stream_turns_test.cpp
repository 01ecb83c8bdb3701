// StreamTurns: one writer at a time per stream, granted in the order asked.
#include "write/pipeline/stream_turns.h"

#include <doctest/doctest.h>

#include <atomic>
#include <future>
#include <thread>
#include <vector>

using ordersd::write::StreamTurns;

TEST_CASE("a free stream's turn is taken at once; a held one queues until the holder releases it") {
  StreamTurns turns;
  CHECK(turns.take_or_queue("wallet-a", [] { FAIL("a free turn is not queued"); }));
  CHECK(turns.held() == 1);
  // Another stream is independent.
  CHECK(turns.take_or_queue("wallet-b", [] { FAIL("a free turn is not queued"); }));
  int granted = 0;
  CHECK_FALSE(turns.take_or_queue("wallet-a", [&] { ++granted; }));
  CHECK(granted == 0);
  CHECK(turns.waits() == 1);
  turns.release("wallet-a");  // hands the turn straight over
  CHECK(granted == 1);
  CHECK(turns.held() == 2);
  turns.release("wallet-a");
  turns.release("wallet-b");
  CHECK(turns.held() == 0);  // nothing is kept for a stream no one holds
}

TEST_CASE("waiters get the turn in the order they asked for it, blocking and queued alike") {
  StreamTurns turns;
  REQUIRE(turns.take_or_queue("sku-mug", [] {}));
  std::vector<int> order;
  std::mutex mu;
  REQUIRE_FALSE(turns.take_or_queue("sku-mug", [&] {
    std::lock_guard lk(mu);
    order.push_back(1);
  }));
  std::promise<void> asked;
  std::thread blocked([&] {
    // Queue behind the first waiter, then block.
    asked.set_value();
    turns.take("sku-mug");
    {
      std::lock_guard lk(mu);
      order.push_back(2);
    }
    turns.release("sku-mug");
  });
  asked.get_future().wait();
  // The blocked thread is queued once waits() counts it.
  while (turns.waits() < 2) std::this_thread::yield();
  turns.release("sku-mug");  // to waiter 1 (async)
  {
    std::lock_guard lk(mu);
    CHECK(order == std::vector<int>{1});
  }
  turns.release("sku-mug");  // waiter 1 is done: to the blocked thread
  blocked.join();
  CHECK(order == std::vector<int>{1, 2});
  CHECK(turns.held() == 0);
}

TEST_CASE("many threads writing one stream never hold its turn together") {
  StreamTurns turns;
  std::atomic<int> inside{0};
  std::atomic<int> overlaps{0};
  std::atomic<int> done{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        turns.take("wallet-hot");
        if (inside.fetch_add(1) != 0) overlaps.fetch_add(1);
        inside.fetch_sub(1);
        done.fetch_add(1);
        turns.release("wallet-hot");
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(overlaps.load() == 0);
  CHECK(done.load() == 4000);
  CHECK(turns.held() == 0);
}
