// The orchestrator against a clock that steps back: a deadline it found
// passed is decided as passed, so the saga is asked again and never dropped.
#include "write/saga/saga_orchestrator.h"

#include <doctest/doctest.h>

#include <mutex>

#include "support/sample_events.h"
#include "support/temp_dir.h"
#include "write/domain/order_codec.h"
#include "write/saga/saga_codec.h"

using namespace ordersd;
using namespace ordersd::write;
using namespace std::chrono_literals;
using ordersd::test::TempDir;

namespace {

// Wall-clock time as the test sets it; armed, it answers one read past the
// deadline and every later read a minute before it: an NTP step back in the
// middle of a decision.
class SteppingClock {
 public:
  explicit SteppingClock(int64_t now) : now_(now) {}
  int64_t read() {
    std::lock_guard lk(mu_);
    if (armed_) {
      armed_ = false;
      int64_t forward = now_;
      now_ -= 60'000'000;
      return forward;
    }
    return now_;
  }
  void step_over_and_back(int64_t to) {
    std::lock_guard lk(mu_);
    now_ = to;
    armed_ = true;
  }

 private:
  std::mutex mu_;
  int64_t now_;
  bool armed_ = false;
};

}  // namespace

TEST_CASE("a deadline found passed is decided as passed even when the clock steps back mid-decision") {
  TempDir dir;
  auto log = events::EventLog::open(dir.path()).value();
  constexpr int64_t kStart = 1'700'000'000'000'000;
  constexpr int64_t kTimeout = 3'600'000'000;  // an hour: only the test's clock moves it
  SteppingClock clock(kStart);
  auto saga = SagaOrchestrator::open(*log, {SagaPolicy{kTimeout, 3}, [&clock] { return clock.read(); }}).value();
  saga->start();
  RandomUuidGenerator ids;
  OrderPlaced placed{"o-1", "c-1", {{"mug", 1, 500}}, {"NL", "Amsterdam", "Dam 1", "1012JS"}, 500};
  REQUIRE(log->append(order_stream("o-1"), events::ExpectedVersion::no_stream(),
                      {to_new_event("o-1", OrderEvent(placed), ids.next())}));
  auto saga_version = [&] { return log->stream_version(saga_stream("o-1")).value(); };
  REQUIRE(saga->wait_for(log->head(), 10s));
  REQUIRE(saga_version() == 1);  // the charge, attempt 1

  // Each try: the clock passes the deadline for exactly one read, then steps
  // back; an unrelated event wakes the orchestrator so that its batch takes
  // that read. (A try whose read went to the orchestrator's own timer wakes
  // nothing and is made again.)
  bool retried = false;
  for (int attempt = 0; attempt < 20 && !retried; ++attempt) {
    clock.step_over_and_back(kStart + kTimeout + 1);
    REQUIRE(log->append("unrelated", events::ExpectedVersion::any(), {test::order_placed("x")}));
    REQUIRE(saga->wait_for(log->head(), 10s));
    retried = saga_version() >= 2;
  }
  CHECK(retried);
  auto state = SagaOrchestrator::load(*log, "o-1").value();
  CHECK(state.attempt == 2);
  CHECK(state.pending == SagaStep::kCharge);
}
