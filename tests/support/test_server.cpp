// switchboard_test_server — a Switchboard app built only on the public app API,
// exposing what the integration tests drive over RPC (all methods are "t.*"):
//
//   t.sub(names) t.unsub(names) t.reset() t.list()     session channels (names: a
//                                                       string or an array of strings)
//   t.signIn(id) t.signOut() t.whoami()                user id; whoami -> {socketId, userId}
//   t.usersSub(users, channels) t.usersUnsub(users,    app.users(): every session of the
//     channels) t.usersSignOut(users)                   users (names: a string or an array)
//   t.all(event, ...args)                               publish to everyone
//   t.channel(nameOrNames, event, ...args)              publish to channels
//   t.user(idOrIds, event, ...args)                     publish to users
//   t.socket(socketId, event, ...args)                  publish to one connection
//   t.flood(nameOrNames, event, count, bytes)           `count` channel events, each
//                                                       [i, "<bytes x's>"]; -> how many the bus
//                                                       took
//   t.throw()                                           throws std::runtime_error("boom")
//   t.fail(code, message)                               throws RpcError(code, message)
//   t.async(ms, value)                                  resolves with value from another
//                                                       thread after ms
//   t.block(ms)                                         sleeps ms on the calling connection's
//                                                       event loop (an app breaking the
//                                                       no-blocking rule), then -> ms
//   t.hold(key) / t.release(key, value)                 a reply held until released (for
//                                                       reply ordering without timing)
//   t.setData(key, value) t.getData(key)                free-form session data
//   t.echo(...args)                                     -> args
//   t.nonFinite(what)                                   "result": returns [NaN];
//                                                       "publish": publishes all("nan", NaN)
//                                                       "session": session data "nan" = [NaN]
//
// main is exactly what an app author writes; config errors are printed and exit 1.
#include <boost/json.hpp>
#include <chrono>
#include <iostream>
#include <limits>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "switchboard/switchboard.hpp"

namespace sb = switchboard;
namespace json = boost::json;

namespace {

json::array rest(const sb::Request& req, std::size_t from) {
  json::array out;
  for (std::size_t i = from; i < req.args().size(); ++i) out.push_back(req.args()[i]);
  return out;
}

// Publisher calls throw std::invalid_argument for an empty event or target list;
// the caller gets bad_args rather than a generic handler_error.
template <class F>
sb::Future publishing(F&& f) {
  try {
    return json::value(f());
  } catch (const std::invalid_argument& e) {
    throw sb::RpcError("bad_args", e.what());
  }
}

// t.hold / t.release: promises keyed by name, shared by all connections.
class Holds {
 public:
  sb::Future hold(const std::string& key) {
    std::lock_guard lock(mu_);
    if (auto it = released_.find(key); it != released_.end()) {
      json::value v = std::move(it->second);
      released_.erase(it);
      return v;
    }
    return held_[key].future();
  }
  bool release(const std::string& key, json::value value) {
    sb::Promise p;
    {
      std::lock_guard lock(mu_);
      auto it = held_.find(key);
      if (it == held_.end()) {
        released_[key] = std::move(value);
        return false;
      }
      p = it->second;
      held_.erase(it);
    }
    p.resolve(std::move(value));  // outside the lock: continuations run here
    return true;
  }

 private:
  std::mutex mu_;
  std::map<std::string, sb::Promise> held_;
  std::map<std::string, json::value> released_;
};

void register_methods(sb::Server& app, Holds& holds) {
  app.rpc("t.sub", [](sb::Request& req) -> sb::Future {
    return req.session().channel().subscribe(req.names(0));
  });
  app.rpc("t.unsub", [](sb::Request& req) -> sb::Future {
    return req.session().channel().unsubscribe(req.names(0));
  });
  app.rpc("t.reset",
          [](sb::Request& req) -> sb::Future { return req.session().channel().reset(); });
  app.rpc("t.list", [](sb::Request& req) -> sb::Future { return req.session().channel().list(); });
  app.rpc("t.signIn", [](sb::Request& req) -> sb::Future {
    return req.session().set_user_id(req.arg<std::string>(0));
  });
  app.rpc("t.signOut",
          [](sb::Request& req) -> sb::Future { return req.session().set_user_id(std::nullopt); });
  app.rpc("t.usersSub", [&app](sb::Request& req) -> sb::Future {
    return app.users().subscribe(req.names(0), req.names(1));
  });
  app.rpc("t.usersUnsub", [&app](sb::Request& req) -> sb::Future {
    return app.users().unsubscribe(req.names(0), req.names(1));
  });
  app.rpc("t.usersSignOut",
          [&app](sb::Request& req) -> sb::Future { return app.users().sign_out(req.names(0)); });
  app.rpc("t.whoami", [](sb::Request& req) -> sb::Future {
    json::object o;
    o["socketId"] = req.socket_id() ? json::value(*req.socket_id()) : json::value(nullptr);
    auto user = req.session().user_id();
    o["userId"] = user ? json::value(*user) : json::value(nullptr);
    return o;
  });

  app.rpc("t.all", [](sb::Request& req) -> sb::Future {
    auto event = req.arg<std::string>(0);
    return publishing([&] { return req.publish().publish_all(event, rest(req, 1)); });
  });
  app.rpc("t.channel", [](sb::Request& req) -> sb::Future {
    auto names = req.names(0);
    auto event = req.arg<std::string>(1);
    return publishing([&] { return req.publish().publish_channel(names, event, rest(req, 2)); });
  });
  app.rpc("t.user", [](sb::Request& req) -> sb::Future {
    auto users = req.names(0);
    auto event = req.arg<std::string>(1);
    return publishing([&] { return req.publish().publish_user(users, event, rest(req, 2)); });
  });
  app.rpc("t.socket", [](sb::Request& req) -> sb::Future {
    auto id = req.arg<std::string>(0);
    auto event = req.arg<std::string>(1);
    return publishing([&] { return req.publish().publish_socket_id(id, event, rest(req, 2)); });
  });
  app.rpc("t.flood", [](sb::Request& req) -> sb::Future {
    auto names = req.names(0);
    auto event = req.arg<std::string>(1);
    auto count = req.arg<int64_t>(2);
    auto bytes = req.arg<int64_t>(3);
    if (count < 0 || bytes < 0) throw sb::RpcError("bad_args", "count and bytes must be >= 0");
    json::string payload(static_cast<std::size_t>(bytes), 'x');
    int64_t accepted = 0;
    for (int64_t i = 0; i < count; ++i)
      if (req.publish().publish_channel(names, event, json::array{i, payload})) ++accepted;
    return accepted;
  });

  app.rpc("t.throw", [](sb::Request&) -> sb::Future { throw std::runtime_error("boom"); });
  app.rpc("t.fail", [](sb::Request& req) -> sb::Future {
    throw sb::RpcError(req.arg<std::string>(0), req.arg<std::string>(1));
  });
  app.rpc("t.async", [](sb::Request& req) -> sb::Future {
    auto ms = req.arg<int64_t>(0);
    json::value value = req.args().size() > 1 ? req.args()[1] : json::value(nullptr);
    sb::Promise p;
    std::thread([p, ms, value] {
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
      p.resolve(value);
    }).detach();
    return p.future();
  });
  app.rpc("t.block", [](sb::Request& req) -> sb::Future {
    auto ms = req.arg<int64_t>(0);
    if (ms < 0 || ms > 10000) throw sb::RpcError("bad_args", "0..10000 ms");
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    return ms;
  });
  app.rpc("t.hold",
          [&holds](sb::Request& req) -> sb::Future { return holds.hold(req.arg<std::string>(0)); });
  app.rpc("t.release", [&holds](sb::Request& req) -> sb::Future {
    json::value value = req.args().size() > 1 ? req.args()[1] : json::value(nullptr);
    return holds.release(req.arg<std::string>(0), std::move(value));
  });

  app.rpc("t.setData", [](sb::Request& req) -> sb::Future {
    json::value value = req.args().size() > 1 ? req.args()[1] : json::value(nullptr);
    return req.session().set(req.arg<std::string>(0), std::move(value));
  });
  app.rpc("t.getData", [](sb::Request& req) -> sb::Future {
    return req.session().get(req.arg<std::string>(0));
  });
  app.rpc("t.echo", [](sb::Request& req) -> sb::Future { return req.args(); });
  // A handler computing NaN (no client can send one: params are checked).
  app.rpc("t.nonFinite", [](sb::Request& req) -> sb::Future {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    if (req.arg<std::string>(0) == "publish")
      return publishing([&] { return req.publish().publish_all("nan", json::array{nan}); });
    if (req.arg<std::string>(0) == "session") return req.session().set("nan", json::array{nan});
    return json::array{nan};
  });
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Holds holds;
    sb::Server app(sb::Config::load(argc, argv));
    register_methods(app, holds);
    return app.run();
  } catch (const std::exception& e) {
    std::cerr << "switchboard_test_server: " << e.what() << std::endl;
    return 1;
  }
}
