// The bus contract: the outbox relay and the inbox importer against a real
// broker, each case run against both a nats-server (JetStream) and a
// rabbitmq-server (streams): events written in one log arrive in another as
// the same events, once, in order, through restarts of either side, a
// broker killed and restarted, and messages published twice or out of order.
#include <doctest/doctest.h>

#include <chrono>
#include <thread>
#include <type_traits>

#include "bus/importer.h"
#include "bus/bus.h"
#include "bus/relay.h"
#include "bus/roles.h"
#include "events/event_log.h"

#include "support/nats_server.h"
#include "support/rabbitmq_server.h"
#include "support/sample_events.h"
#include "support/damage.h"
#include "support/temp_dir.h"

using namespace ordersd;
using namespace ordersd::bus;
using ordersd::test::NatsServer;
using ordersd::test::RabbitMqServer;
using ordersd::test::TempDir;

namespace {

std::unique_ptr<events::EventLog> open_log(const std::string& dir) { return events::EventLog::open(dir).value(); }

void append(events::EventLog& log, const std::string& stream, int n) {
  for (int i = 0; i < n; ++i) REQUIRE(log.append(stream, events::ExpectedVersion::any(), {test::order_placed(stream)}));
}

// Until `done()` holds; fails the test after `limit`.
template <typename Done>
void wait_until(Done done, std::chrono::seconds limit = std::chrono::seconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// Every event of `stream` in both logs is the same event at the same version.
void same_stream(const events::EventLog& a, const events::EventLog& b, const std::string& stream) {
  auto x = a.read_stream(stream, 1, 1000).value();
  auto y = b.read_stream(stream, 1, 1000).value();
  REQUIRE(x.size() == y.size());
  for (size_t i = 0; i < x.size(); ++i) {
    CHECK(x[i].id() == y[i].id());
    CHECK(x[i].version() == y[i].version());
    CHECK(x[i].type() == y[i].type());
    CHECK(x[i].time_us() == y[i].time_us());
    CHECK(x[i].payload() == y[i].payload());
  }
}

}  // namespace

TEST_CASE("roles name what a process writes and what it copies in") {
  CHECK(Roles::parse("payment").value().written_kinds() == std::set<std::string>{"wallet"});
  CHECK(Roles::parse("payment").value().read_kinds() == std::set<std::string>{"saga"});
  CHECK(Roles::parse("order").value().read_kinds() == std::set<std::string>{"reservation", "shipment", "wallet"});
  // What a process writes itself it does not copy in.
  CHECK(Roles::parse("order,payment").value().read_kinds() == std::set<std::string>{"reservation", "shipment"});
  CHECK(Roles::parse("all").value().read_kinds().empty());
  CHECK(Roles::parse("query").value().written_kinds().empty());
  CHECK(Roles::parse("order,payment,inventory,shipping,query").value().is_all());
  CHECK(Roles::parse("orders").status().code() == Status::Code::kInvalidArgument);
  CHECK(Roles::parse("order,").status().code() == Status::Code::kInvalidArgument);
  CHECK(stream_kind("wallet-c-42") == "wallet");
  CHECK(stream_kind("nodash") == "");
}

TEST_CASE_TEMPLATE("events of the streams a process writes reach another process's log as the same events, once", Broker,
                   NatsServer, RabbitMqServer) {
  Broker nats;
  TempDir a_dir, b_dir;
  auto a = open_log(a_dir.path());
  auto b = open_log(b_dir.path());
  auto a_bus = connect_bus(nats.url()).value();
  auto b_bus = connect_bus(nats.url()).value();

  append(*a, "wallet-ann", 3);
  append(*a, "order-1", 2);  // not a kind this relay publishes
  append(*a, "wallet-bob", 2);
  auto relay = std::make_unique<Relay>(*a, *a_bus, std::set<std::string>{"wallet"});
  relay->start();
  auto importer = std::make_unique<Importer>(*b, *b_bus, "b", std::map<std::string, std::string>{{"wallet", ""}});
  Status started = importer->start();
  INFO(started.to_string());
  REQUIRE(started);
  wait_until([&] { return b->head() == 5; });
  same_stream(*a, *b, "wallet-ann");
  same_stream(*a, *b, "wallet-bob");
  CHECK(b->stream_version("order-1").value() == 0);
  wait_until([&] { return relay->position() == a->head(); });
  CHECK(relay->published() == 5);

  SUBCASE("a relay that publishes everything again copies nothing twice") {
    relay->stop();
    events::SideWrites rewind;
    rewind.set_checkpoint(Relay::kCheckpoint, 0);
    REQUIRE(a->write(rewind));
    relay = std::make_unique<Relay>(*a, *a_bus, std::set<std::string>{"wallet"});
    relay->start();
    append(*a, "wallet-ann", 1);  // behind the republished ones on the bus
    wait_until([&] { return b->head() >= 6; });
    wait_until([&] { return relay->position() == a->head(); });
    CHECK(b->head() == 6);
    same_stream(*a, *b, "wallet-ann");
  }

  SUBCASE("an importer stopped and started again goes on where it acknowledged") {
    importer.reset();
    append(*a, "wallet-bob", 2);
    wait_until([&] { return relay->position() == a->head(); });
    CHECK(b->head() == 5);
    importer = std::make_unique<Importer>(*b, *b_bus, "b", std::map<std::string, std::string>{{"wallet", ""}});
    REQUIRE(importer->start());
    wait_until([&] { return b->head() == 7; });
    same_stream(*a, *b, "wallet-bob");
    // Only the two new ones came: it resumed where it had acknowledged (NATS:
    // the durable consumer's place; RabbitMQ: the offset in b's checkpoint).
    wait_until([&] { return importer->acknowledged() == 2; });
    CHECK(importer->imported() == 2);
  }

  SUBCASE("every message delivered again (a new consumer from the start) changes nothing") {
    importer.reset();
    events::SideWrites rewind;  // a stream consumer starts where b's checkpoint says
    rewind.set_checkpoint(Importer::checkpoint_of("wallet"), 0);
    REQUIRE(b->write(rewind));
    Importer again(*b, *b_bus, "b-again", std::map<std::string, std::string>{{"wallet", ""}});
    REQUIRE(again.start());
    wait_until([&] { return again.acknowledged() == 5; });
    CHECK(again.imported() == 0);
    CHECK(b->head() == 5);
    importer = std::make_unique<Importer>(*b, *b_bus, "b", std::map<std::string, std::string>{{"wallet", ""}});
    REQUIRE(importer->start());
  }

  SUBCASE("the relay waits out a broker that is away and publishes once it is back") {
    if constexpr (std::is_same_v<Broker, RabbitMqServer>) {
      // RabbitMQ 3.10 makes a new stream's metadata durable a moment after
      // declaring it: a node SIGKILLed within about a second of that brings
      // the stream back "down" for good. A clean restart first makes it
      // durable, as a broker that has run for a while has it.
      nats.stop();
      nats.restart();
      append(*a, "wallet-dan", 1);
      wait_until([&] { return b->head() == 6; });
    }
    nats.kill();
    append(*a, "wallet-cat", 3);
    nats.restart();
    const uint64_t before = std::is_same_v<Broker, RabbitMqServer> ? 6 : 5;
    wait_until([&] { return b->head() == before + 3; });
    same_stream(*a, *b, "wallet-cat");
  }
  CHECK_FALSE(importer->failure());
}

TEST_CASE_TEMPLATE("a message that arrives ahead of its stream's gap waits for the event before it", Broker, NatsServer,
                   RabbitMqServer) {
  Broker nats;
  TempDir a_dir, b_dir;
  auto a = open_log(a_dir.path());
  auto b = open_log(b_dir.path());
  append(*a, "wallet-ann", 3);
  auto bus = connect_bus(nats.url()).value();
  auto stored = a->read_stream("wallet-ann", 1, 10).value();
  auto message = [&](int i) { return Outgoing{"wallet", stored[i].id().to_string(), stored[i].envelope_bytes()}; };
  // Versions 3 and 2 on the bus before 1.
  REQUIRE(bus->publish({message(2)}, std::chrono::seconds(5)));
  REQUIRE(bus->publish({message(1)}, std::chrono::seconds(5)));
  REQUIRE(bus->publish({message(0)}, std::chrono::seconds(5)));
  Importer importer(*b, *bus, "b", std::map<std::string, std::string>{{"wallet", ""}});
  REQUIRE(importer.start());
  wait_until([&] { return b->head() == 3; });
  same_stream(*a, *b, "wallet-ann");
  CHECK_FALSE(importer.failure());
}

TEST_CASE_TEMPLATE("a stream's events with one missing, or one twice, in a fetch are neither renumbered nor copied twice",
                   Broker, NatsServer, RabbitMqServer) {
  Broker nats;
  TempDir a_dir, b_dir;
  auto a = open_log(a_dir.path());
  auto b = open_log(b_dir.path());
  append(*a, "wallet-ann", 4);
  auto bus = connect_bus(nats.url()).value();
  auto stored = a->read_stream("wallet-ann", 1, 10).value();
  auto message = [&](int i, const std::string& suffix = "") {
    return Outgoing{"wallet", stored[i].id().to_string() + suffix, stored[i].envelope_bytes()};
  };
  // 1, 1 again (under another message id, so the broker keeps both), 3; then 2 and 4 later.
  REQUIRE(bus->publish({message(0), message(0, "-again"), message(2)}, std::chrono::seconds(5)));
  Importer importer(*b, *bus, "b", std::map<std::string, std::string>{{"wallet", ""}});
  REQUIRE(importer.start());
  wait_until([&] { return b->head() == 1; });
  REQUIRE(bus->publish({message(1), message(3)}, std::chrono::seconds(5)));
  wait_until([&] { return b->head() == 4; });
  same_stream(*a, *b, "wallet-ann");
  wait_until([&] { return importer.acknowledged() == 5; });
  CHECK(b->head() == 4);
  CHECK_FALSE(importer.failure());
}

TEST_CASE_TEMPLATE("a relay that cannot go on says why instead of ending silently or looping", Broker, NatsServer,
                   RabbitMqServer) {
  Broker nats;
  TempDir dir;
  auto bus = connect_bus(nats.url()).value();

  SUBCASE("a damaged record: the relay stops at it, naming its position") {
    {
      auto log = open_log(dir.path());
      append(*log, "wallet-ann", 3);
    }
    test::overwrite_log_record(dir.path(), 2, "not an envelope");
    auto log = open_log(dir.path());
    Relay relay(*log, *bus, {"wallet"});
    relay.start();
    wait_until([&] { return relay.failure().has_value(); });
    CHECK(relay.failure()->code() == Status::Code::kCorruption);
    CHECK(relay.failure()->position() == 2);
    // A restart meets the same record again, and says so again.
    relay.stop();
    relay.start();
    wait_until([&] { return relay.failure().has_value(); });
    CHECK(relay.failure()->position() == 2);
  }

  SUBCASE("a checkpoint it cannot write: the relay stops and says why; a restart resumes from the last checkpoint") {
    {
      auto log = open_log(dir.path());
      append(*log, "wallet-ann", 2);
    }
    events::EventLogOptions read_only;
    read_only.read_only = true;
    auto log = events::EventLog::open(dir.path(), read_only).value();
    Relay relay(*log, *bus, {"wallet"});
    relay.start();
    wait_until([&] { return relay.failure().has_value(); });
    CHECK(relay.failure()->to_string().find("read-only") != std::string::npos);
    CHECK(relay.position() == 0);  // nothing counted as published past the checkpoint it could not write
  }
}

TEST_CASE("a three-node JetStream cluster: one node lost loses nothing; two lost stop publishing, and nothing is lost when one returns") {
  // Elections of the stream's and the consumer's leaders, on two cores shared
  // with the rest of the suite, can take tens of seconds.
  constexpr auto kElection = std::chrono::seconds(90);
  test::NatsCluster cluster(3);
  TempDir a_dir, b_dir;
  auto a = open_log(a_dir.path());
  auto b = open_log(b_dir.path());
  auto a_bus = connect_bus(cluster.url());
  if (!a_bus) MESSAGE(cluster.node(0).log() << cluster.node(1).log() << cluster.node(2).log());
  REQUIRE_MESSAGE(a_bus, a_bus.status().to_string());
  auto b_bus = connect_bus(cluster.url()).value();
  Relay relay(*a, **a_bus, {"wallet"});
  relay.start();
  Importer importer(*b, *b_bus, "b", {{"wallet", ""}});
  REQUIRE(importer.start());

  append(*a, "wallet-ann", 20);
  wait_until([&] { return b->head() == 20; }, kElection);
  // One node down, whichever it is (the stream's leader or not): publishing
  // stalls at most for an election, and nothing is lost.
  cluster.node(0).kill();
  append(*a, "wallet-ann", 20);
  wait_until([&] { return b->head() == 40; }, kElection);
  // Two down: no quorum. The relay cannot publish and says so; nothing arrives.
  cluster.node(1).kill();
  append(*a, "wallet-bob", 10);
  wait_until([&] { return !relay.last_error().empty(); }, kElection);
  CHECK(relay.position() == 40);
  CHECK(b->head() == 40);
  // One back: a quorum again; everything goes on, nothing twice.
  cluster.node(0).restart();
  wait_until([&] { return b->head() == 50; }, kElection);
  wait_until([&] { return relay.position() == a->head(); }, kElection);
  same_stream(*a, *b, "wallet-ann");
  same_stream(*a, *b, "wallet-bob");
  INFO("relay: " << relay.last_error());
  CHECK(relay.last_error().empty());
  CHECK_FALSE(importer.failure());
  cluster.node(1).restart();
}
