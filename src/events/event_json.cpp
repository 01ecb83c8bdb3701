#include "events/event_json.h"

#include <flatbuffers/idl.h>

#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>

#include "events/event_types.h"
#include "events/schema_text.h"

namespace ordersd::events {

namespace {

// A flatbuffers::Parser that knows schemas/order_events.fbs, one per thread
// because SetRootType mutates it.
flatbuffers::Parser* payload_parser() {
  thread_local std::unique_ptr<flatbuffers::Parser> parser = [] {
    flatbuffers::IDLOptions opts;
    opts.strict_json = true;
    opts.indent_step = -1;
    opts.output_default_scalars_in_json = true;
    auto p = std::make_unique<flatbuffers::Parser>(opts);
    if (!p->Parse(order_events_schema_text())) p.reset();
    return p;
  }();
  return parser.get();
}

}  // namespace

Result<std::string> payload_to_json(std::string_view type, std::string_view payload) {
  const EventTypeInfo* info = find_event_type(type);
  if (!info) return Status::invalid_argument("unknown event type '" + std::string(type) + "'");
  flatbuffers::Parser* parser = payload_parser();
  if (!parser) return Status::corruption("the compiled-in payload schema does not parse", 0);
  if (!parser->SetRootType(std::string(info->table_name).c_str())) {
    return Status::corruption("the payload schema has no table " + std::string(info->table_name), 0);
  }
  std::string json;
  if (!flatbuffers::GenerateText(*parser, payload.data(), &json)) {
    return Status::corruption("payload of type " + std::string(type) + " cannot be rendered", 0);
  }
  return json;
}

std::string format_time_us(int64_t time_us) {
  // By hand rather than gmtime_r + strftime + snprintf: the order view
  // writes a time for every status of every order it touches.
  int64_t seconds = time_us / 1000000, micros = time_us % 1000000;
  if (micros < 0) {
    micros += 1000000;
    --seconds;
  }
  int64_t days = seconds / 86400, in_day = seconds % 86400;
  if (in_day < 0) {
    in_day += 86400;
    --days;
  }
  // Civil date from days since 1970-01-01 (Howard Hinnant's civil_from_days).
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t day = doy - (153 * mp + 2) / 5 + 1;
  int64_t month = mp < 10 ? mp + 3 : mp - 9;
  int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  if (year < 0 || year > 9999) {
    char out[64];
    std::snprintf(out, sizeof out, "%lld-%02lld-%02lldT%02lld:%02lld:%02lld.%06lldZ", static_cast<long long>(year),
                  static_cast<long long>(month), static_cast<long long>(day), static_cast<long long>(in_day / 3600),
                  static_cast<long long>(in_day / 60 % 60), static_cast<long long>(in_day % 60),
                  static_cast<long long>(micros));
    return out;
  }
  std::string out = "0000-00-00T00:00:00.000000Z";
  auto put = [&out](size_t at, int64_t value, int digits) {
    for (int i = digits - 1; i >= 0; --i, value /= 10) out[at + static_cast<size_t>(i)] = static_cast<char>('0' + value % 10);
  };
  put(0, year, 4);
  put(5, month, 2);
  put(8, day, 2);
  put(11, in_day / 3600, 2);
  put(14, in_day / 60 % 60, 2);
  put(17, in_day % 60, 2);
  put(20, micros, 6);
  return out;
}

std::optional<int64_t> parse_time_us(std::string_view text) {
  // [-]YYYY...-MM-DDTHH:MM:SS.ffffffZ: a fixed tail after a year of any length.
  constexpr std::string_view kTail = "-00-00T00:00:00.000000Z";
  if (text.size() < kTail.size() + 1) return std::nullopt;
  std::string_view year_text = text.substr(0, text.size() - kTail.size());
  std::string_view tail = text.substr(year_text.size());
  int64_t parts[6] = {};  // month, day, hour, minute, second, micros
  size_t part = 0;
  for (size_t i = 0; i < kTail.size(); ++i) {
    char want = kTail[i], c = tail[i];
    if (want == '0') {
      if (c < '0' || c > '9') return std::nullopt;
      parts[part] = parts[part] * 10 + (c - '0');
    } else {
      if (c != want) return std::nullopt;
      if (i > 0) ++part;
    }
  }
  bool negative = year_text.starts_with('-');
  if (negative) year_text.remove_prefix(1);
  if (year_text.empty() || year_text.size() > 9) return std::nullopt;
  int64_t year = 0;
  for (char c : year_text) {
    if (c < '0' || c > '9') return std::nullopt;
    year = year * 10 + (c - '0');
  }
  if (negative) year = -year;
  auto [month, day, hour, minute, second, micros] = parts;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return std::nullopt;
  // Days since 1970-01-01 from the civil date (Howard Hinnant's days_from_civil).
  int64_t y = month <= 2 ? year - 1 : year;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  int64_t days = era * 146097 + doe - 719468;
  return ((days * 86400 + hour * 3600 + minute * 60 + second) * 1000000) + micros;
}

std::string event_to_json(const RecordedEvent& event) {
  nlohmann::ordered_json j;
  j["position"] = event.position();
  j["stream"] = std::string(event.stream());
  j["version"] = event.version();
  j["type"] = std::string(event.type());
  j["time"] = format_time_us(event.time_us());
  j["id"] = event.id().to_string();
  j["correlation_id"] = event.correlation_id().to_string();
  j["causation_id"] = event.causation_id().to_string();
  auto payload = payload_to_json(event.type(), event.payload());
  if (payload) {
    j["payload"] = nlohmann::ordered_json::parse(*payload);  // in the schema's field order
  } else {
    j["payload_error"] = payload.status().message();
  }
  // The stream id is bytes: one that is not UTF-8 (a damaged record, a
  // message from another log) shows U+FFFD rather than throwing.
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace ordersd::events
