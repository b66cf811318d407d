// examples/hello: the app-author guide's example (docs/app-guide.md), compiled in CI.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "switchboard/switchboard.hpp"

int main(int argc, char** argv) {
  switchboard::Server app(switchboard::Config::load(argc, argv));

  // req.session().channel(): subscribe / unsubscribe / reset / list.
  app.rpc("rooms.join", [](switchboard::Request& req) {
    return req.session().channel().subscribe(req.arg<std::string>(0));
  });
  app.rpc("rooms.leave", [](switchboard::Request& req) {
    return req.session().channel().unsubscribe(req.arg<std::string>(0));
  });

  // Sign in and out: events for a user reach all of that user's tabs and devices.
  app.rpc("auth.signIn", [](switchboard::Request& req) {
    return req.session().set_user_id(req.arg<std::string>(0));
  });
  app.rpc("auth.signOut", [](switchboard::Request& req) {
    return req.session().set_user_id(std::nullopt);
  });

  // Publishing: to a channel (the handler gets the channel name last), a user,
  // this one tab, or everyone.
  app.rpc("rooms.say", [](switchboard::Request& req) {
    req.publish().channel(req.arg<std::string>(0), "said",
                          boost::json::object{{"text", req.arg<std::string>(1)}});
    return true;
  });
  app.rpc("me.poke", [](switchboard::Request& req) {
    req.publish().socket_id(*req.socket_id(), "poked");
    return true;
  });

  // Asynchronous completion: resolve a Promise from any thread.
  app.rpc("slow.answer", [](switchboard::Request&) {
    switchboard::Promise p;
    std::thread([p] {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      p.resolve(42);
    }).detach();
    return p.future();
  });

  // Errors with a code of your own reach the caller; the connection stays up.
  app.rpc("admin.only", [](switchboard::Request& req) -> switchboard::Future {
    if (req.session().user_id() != "admin")
      throw switchboard::RpcError("forbidden", "admins only");
    req.publish().all("flash", "Notice: going down in 10 minutes");
    return true;
  });

  // Publishing works outside RPC handlers too, from any thread. (A jthread is
  // stopped and joined before `app` goes away.)
  std::jthread ticker([&app](std::stop_token stop) {
    std::mutex mu;
    std::condition_variable_any cv;
    std::unique_lock lock(mu);
    for (int i = 0;; ++i) {
      cv.wait_for(lock, stop, std::chrono::seconds(10), [] { return false; });
      if (stop.stop_requested()) return;
      app.publish().all("tick", i);
    }
  });

  return app.run();  // until SIGINT/SIGTERM: then close clients with 1001 and exit 0
}
