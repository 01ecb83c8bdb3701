// Status and Result<T>: the one error type of ordersd.
//
// Errors are values. A Status is ok or carries a code, a message for humans
// and, for the codes that have one, a number a caller can act on: the stream's
// actual version for kWrongExpectedVersion, the damaged position for
// kCorruption. Statuses are cheap to move and safe to copy across threads.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace ordersd {

class [[nodiscard]] Status {
 public:
  enum class Code {
    kOk,
    kInvalidArgument,     // the caller's input is malformed; nothing was written
    kNotFound,
    kWrongExpectedVersion,// the stream is not at the version the caller expected
    kDuplicateEventId,    // an event id is already used by a different event
    kCorruption,          // a stored record failed verification
    kBusy,                // the data directory is held by another process
    kIoError,
    kShuttingDown,        // the log is closing; the request was not executed
    kTimedOut,
    kCancelled,
  };

  Status() = default;
  static Status ok() { return Status(); }
  static Status invalid_argument(std::string msg) { return Status(Code::kInvalidArgument, std::move(msg)); }
  static Status not_found(std::string msg) { return Status(Code::kNotFound, std::move(msg)); }
  static Status wrong_expected_version(std::string msg, uint64_t actual_version) {
    return Status(Code::kWrongExpectedVersion, std::move(msg), actual_version);
  }
  static Status duplicate_event_id(std::string msg) { return Status(Code::kDuplicateEventId, std::move(msg)); }
  static Status corruption(std::string msg, uint64_t position) {
    return Status(Code::kCorruption, std::move(msg), position);
  }
  static Status busy(std::string msg) { return Status(Code::kBusy, std::move(msg)); }
  static Status io_error(std::string msg) { return Status(Code::kIoError, std::move(msg)); }
  static Status shutting_down() { return Status(Code::kShuttingDown, "the event log is shutting down"); }
  static Status timed_out(std::string msg) { return Status(Code::kTimedOut, std::move(msg)); }
  static Status cancelled(std::string msg) { return Status(Code::kCancelled, std::move(msg)); }

  bool is_ok() const { return code_ == Code::kOk; }
  explicit operator bool() const { return is_ok(); }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // The stream's version when the append was refused (kWrongExpectedVersion).
  uint64_t actual_version() const { return detail_; }
  // The global position of the damaged record (kCorruption).
  uint64_t position() const { return detail_; }

  // "wrong expected version: ..." — code name and message, for logs and tests.
  std::string to_string() const;

 private:
  Status(Code code, std::string msg, uint64_t detail = 0)
      : code_(code), message_(std::move(msg)), detail_(detail) {}

  Code code_ = Code::kOk;
  std::string message_;
  uint64_t detail_ = 0;
};

const char* code_name(Status::Code code);

// A value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT: must not be ok

  bool is_ok() const { return v_.index() == 0; }
  explicit operator bool() const { return is_ok(); }

  // Only when is_ok().
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  // Ok when there is a value.
  Status status() const { return is_ok() ? Status::ok() : std::get<1>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace ordersd
