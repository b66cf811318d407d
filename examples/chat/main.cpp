// The chat example: rooms are channels, signing in sets the session's userId,
// direct messages go to a user, "ping this tab" goes to one socketId, and the
// admin broadcast goes to everyone. The page is in public/.
//
//   ./chat                      # embedded defaults: memory transport + sessions
//   ./chat --config my.yaml     # any config (e.g. another transport)
#include <string>

#include <boost/json.hpp>

#include "switchboard/switchboard.hpp"

namespace json = boost::json;
using switchboard::Future;
using switchboard::Request;

namespace {
std::string sender(const Request& req) { return req.session().user_id().value_or("anonymous"); }

std::string text_arg(const Request& req, size_t i) {
  auto text = req.arg<std::string>(i);
  if (text.empty() || text.size() > 2000)
    throw switchboard::RpcError("bad_args", "messages are 1..2000 characters");
  return text;
}
}  // namespace

int main(int argc, char** argv) try {
  auto config = switchboard::Config::load(argc, argv);
  config.set("server.static_dir", CHAT_PUBLIC_DIR);
  switchboard::Server app(config);

  app.rpc("chat.signIn", [](Request& req) {
    auto name = req.arg<std::string>(0);
    if (name.empty() || name.size() > 64)
      throw switchboard::RpcError("bad_args", "names are 1..64 characters");
    return req.session().set_user_id(name).then(
        [](const json::value& id) -> Future { return json::object{{"userId", id}}; });
  });
  app.rpc("chat.signOut", [](Request& req) {
    return req.session().set_user_id(std::nullopt).then(
        [](const json::value&) -> Future { return json::object{{"userId", nullptr}}; });
  });
  app.rpc("chat.join", [](Request& req) {
    return req.session().channel().subscribe(req.arg<std::string>(0));
  });
  app.rpc("chat.leave", [](Request& req) {
    return req.session().channel().unsubscribe(req.arg<std::string>(0));
  });
  app.rpc("chat.whoami", [](Request& req) {
    auto user = req.session().user_id();
    auto socket = req.socket_id().value_or("");
    return req.session().channel().list().then([req, socket](const json::value& channels) -> Future {
      auto user = req.session().user_id();
      return json::object{{"userId", user ? json::value(*user) : json::value(nullptr)},
                          {"socketId", socket},
                          {"channels", channels}};
    });
  });
  app.rpc("chat.send", [](Request& req) {
    auto room = req.arg<std::string>(0);
    req.publish().channel(room, "chat.message",
                          json::object{{"from", sender(req)}, {"text", text_arg(req, 1)}});
    return true;
  });
  app.rpc("chat.direct", [](Request& req) {
    auto to = req.arg<std::string>(0);
    req.publish().user(to, "chat.direct",
                       json::object{{"from", sender(req)}, {"text", text_arg(req, 1)}});
    return true;
  });
  app.rpc("chat.pingTab", [](Request& req) {
    std::string target = req.args().size() > 0 && req.args()[0].is_string()
                             ? std::string(req.args()[0].get_string())
                             : req.socket_id().value_or("");
    if (target.empty()) throw switchboard::RpcError("bad_args", "no socket id");
    req.publish().socket_id(target, "chat.ping",
                            json::object{{"from", sender(req)},
                                         {"fromSocketId", req.socket_id().value_or("")}});
    return true;
  });
  app.rpc("chat.broadcast", [](Request& req) {
    req.publish().all("chat.broadcast",
                      json::object{{"from", sender(req)}, {"text", text_arg(req, 0)}});
    return true;
  });
  return app.run();
} catch (const std::exception& e) {
  std::fprintf(stderr, "chat: %s\n", e.what());
  return 1;
}
