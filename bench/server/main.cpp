// switchboard-bench-server — the Switchboard app the benchmarks measure, built
// only on the public app API (the same few calls an application makes):
//
//   b.sub(names)             the session joins channels (a string or an array)
//   b.signIn(userId)         the session signs in
//   b.pub(channel, payload)  publish event "m" with [payload] to a channel
//   b.user(userId, payload)  ... to a user
//   b.socket(id, payload)    ... to one connection
//
// Publishes answer `true` once the bus took the message.
#include <iostream>
#include <string>
#include <vector>

#include "switchboard/switchboard.hpp"

namespace sb = switchboard;
namespace json = boost::json;

namespace {

sb::Names names(const sb::Request& req) {
  if (req.args().empty()) throw sb::RpcError("bad_args", "b.sub needs channel names");
  const json::value& v = req.args()[0];
  if (v.is_string()) return sb::Names(std::string(v.as_string()));
  std::vector<std::string> out;
  if (v.is_array())
    for (const auto& e : v.as_array())
      if (e.is_string()) out.emplace_back(e.as_string());
  if (out.empty()) throw sb::RpcError("bad_args", "b.sub needs channel names");
  return sb::Names(std::move(out));
}

json::array payload(const sb::Request& req) {
  if (req.args().size() < 2) throw sb::RpcError("bad_args", "missing payload");
  return json::array{req.args()[1]};
}

}  // namespace

int main(int argc, char** argv) {
  try {
    sb::Server app(sb::Config::load(argc, argv));
    app.rpc("b.sub", [](sb::Request& req) -> sb::Future {
      return req.session().channel().subscribe(names(req));
    });
    app.rpc("b.signIn", [](sb::Request& req) -> sb::Future {
      return req.session().set_user_id(req.arg<std::string>(0));
    });
    app.rpc("b.pub", [](sb::Request& req) -> sb::Future {
      return req.publish().publish_channel(sb::Names(req.arg<std::string>(0)), "m", payload(req));
    });
    app.rpc("b.user", [](sb::Request& req) -> sb::Future {
      return req.publish().publish_user(sb::Names(req.arg<std::string>(0)), "m", payload(req));
    });
    app.rpc("b.socket", [](sb::Request& req) -> sb::Future {
      return req.publish().publish_socket_id(req.arg<std::string>(0), "m", payload(req));
    });
    return app.run();
  } catch (const std::exception& e) {
    std::cerr << "switchboard-bench-server: " << e.what() << std::endl;
    return 1;
  }
}
