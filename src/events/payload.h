// Reading a stored event's FlatBuffers payload. The log verified the payload
// against its type's table when it read the record, so these check nothing.
#pragma once

#include <flatbuffers/flatbuffers.h>

#include <string>

#include "events/event.h"

namespace ordersd::events {

// The payload's root table, read as `Table`.
template <typename Table>
const Table* payload_root(const RecordedEvent& event) {
  return flatbuffers::GetRoot<Table>(event.payload().data());
}

// A string field's value; "" when the field is absent.
inline std::string string_of(const flatbuffers::String* field) { return field ? field->str() : std::string(); }

}  // namespace ordersd::events
