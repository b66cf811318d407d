// switchboard/status.hpp — an error as a value, used on both sides of the plugin
// boundary. Thread-safe as any value type; owns its message.
#pragma once

#include <string>
#include <utility>

#include "switchboard/abi.h"

namespace switchboard {

enum class StatusCode : int {
  kOk = SWITCHBOARD_OK,
  kBackpressure = SWITCHBOARD_BACKPRESSURE,
  kNotFound = SWITCHBOARD_NOT_FOUND,
  kLimit = SWITCHBOARD_LIMIT,
  kUnavailable = SWITCHBOARD_UNAVAILABLE,
  kInvalid = SWITCHBOARD_INVALID,
  kError = SWITCHBOARD_ERROR,
};

class Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status ok() { return {}; }

  bool is_ok() const { return code_ == StatusCode::kOk; }
  explicit operator bool() const { return is_ok(); }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Lower-case name of a status code, as shown in logs, health and metrics.
inline const char* status_name(StatusCode c) {
  switch (c) {
    case StatusCode::kOk: return "ok";
    case StatusCode::kBackpressure: return "backpressure";
    case StatusCode::kNotFound: return "not_found";
    case StatusCode::kLimit: return "limit";
    case StatusCode::kUnavailable: return "unavailable";
    case StatusCode::kInvalid: return "invalid";
    case StatusCode::kError: return "error";
  }
  return "error";
}

inline const char* state_name(switchboard_state s) {
  switch (s) {
    case SWITCHBOARD_STATE_STARTING: return "starting";
    case SWITCHBOARD_STATE_CONNECTED: return "connected";
    case SWITCHBOARD_STATE_RECONNECTING: return "reconnecting";
    case SWITCHBOARD_STATE_FAILED: return "failed";
    case SWITCHBOARD_STATE_STOPPED: return "stopped";
  }
  return "failed";
}

}  // namespace switchboard
