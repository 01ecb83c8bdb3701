#include "events/status.h"

namespace ordersd {

const char* code_name(Status::Code code) {
  switch (code) {
    case Status::Code::kOk: return "ok";
    case Status::Code::kInvalidArgument: return "invalid argument";
    case Status::Code::kNotFound: return "not found";
    case Status::Code::kWrongExpectedVersion: return "wrong expected version";
    case Status::Code::kDuplicateEventId: return "duplicate event id";
    case Status::Code::kCorruption: return "corruption";
    case Status::Code::kBusy: return "busy";
    case Status::Code::kIoError: return "I/O error";
    case Status::Code::kShuttingDown: return "shutting down";
    case Status::Code::kTimedOut: return "timed out";
    case Status::Code::kCancelled: return "cancelled";
  }
  return "unknown";
}

std::string Status::to_string() const {
  if (is_ok()) return "ok";
  return std::string(code_name(code_)) + ": " + message_;
}

}  // namespace ordersd
