// How the core makes a Request for an RPC call (its data is private to it).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "switchboard/request.hpp"

namespace switchboard::detail {

struct RequestAccess {
  static Request make(std::string method, boost::json::array args,
                      std::optional<std::string> socket_id, Session session, Publisher& publisher) {
    return Request(std::make_shared<Request::Data>(Request::Data{
        std::move(method), std::move(args), std::move(socket_id), std::move(session), publisher}));
  }
};

}  // namespace switchboard::detail
