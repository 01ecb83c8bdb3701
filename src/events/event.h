// The values that go into and come out of the event log.
//
// NewEvent is what a caller appends; RecordedEvent is what a reader gets back:
// an owned, verified copy of the stored envelope with accessors. All of these
// are plain values: copy or move them freely, share none across threads while
// one thread mutates it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "events/uuid.h"

namespace ordersd::events {

// What the caller believes about a stream before appending to it. Versions
// count events: a stream's first event has version 1, so a stream that does
// not exist is at version 0.
struct ExpectedVersion {
  enum class Kind { kAny, kNoStream, kStreamExists, kExact };
  Kind kind = Kind::kAny;
  uint64_t version = 0;  // only for kExact

  static ExpectedVersion any() { return {Kind::kAny, 0}; }
  static ExpectedVersion no_stream() { return {Kind::kNoStream, 0}; }
  static ExpectedVersion stream_exists() { return {Kind::kStreamExists, 0}; }
  static ExpectedVersion exact(uint64_t v) { return {Kind::kExact, v}; }

  // Whether a stream currently at `current` (0 = no stream) satisfies this.
  bool matches(uint64_t current) const;
  std::string to_string() const;  // "any", "no stream", "stream exists", "version 3"
};

struct NewEvent {
  Uuid id;                  // unique; appending the same id again is a retry (unless unique_id)
  std::string type;         // a stored type name from event_types.h
  std::string payload;      // FlatBuffer whose root table matches `type`
  Uuid correlation_id;      // the conversation this event belongs to (may be nil)
  Uuid causation_id;        // the message that caused it (may be nil)
  // 0: the time of the commit. Set by a copy of an event from another log,
  // which keeps the time the event happened.
  int64_t time_us = 0;
  // True for an id that no other append can carry: drawn at random, or
  // derived for a decision its reader commits together with its checkpoint
  // (the saga's, a participant's answer), which is therefore submitted once.
  // Such an id is neither looked up nor indexed: a key less and a lookup less
  // per event, and appending it again is not recognised as a retry. Ids that
  // can arrive twice (from a client's Idempotency-Key, copies from another
  // log) stay false.
  bool unique_id = false;
};

// One stream's part of an append. A part with no events only checks `expected`.
struct StreamAppend {
  std::string stream;       // 1..255 bytes
  ExpectedVersion expected;
  std::vector<NewEvent> events;
};

// Key/value writes and checkpoints committed in the same RocksDB WriteBatch as
// an append (or alone through EventLog::write). A `space` names a reader's own
// keyspace (a view, the idempotency records, ...); keys are opaque bytes.
class SideWrites {
 public:
  void put(std::string_view space, std::string_view key, std::string value);
  void erase(std::string_view space, std::string_view key);
  // Every key of `space`, in one range deletion: as cheap for a million keys
  // as for one.
  void erase_space(std::string_view space);
  // A named reader position (a projector, the saga) that moves with its data.
  void set_checkpoint(std::string_view name, uint64_t position);
  // With an append only: `key` of `space` holds where the append's last event
  // lands (8 bytes, big-endian), which is known only once the writer has
  // placed it. The writer stages these bytes; it runs no caller code.
  void put_last_position(std::string_view space, std::string_view key);
  bool empty() const { return ops_.empty(); }
  // Moves every op of `other` after this one's (one commit for several readers).
  void append(SideWrites&& other);

  struct Op {
    enum class Kind { kPut, kErase, kEraseSpace, kCheckpoint, kPutLastPosition } kind;
    std::string space;  // empty for kCheckpoint
    std::string key;    // the checkpoint name for kCheckpoint; empty for kEraseSpace
    std::string value;  // 8-byte big-endian position for kCheckpoint
  };
  const std::vector<Op>& ops() const { return ops_; }

 private:
  std::vector<Op> ops_;
};

struct AppendResult;

// An atomic append: every event of every stream commits together, with the
// side writes, or nothing does.
struct AppendRequest {
  std::vector<StreamAppend> streams;
  SideWrites side_writes;
};

struct AppendResult {
  uint64_t first_position = 0;  // of the first event of the request
  uint64_t last_position = 0;   // of the last event of the request
  // The version of each stream after its events, in request order.
  std::vector<uint64_t> stream_versions;
  // True when every event was already in the log (a retry): nothing was
  // written and the positions are those of the original append.
  bool already_appended = false;

  uint64_t next_version() const { return stream_versions.empty() ? 0 : stream_versions.front(); }
};

// A stored event. Holds its own verified copy of the envelope; the string_views
// it returns live as long as this object.
class RecordedEvent {
 public:
  // Takes a buffer that verify_envelope() accepted.
  explicit RecordedEvent(std::string verified_envelope) : buffer_(std::move(verified_envelope)) {}

  uint64_t position() const;
  std::string_view stream() const;
  uint64_t version() const;
  Uuid id() const;
  std::string_view type() const;
  int64_t time_us() const;
  Uuid correlation_id() const;
  Uuid causation_id() const;
  std::string_view payload() const;

  const std::string& envelope_bytes() const { return buffer_; }

 private:
  std::string buffer_;
};

}  // namespace ordersd::events
