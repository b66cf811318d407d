// switchboard/request.hpp — one RPC call as a handler sees it.
//
// A Request is a cheap handle made by the server for each call: copy it into
// asynchronous continuations (every copy shares one call; it lives as long as
// the last copy). The handler runs on the event-loop thread that owns the
// calling connection; it must not block (use the returned Future for anything
// slow). Its accessors may be called from any thread; what they return lives as
// long as the Request, except publish(), which is the server's Publisher (it
// lives as long as the Server).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/value_to.hpp>

#include "switchboard/future.hpp"
#include "switchboard/names.hpp"
#include "switchboard/publisher.hpp"
#include "switchboard/session.hpp"

namespace switchboard {
namespace detail {
struct RequestAccess;  // how the core makes one (core/src/rpc/request_access.hpp)
}

class Request {
 public:
  const std::string& method() const { return d_->method; }
  const boost::json::array& args() const { return d_->args; }
  // Argument i converted to T; a missing or ill-typed argument throws
  // RpcError("bad_args"), which the caller receives as an error reply.
  template <class T>
  T arg(size_t i) const {
    if (i >= d_->args.size())
      throw RpcError("bad_args", "missing argument " + std::to_string(i) + " of " + method());
    try {
      return boost::json::value_to<T>(d_->args[i]);
    } catch (const std::exception&) {
      throw RpcError("bad_args", "argument " + std::to_string(i) + " of " + method() +
                                     " has the wrong type");
    }
  }
  // Argument i as "a name or a list of names": one string, or an array of strings
  // (what subscribe(), channel() and user() take). Anything else, an empty array
  // included, throws RpcError("bad_args"). Each name's own bounds (length, UTF-8)
  // are checked where it is used.
  Names names(size_t i) const {
    if (i >= d_->args.size())
      throw RpcError("bad_args", "missing argument " + std::to_string(i) + " of " + method());
    const boost::json::value& v = d_->args[i];
    if (v.is_string()) return Names(std::string_view(v.get_string()));
    const std::string wrong = "argument " + std::to_string(i) + " of " + method() +
                              " must be a name or a non-empty array of names";
    if (!v.is_array() || v.get_array().empty()) throw RpcError("bad_args", wrong);
    std::vector<std::string> many;
    many.reserve(v.get_array().size());
    for (const auto& e : v.get_array()) {
      if (!e.is_string()) throw RpcError("bad_args", wrong);
      many.emplace_back(e.get_string());
    }
    return Names(std::move(many));
  }
  Session& session() const { return d_->session; }
  // The calling connection (browser tab); changes on every page load.
  const std::optional<std::string>& socket_id() const { return d_->socket_id; }
  Publisher& publish() const { return d_->publisher; }

 private:
  friend struct detail::RequestAccess;
  struct Data {
    std::string method;
    boost::json::array args;
    std::optional<std::string> socket_id;
    Session session;
    Publisher& publisher;
  };
  explicit Request(std::shared_ptr<Data> d) : d_(std::move(d)) {}
  std::shared_ptr<Data> d_;
};

}  // namespace switchboard
