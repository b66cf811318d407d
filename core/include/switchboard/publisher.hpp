// switchboard/publisher.hpp — publish events to browsers.
//
// Every call is fire-and-forget, non-blocking and callable from any thread
// (RPC handlers, timers, main, other threads). The event goes onto the bus (the
// configured transport) and every server process delivers it to its matching
// connections. Delivery is at-most-once; order is kept per publisher per
// connection. A call returns false when the message was dropped at once because
// the transport is not connected (an outage), the server is stopping, or
// limits.control_queue publishes and session calls are already waiting. With a
// transport that takes publishes from any thread (all shipped ones: memory,
// redis, nats, kafka; docs/threading.md) the call hands the message to the
// transport on the calling thread, so a backpressure refusal returns false too;
// with an older transport the message waits for the control thread and a
// refusal there cannot be reported to the call. Both are counted in /metrics as
// switchboard_events_dropped_total.
// A call that can never be delivered throws std::invalid_argument naming the
// problem: an empty event name, a bad channel name or user id, more names than
// limits.max_bus_targets, a non-finite number in the arguments (NaN, Infinity:
// not JSON), or a message over limits.max_bus_message_bytes.
#pragma once

#include <string_view>
#include <utility>

#include <boost/json/array.hpp>

#include "switchboard/future.hpp"
#include "switchboard/names.hpp"

namespace switchboard {

class Publisher {
 public:
  virtual ~Publisher() = default;

  // Every open connection on every server: handler(args...).
  template <class... A>
  bool all(std::string_view event, A&&... args) {
    return publish_all(event, pack(std::forward<A>(args)...));
  }
  // Every connection whose session is in one of the channels:
  // handler(args..., channelName), once per matching channel.
  template <class... A>
  bool channel(const Names& channels, std::string_view event, A&&... args) {
    return publish_channel(channels, event, pack(std::forward<A>(args)...));
  }
  // Every connection of every session signed in as one of the users.
  template <class... A>
  bool user(const Names& users, std::string_view event, A&&... args) {
    return publish_user(users, event, pack(std::forward<A>(args)...));
  }
  // Exactly that one connection (browser tab), on whichever server holds it.
  template <class... A>
  bool socket_id(std::string_view id, std::string_view event, A&&... args) {
    return publish_socket_id(id, event, pack(std::forward<A>(args)...));
  }

  // The same with the argument list already built. Throws std::invalid_argument on
  // an empty event name or an empty target list.
  virtual bool publish_all(std::string_view event, boost::json::array args) = 0;
  virtual bool publish_channel(const Names& channels, std::string_view event,
                               boost::json::array args) = 0;
  virtual bool publish_user(const Names& users, std::string_view event,
                            boost::json::array args) = 0;
  virtual bool publish_socket_id(std::string_view id, std::string_view event,
                                 boost::json::array args) = 0;

 private:
  template <class... A>
  static boost::json::array pack(A&&... args) {
    boost::json::array a;
    a.reserve(sizeof...(A));
    (a.emplace_back(Json(std::forward<A>(args))), ...);
    return a;
  }
};

}  // namespace switchboard
