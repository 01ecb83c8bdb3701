#include "events/envelope.h"

#include <flatbuffers/flatbuffers.h>

#include <cstring>
#include <optional>
#include <vector>

#include "events/event.h"
#include "events/event_types.h"
#include "schema/envelope_generated.h"

namespace ordersd::events {

namespace {

schema::Uuid to_schema(const Uuid& id) { return schema::Uuid(id.hi, id.lo); }
Uuid from_schema(const schema::Uuid* id) { return id ? Uuid{id->hi(), id->lo()} : Uuid{}; }

const schema::Envelope* envelope_of(const std::string& buffer) {
  return flatbuffers::GetRoot<schema::Envelope>(buffer.data());
}

std::string_view view_of(const flatbuffers::String* s) {
  return s ? std::string_view(s->data(), s->size()) : std::string_view();
}

}  // namespace

std::string encode_envelope(const EnvelopeFields& f) {
  thread_local flatbuffers::FlatBufferBuilder fbb(512);
  fbb.Clear();
  auto stream = fbb.CreateString(f.stream.data(), f.stream.size());
  auto type = fbb.CreateString(f.type.data(), f.type.size());
  auto payload = fbb.CreateVector(reinterpret_cast<const uint8_t*>(f.payload.data()), f.payload.size());
  schema::Uuid id = to_schema(f.id), correlation = to_schema(f.correlation_id),
               causation = to_schema(f.causation_id);
  schema::EnvelopeBuilder b(fbb);
  b.add_position(f.position);
  b.add_stream(stream);
  b.add_version(f.version);
  b.add_event_id(&id);
  b.add_type(type);
  b.add_time_us(f.time_us);
  b.add_correlation_id(&correlation);
  b.add_causation_id(&causation);
  b.add_payload(payload);
  fbb.Finish(b.Finish());
  return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
}

Status verify_payload(std::string_view type, std::string_view payload) {
  const EventTypeInfo* info = find_event_type(type);
  if (!info) return Status::invalid_argument("unknown event type '" + std::string(type) + "'");
  if (!info->verify_payload(reinterpret_cast<const uint8_t*>(payload.data()), payload.size())) {
    return Status::invalid_argument("payload is not a valid " + std::string(info->table_name) + " buffer");
  }
  return Status::ok();
}

namespace {

// A FlatBuffer is read in place only where its root offset and its structs
// (Uuid: 8 bytes) are aligned. RocksDB hands values out at any address (an
// iterator's value points into a block), and so does the bus: such bytes are
// read from an aligned copy.
constexpr size_t kEnvelopeAlignment = 8;

Status verify(std::string_view bytes, std::optional<uint64_t> expected_position) {
  std::vector<uint64_t> aligned;
  if (reinterpret_cast<uintptr_t>(bytes.data()) % kEnvelopeAlignment != 0) {
    aligned.resize(bytes.size() / sizeof(uint64_t) + 1);
    std::memcpy(aligned.data(), bytes.data(), bytes.size());
    bytes = std::string_view(reinterpret_cast<const char*>(aligned.data()), bytes.size());
  }
  uint64_t position = expected_position.value_or(0);
  auto damaged = [&](const std::string& why) {
    return Status::corruption("record at position " + std::to_string(position) + " is damaged: " + why, position);
  };
  flatbuffers::Verifier verifier(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  if (!schema::VerifyEnvelopeBuffer(verifier)) return damaged("envelope fails verification");
  auto* env = flatbuffers::GetRoot<schema::Envelope>(bytes.data());
  if (!expected_position) position = env->position();
  if (env->position() != position) {
    return damaged("envelope says position " + std::to_string(env->position()));
  }
  if (!env->stream() || env->stream()->size() == 0) return damaged("no stream id");
  if (env->version() == 0) return damaged("no stream version");
  if (!env->type() || !env->payload()) return damaged("no type or payload");
  std::string_view payload(reinterpret_cast<const char*>(env->payload()->data()), env->payload()->size());
  Status payload_ok = verify_payload(view_of(env->type()), payload);
  if (!payload_ok) return damaged(payload_ok.message());
  return Status::ok();
}

}  // namespace

Status verify_envelope(std::string_view bytes, uint64_t position) { return verify(bytes, position); }

Status verify_copied_envelope(std::string_view bytes) { return verify(bytes, std::nullopt); }

// --- RecordedEvent accessors: the buffer was verified when it was read.

uint64_t RecordedEvent::position() const { return envelope_of(buffer_)->position(); }
std::string_view RecordedEvent::stream() const { return view_of(envelope_of(buffer_)->stream()); }
uint64_t RecordedEvent::version() const { return envelope_of(buffer_)->version(); }
Uuid RecordedEvent::id() const { return from_schema(envelope_of(buffer_)->event_id()); }
std::string_view RecordedEvent::type() const { return view_of(envelope_of(buffer_)->type()); }
int64_t RecordedEvent::time_us() const { return envelope_of(buffer_)->time_us(); }
Uuid RecordedEvent::correlation_id() const { return from_schema(envelope_of(buffer_)->correlation_id()); }
Uuid RecordedEvent::causation_id() const { return from_schema(envelope_of(buffer_)->causation_id()); }
std::string_view RecordedEvent::payload() const {
  auto* p = envelope_of(buffer_)->payload();
  return std::string_view(reinterpret_cast<const char*>(p->data()), p->size());
}

}  // namespace ordersd::events
