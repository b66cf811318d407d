// switchboard/server.hpp — the application object.
//
//   switchboard::Server app(switchboard::Config::load(argc, argv));
//   app.rpc("chat.join", [](switchboard::Request& req) {
//     return req.session().channel().subscribe(req.arg<std::string>(0));
//   });
//   return app.run();
//
// Thread-safety: rpc() before run(); publish() and stop() from any thread, any
// time after construction. run() blocks until SIGINT/SIGTERM or stop(), then shuts
// down gracefully (stop accepting, close clients with 1001, bounded wait).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "switchboard/config.hpp"
#include "switchboard/future.hpp"
#include "switchboard/publisher.hpp"
#include "switchboard/request.hpp"
#include "switchboard/users.hpp"

namespace switchboard {

using RpcHandler = std::function<Future(Request&)>;

class Server {
 public:
  // Loads plugins and validates the whole config; throws ConfigError (or
  // std::runtime_error for a plugin that cannot be loaded) with a clear message.
  explicit Server(const Config& config);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Registers an RPC method. Names are free text ("chat.join"); re-registering
  // replaces. The handler's Future (or thrown RpcError / exception) is the reply.
  void rpc(const std::string& method, RpcHandler handler);

  Publisher& publish();
  // Every session of some users (switchboard/users.hpp): sign-out everywhere,
  // channels for all of a user's browsers.
  Users& users();

  // Binds, prints "switchboard listening on http://HOST:PORT", serves until a
  // signal or stop(); returns the process exit code (0 after a clean shutdown).
  int run();
  // Starts serving on background threads and returns once listening.
  void start();
  // Asks the server to shut down gracefully; returns at once.
  void stop();
  // Waits until a started server has shut down.
  int wait();

  // The bound TCP port (after start/run has bound it).
  uint16_t port() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace switchboard
