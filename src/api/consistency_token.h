// Consistency tokens: read-your-writes across processes.
//
// A command's answer names what it wrote as the stream and the version it
// left it at ("order-o-1001@2"). Every copy of a stream holds the same events
// at the same versions (bus/importer.h), so that pair means the same thing in
// every process, where a log position means something only in the log that
// wrote it. A query given the token (header X-Consistency-Token) first waits
// until its own log holds each named version, then until its view has read
// that far: in the process that wrote the events that is at once, in a query
// service it is once its importer has copied them in.
//
// Wire form: entries "stream@version" joined by ','. A client that wrote
// several things joins their tokens with ',' and waits for all of them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/event_log.h"
#include "events/status.h"

namespace ordersd::api {

inline constexpr std::string_view kConsistencyTokenHeader = "X-Consistency-Token";
inline constexpr size_t kMaxTokenEntries = 64;

struct StreamVersion {
  std::string stream;
  uint64_t version = 0;
  bool operator==(const StreamVersion&) const = default;
};

// "order-o-1001@2"; "" for version 0 (nothing written yet: nothing to wait for).
std::string consistency_token(std::string_view stream, uint64_t version);

// The entries of a token, as sent; kInvalidArgument saying what is wrong.
// Streams are "{kind}-{id}" with a lowercase kind and an id of letters,
// digits, '_' and '-'; versions are from 1; at most kMaxTokenEntries.
Result<std::vector<StreamVersion>> parse_consistency_token(std::string_view token);

// Where this log holds the token's writes: the largest position of the
// events at the named versions, or nullopt with the first entry not here yet.
struct TokenPlace {
  uint64_t position = 0;                 // when every entry is here
  std::optional<StreamVersion> missing;  // else the first one that is not
};
Result<TokenPlace> locate_consistency_token(const events::EventLog& log, const std::vector<StreamVersion>& entries);

}  // namespace ordersd::api
