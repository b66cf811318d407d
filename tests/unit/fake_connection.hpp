// A routing::Connection that records the frames it is sent, for index and
// fan-out tests.
#pragma once

#include <string>
#include <vector>

#include "routing/index.hpp"

namespace switchboard::test {

struct FakeConn : routing::Connection {
  FakeConn(std::string socket, std::string session) {
    socket_id_ = std::move(socket);
    session_key_ = std::move(session);
  }
  void send_frame(const routing::Frame& f) override { got.push_back(*f); }
  void close_going_away() override { closed = true; }
  void close_requested(bool reconnect) override { requested.push_back(reconnect); }
  std::vector<std::string> got;
  bool closed = false;
  std::vector<bool> requested;  // close_requested calls, their `reconnect`
};

}  // namespace switchboard::test
