// The supervisor restarts a component that failed for a passing reason,
// parks one that cannot go on, and lets an operator retry or skip, recording
// each action as an event.
#include "events/supervisor.h"

#include <doctest/doctest.h>

#include <atomic>
#include <flatbuffers/flatbuffers.h>
#include <mutex>

#include "events/event_json.h"
#include "events/subscription.h"
#include "support/sample_events.h"
#include "support/temp_dir.h"

using namespace ordersd;
using namespace ordersd::events;
using namespace std::chrono_literals;
using ordersd::test::TempDir;
using State = Supervisor::State;

namespace {

std::unique_ptr<EventLog> open_log(const std::string& dir) {
  auto log = EventLog::open(dir);
  REQUIRE_MESSAGE(log.is_ok(), log.status().to_string());
  return std::move(log).value();
}

void append_placed(EventLog& log, int n) {
  for (int i = 0; i < n; ++i) REQUIRE(log.append("order-" + std::to_string(i), ExpectedVersion::any(), {test::order_placed("o")}));
}

// A reader whose handler fails as the test says: with an I/O error a number
// of times, or for good at one position.
struct Faulty {
  std::atomic<int> io_errors_left{0};
  std::atomic<uint64_t> refuses{0};  // a position it cannot apply; 0: none
  std::mutex mu;
  std::vector<uint64_t> seen;

  Subscription::Handler handler() {
    return [this](const std::vector<RecordedEvent>& batch) -> Result<AppendRequest> {
      if (io_errors_left > 0) {
        --io_errors_left;
        return Status::io_error("injected: reading the disk failed");
      }
      for (const auto& e : batch) {
        if (e.position() == refuses) {
          return Status::invalid_argument("cannot apply the event at position " + std::to_string(e.position()));
        }
      }
      std::lock_guard lk(mu);
      for (const auto& e : batch) seen.push_back(e.position());
      return AppendRequest{};
    };
  }
};

Supervisor::Component component_of(Subscription& sub, const std::string& name) {
  return {name, [&sub] { return sub.failure(); },
          [&sub] {
            sub.restart();
            if (auto f = sub.failure()) return *f;
            return Status::ok();
          },
          [&sub] { return sub.position(); }, [name] { return name; }};
}

Supervisor::Options fast() {
  Supervisor::Options o;
  o.first_backoff = 10ms;
  o.max_backoff = 40ms;
  o.poll = 5ms;
  return o;
}

}  // namespace

TEST_CASE("a transient failure (an injected I/O error) restarts the component with backoff, and it catches up") {
  TempDir dir;
  auto log = open_log(dir.path());
  append_placed(*log, 30);
  Faulty faulty;
  faulty.io_errors_left = 3;
  Subscription sub(*log, "reader", faulty.handler(), 8);
  Supervisor supervisor(*log, fast());
  supervisor.add(component_of(sub, "reader"));
  supervisor.start();
  // wait_for() gives up early at each failure; the supervisor restarts it until the errors run out.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!sub.wait_for(30, 100ms) && std::chrono::steady_clock::now() < deadline) {
  }
  CHECK(sub.position() == 30);
  auto report = supervisor.report("reader");
  REQUIRE(report);
  CHECK(report->state == State::kRunning);
  CHECK(report->restarts >= 1);
  CHECK(faulty.io_errors_left == 0);
  CHECK(report->last_error.find("injected") != std::string::npos);
  std::lock_guard lk(faulty.mu);
  CHECK(faulty.seen.size() == 30);  // each event once
}

TEST_CASE("a permanent failure parks only that component at the event's position; skip records an operator event and goes on past it") {
  TempDir dir;
  auto log = open_log(dir.path());
  append_placed(*log, 20);
  Faulty bad, good;
  bad.refuses = 12;
  Subscription bad_sub(*log, "bad", bad.handler(), 8);
  Subscription good_sub(*log, "good", good.handler(), 8);
  Supervisor supervisor(*log, fast());
  supervisor.add(component_of(bad_sub, "bad"));
  supervisor.add(component_of(good_sub, "good"));
  supervisor.start();
  REQUIRE(supervisor.wait_for("bad", State::kFailed, 10s));
  auto report = supervisor.report("bad").value();
  CHECK(report.failed_at == std::optional<uint64_t>(12));
  CHECK(report.restarts == 0);  // never restarted on its own
  CHECK(bad_sub.position() == 11);
  CHECK_FALSE(supervisor.all_running());
  REQUIRE(good_sub.wait_for(20, 10s));
  CHECK(supervisor.report("good")->state == State::kRunning);

  // Retrying a component that is running, or skipping another position, is refused.
  CHECK(supervisor.retry("good", "ops").status().code() == Status::Code::kInvalidArgument);
  CHECK(supervisor.skip("bad", 13, "ops").status().code() == Status::Code::kInvalidArgument);
  CHECK(supervisor.retry("nobody", "ops").status().code() == Status::Code::kNotFound);

  // A retry restarts it as it is: it fails at the same event again.
  uint64_t head_before = log->head();
  auto retried = supervisor.retry("bad", "ops");
  REQUIRE(retried);
  CHECK(retried->last_position == head_before + 1);
  REQUIRE(supervisor.wait_for("bad", State::kFailed, 10s));

  auto skipped = supervisor.skip("bad", 12, "ops");
  REQUIRE_MESSAGE(skipped, skipped.status().to_string());
  REQUIRE(bad_sub.wait_for(log->head(), 10s));
  CHECK(supervisor.report("bad")->state == State::kRunning);
  {
    std::lock_guard lk(bad.mu);
    CHECK(std::find(bad.seen.begin(), bad.seen.end(), 12) == bad.seen.end());
    CHECK(std::find(bad.seen.begin(), bad.seen.end(), 13) != bad.seen.end());
  }
  // Both operator actions are events of the component's operator stream.
  auto actions = log->read_stream("operator-component-bad", 1, 10).value();
  REQUIRE(actions.size() == 2);
  CHECK(actions[0].type() == "operator.component_action.v1");
  std::string retry_json = event_to_json(actions[0]);
  std::string skip_json = event_to_json(actions[1]);
  CHECK(retry_json.find("\"action\":\"retry\"") != std::string::npos);
  CHECK(skip_json.find("\"action\":\"skip\"") != std::string::npos);
  CHECK(skip_json.find("\"position\":12") != std::string::npos);
  CHECK(skip_json.find("\"actor\":\"ops\"") != std::string::npos);
}
