// Key layout of the event log's RocksDB column families. Private to src/events
// (tests and benchmarks may include it to reach the raw data).
//
// All integers are fixed-width big-endian, so byte order is numeric order and
// iteration order is log order.
//
//   column family "log":      position:u64                       -> Envelope (FlatBuffer)
//   column family "streams":  len:u8 stream:len version:u64      -> position:u64
//   column family "ids":      event_id:16 (hi:u64 lo:u64)        -> position:u64
//   column family "state":    len:u8 space:len key:*             -> value (caller's bytes)
//   column family "checkpoints": name:*                          -> position:u64
//   default column family:    "format/name-ids"                  -> "sha1-v5" | "legacy-fnv"
//     (how the directory derives event ids from names; see EventLog::name_ids())
//                             "format/version"                   -> decimal format number
//
// A stream's version is the last key of its prefix in "streams": the writer
// seeks it when its in-memory StreamHeads has forgotten the stream; readers,
// who must not see a version before it is durable, take the last one whose
// position is at or below the head.
//
// Formats (the "format/version" value; a directory without one is format 1):
//   1: also a column family "heads" (stream -> version), written with every
//      append: a fourth key per event that the "streams" family already
//      implies. `ordersd upgrade` drops it.
//   2: the layout above.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <string>
#include <string_view>

#include "events/uuid.h"

namespace ordersd::events::keys {

inline constexpr const char* kLogFamily = "log";
inline constexpr const char* kStreamsFamily = "streams";
inline constexpr const char* kIdsFamily = "ids";
inline constexpr const char* kStateFamily = "state";
inline constexpr const char* kCheckpointsFamily = "checkpoints";
// Format 1's stream heads; only `ordersd upgrade` names it, to drop it.
inline constexpr const char* kFormat1HeadsFamily = "heads";

inline constexpr const char* kNameIdsKey = "format/name-ids";
inline constexpr const char* kNameIdsSha1 = "sha1-v5";
inline constexpr const char* kNameIdsLegacy = "legacy-fnv";
inline constexpr const char* kFormatKey = "format/version";
inline constexpr int kCurrentFormat = 2;

inline constexpr size_t kMaxStreamLength = 255;
inline constexpr size_t kMaxSpaceLength = 255;

void put_u64(std::string& out, uint64_t v);
uint64_t get_u64(std::string_view in);  // in.size() >= 8

std::string position_key(uint64_t position);
std::string stream_key(std::string_view stream, uint64_t version);
std::string stream_prefix(std::string_view stream);
std::string id_key(const Uuid& id);
std::string state_key(std::string_view space, std::string_view key);
// [begin, end): every state_key of `space`.
std::pair<std::string, std::string> state_range(std::string_view space);

// Splits a stream_key; nullopt when malformed.
struct StreamKey {
  std::string_view stream;
  uint64_t version;
};
std::optional<StreamKey> parse_stream_key(std::string_view key);

}  // namespace ordersd::events::keys
