// Importer: the inbox side. For each stream kind this process reads (roles.h)
// a durable pull consumer hands it the events other processes published; it
// appends each to this process's log as the same event (id, stream, version,
// type, time, payload) and acknowledges the messages only once that append
// is committed. A message delivered again finds its id in the log and
// changes nothing. The services of this process then read those events from
// their own log, as they do in one process.
//
// On a broker whose consumers do not keep their own position (RabbitMQ
// streams: bus.h), the offset after the last message handled is the
// checkpoint "bus-import-{kind}", written in the same commit as the events
// those messages carried, so a restart resumes exactly where the log is.
//
// Every stream has one writer, so its events arrive in its version order; a
// message that arrives ahead of one still missing is refused for a moment
// and comes back. A message that contradicts the log (another event already
// at its version) stops the importer of that kind, named, never skipped.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bus/bus.h"
#include "events/event_log.h"

namespace ordersd::bus {

class Importer {
 public:
  // `node` names this process's durable consumers: "{node}-{kind}".
  // `kinds`: each kind this process reads, and the route its consumer takes
  // (shards.h: "" without shards).
  Importer(events::EventLog& log, Bus& bus, std::string node, std::map<std::string, std::string> kinds)
      : log_(log), bus_(bus), node_(std::move(node)), kinds_(std::move(kinds)) {}
  ~Importer() { stop(); }

  // Creates (or finds) the consumers and starts a thread for each.
  Status start();
  void stop();

  uint64_t imported() const { return imported_.load(); }          // events appended since start
  uint64_t acknowledged() const { return acknowledged_.load(); }  // messages acknowledged since start
  // Why a kind's copying stopped (a contradiction, a write the log refused);
  // nullopt while every kind is being copied.
  std::optional<Status> failure() const;
  // Why fetching has been failing, by kind (the broker is away or has no
  // quorum); empty while every fetch goes through, even with nothing to fetch.
  std::map<std::string, std::string> fetch_errors() const;

  // The checkpoint of the offset to resume `kind` from, on a broker that
  // keeps none for its consumers.
  static std::string checkpoint_of(std::string_view kind) { return "bus-import-" + std::string(kind); }

  // A message and the event it carries.
  struct Received {
    events::RecordedEvent event;
    Delivery delivery;
  };

 private:
  Status import(const std::string& kind, std::vector<Delivery>& fetched);
  Status import_one_by_one(const std::string& kind, std::vector<Received>& received);
  void run(std::stop_token stop, const std::string& kind, Consumer& consumer);
  void fail(Status why);

  events::EventLog& log_;
  Bus& bus_;
  const std::string node_;
  const std::map<std::string, std::string> kinds_;
  std::vector<std::unique_ptr<Consumer>> consumers_;
  std::atomic<uint64_t> imported_{0};
  std::atomic<uint64_t> acknowledged_{0};
  mutable std::mutex mu_;
  std::optional<Status> failure_;  // guarded by mu_
  std::map<std::string, std::string> fetch_errors_;  // guarded by mu_
  std::vector<std::jthread> threads_;
};

}  // namespace ordersd::bus
