// MessageRoutes: the route each event's message carries when the order or
// payment role is sharded (bus/shards.h). Most streams name their key; a
// saga stream is routed by its order's customer, which its step requests
// carry: read from the event, or else from the stream's first event (always
// a request), and remembered for the streams seen lately. For the relay's
// thread only.
#pragma once

#include <string>

#include "bus/shards.h"
#include "events/event_log.h"
#include "write/pipeline/lru_map.h"

namespace ordersd::app {

class MessageRoutes {
 public:
  MessageRoutes(const events::EventLog& log, bus::ShardMap shards) : log_(log), shards_(shards) {}

  std::string operator()(const events::RecordedEvent& event);

 private:
  std::string saga_customer(const events::RecordedEvent& event);

  const events::EventLog& log_;
  const bus::ShardMap shards_;
  write::LruMap<std::string, std::string> customers_{4096};  // saga stream -> customer
};

}  // namespace ordersd::app
