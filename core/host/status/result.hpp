// The core's one runtime error shape. Status (the SDK's: a code and a message,
// the same on both sides of the plugin boundary) says what went wrong;
// Result<T> is a T or the Status saying why there is none. Decoders, limits
// and store outcomes report through these; a Status becomes a client-visible
// Error {code, message} (protocol.md) only where it reaches a client.
// Start-up failures (config, plugin loading) throw ConfigError / PluginError
// instead: they end the process before it serves.
// Thread-safety: value types.
#pragma once

#include <cassert>
#include <utility>
#include <variant>

#include "switchboard/status.hpp"

namespace switchboard {

// A T, or the (not ok) Status saying why there is none.
//
//   Result<Frame> r = decode(text);
//   if (!r) return log(r.status().message());
//   use(r.value());
template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit on purpose
  Result(Status error) : v_(std::move(error)) {  // NOLINT: implicit on purpose
    assert(!std::get<Status>(v_).is_ok() && "a Result's error must not be ok");
  }

  bool is_ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return is_ok(); }
  // The value; only when is_ok().
  T& value() { return std::get<T>(v_); }
  const T& value() const { return std::get<T>(v_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  // Status::ok() when there is a value, else the error.
  Status status() const { return is_ok() ? Status::ok() : std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace switchboard
