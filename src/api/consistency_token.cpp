#include "api/consistency_token.h"

#include <algorithm>

#include "http/params.h"

namespace ordersd::api {

std::string consistency_token(std::string_view stream, uint64_t version) {
  if (version == 0) return {};
  return std::string(stream) + "@" + std::to_string(version);
}

namespace {

bool valid_stream(std::string_view stream) {
  size_t dash = stream.find('-');
  if (dash == 0 || dash == std::string_view::npos || dash > 32) return false;
  for (char c : stream.substr(0, dash)) {
    if (c < 'a' || c > 'z') return false;
  }
  return http::valid_id(stream.substr(dash + 1));
}

}  // namespace

Result<std::vector<StreamVersion>> parse_consistency_token(std::string_view token) {
  auto bad = [](std::string_view entry, std::string_view why) {
    return Status::invalid_argument("X-Consistency-Token entry '" + std::string(entry.substr(0, 80)) + "': " +
                                    std::string(why) + " (a token is stream@version entries joined by ',')");
  };
  std::vector<StreamVersion> out;
  size_t at = 0;
  while (at <= token.size()) {
    size_t comma = token.find(',', at);
    std::string_view entry = token.substr(at, comma == std::string_view::npos ? std::string_view::npos : comma - at);
    while (!entry.empty() && entry.front() == ' ') entry.remove_prefix(1);
    while (!entry.empty() && entry.back() == ' ') entry.remove_suffix(1);
    if (out.size() == kMaxTokenEntries) {
      return Status::invalid_argument("X-Consistency-Token has more than " + std::to_string(kMaxTokenEntries) +
                                      " entries");
    }
    size_t sign = entry.rfind('@');
    if (sign == std::string_view::npos) return bad(entry, "no '@version'");
    std::string_view stream = entry.substr(0, sign);
    if (!valid_stream(stream)) return bad(entry, "not a stream name");
    auto version = http::parse_decimal(entry.substr(sign + 1));
    if (!version || *version == 0) return bad(entry, "the version must be an integer from 1");
    StreamVersion v{std::string(stream), *version};
    // The same stream twice: the later version includes the earlier.
    auto same = std::find_if(out.begin(), out.end(), [&](const StreamVersion& e) { return e.stream == v.stream; });
    if (same == out.end()) {
      out.push_back(std::move(v));
    } else {
      same->version = std::max(same->version, v.version);
    }
    if (comma == std::string_view::npos) break;
    at = comma + 1;
  }
  return out;
}

Result<TokenPlace> locate_consistency_token(const events::EventLog& log, const std::vector<StreamVersion>& entries) {
  TokenPlace place;
  for (const auto& entry : entries) {
    auto events = log.read_stream(entry.stream, entry.version, 1);
    if (!events) return events.status();
    if (events->empty() || events->front().version() != entry.version) {
      place.missing = entry;
      return place;
    }
    place.position = std::max(place.position, events->front().position());
  }
  return place;
}

}  // namespace ordersd::api
