// AuditTrail: every admin action taken through the API, as an event.
//
// Each action that succeeded is appended to the stream `operator-audit:{caller}` as
// operator.action_audited.v1 (who, which route, which path, the answer's
// status, the client's address), and indexed newest first:
//
//   space "audit": u64be(UINT64_MAX - time_us) + event id -> u64be position
//
// The answer to the action waits until its audit event is durable, so a
// client that saw an admin action succeed knows it is on record.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "events/event_log.h"

namespace ordersd::api {

struct AuditEntry {
  std::string caller;      // a token's name, a JWT's subject, or "anonymous"
  std::string credential;  // "api-token", "jwt" or "none"
  std::string action;      // "POST /participants/{name}/pause"
  std::string path;        // "/participants/payment/pause"
  int status = 0;          // a success: refused actions changed nothing and are not recorded
  std::string address;
};

class AuditTrail {
 public:
  explicit AuditTrail(events::EventLog& log) : log_(log) {}

  // Appends `entry`; `done` runs once it is durable or has failed (a failure
  // is logged: the action has happened either way). Never blocks.
  void record(const AuditEntry& entry, std::function<void()> done);

  struct Page {
    std::vector<events::RecordedEvent> events;  // newest first
    std::optional<std::string> next;           // the cursor of the next page
  };
  // Up to `limit` entries, newest first, from `cursor` (a page's `next`).
  Result<Page> list(const std::string& cursor, size_t limit) const;
  static bool valid_cursor(std::string_view cursor);

 private:
  events::EventLog& log_;
};

}  // namespace ordersd::api
