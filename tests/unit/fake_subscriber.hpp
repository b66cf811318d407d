// A routing::Subscriber that records the frames it is sent, for index and
// dispatcher tests.
#pragma once

#include <string>
#include <vector>

#include "routing/index.hpp"

namespace switchboard::test {

struct FakeConn : routing::Subscriber {
  FakeConn(std::string socket, std::string session) {
    socket_id_ = std::move(socket);
    session_key_ = std::move(session);
  }
  void send_frame(const routing::Frame& f) override { got.push_back(*f); }
  std::vector<std::string> got;
};

}  // namespace switchboard::test
