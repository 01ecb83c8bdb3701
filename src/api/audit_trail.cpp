#include "api/audit_trail.h"

#include <flatbuffers/flatbuffers.h>

#include <algorithm>
#include <chrono>

#include "events/encoding.h"
#include "events/event_types.h"
#include "events/keys.h"
#include "events/logging.h"
#include "events/uuid.h"
#include "schema/order_events_generated.h"

namespace ordersd::api {

namespace {

constexpr const char* kSpace = "audit";
constexpr size_t kKeyBytes = 8 + 16;

}  // namespace

bool AuditTrail::valid_cursor(std::string_view cursor) {
  if (cursor.size() != 2 * kKeyBytes) return false;
  for (char c : cursor) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

void AuditTrail::record(const AuditEntry& entry, std::function<void()> done) {
  flatbuffers::FlatBufferBuilder fbb(512);
  auto str = [&](const std::string& s) { return fbb.CreateString(s); };
  auto caller = str(entry.caller), credential = str(entry.credential), action = str(entry.action),
       path = str(entry.path), address = str(entry.address);
  fbb.Finish(schema::CreateAdminActionAudited(fbb, caller, credential, action, path,
                                              static_cast<uint16_t>(entry.status), address));
  static RandomUuidGenerator ids;
  Uuid id = ids.next();
  events::NewEvent event{id, std::string(events::stored_name(events::EventType::kAdminActionAudited)),
                         std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize()),
                         {}, {}};
  int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  std::string key;
  events::keys::put_u64(key, UINT64_MAX - static_cast<uint64_t>(now_us));
  events::keys::put_u64(key, id.hi);
  events::keys::put_u64(key, id.lo);

  events::AppendRequest append;
  // A JWT's subject can be long; a stream name is at most kMaxStreamLength bytes.
  std::string stream = "operator-audit:" + entry.caller;
  stream.resize(std::min(stream.size(), events::keys::kMaxStreamLength));
  append.streams.push_back({std::move(stream), events::ExpectedVersion::any(), {std::move(event)}});
  append.side_writes.put_last_position(kSpace, key);
  log_.append_async(std::move(append), [entry, done = std::move(done)](Result<events::AppendResult> appended) {
    if (!appended) {
      logging::error("audit", "an admin action could not be recorded: " + appended.status().to_string(),
                     {{"caller", entry.caller}, {"action", entry.action}, {"path", entry.path}});
    }
    done();
  });
}

Result<AuditTrail::Page> AuditTrail::list(const std::string& cursor, size_t limit) const {
  std::vector<uint64_t> positions;
  Page page;
  const std::string from = from_hex(cursor).value_or("");  // valid_cursor() vetted it
  Status s = log_.scan(
      kSpace, "",
      [&](std::string_view key, std::string_view value) {
        if (positions.size() == limit) {
          page.next = to_hex(key);
          return false;
        }
        if (value.size() == 8) positions.push_back(events::keys::get_u64(value));
        return true;
      },
      from);
  if (!s) return s;
  for (uint64_t position : positions) {
    auto events = log_.read_all(position, 1);
    if (!events) return events.status();
    if (!events->empty() && events->front().position() == position) page.events.push_back(std::move(events->front()));
  }
  return page;
}

}  // namespace ordersd::api
