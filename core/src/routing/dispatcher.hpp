// The dispatcher: the host's one thread-safe deliver(bytes). It parses each bus
// message once, builds the client frame once per (message, channel), and posts
// one shared Delivery to every event loop, which fans it out from its own index
// shard. Malformed messages are counted and logged (throttled), never delivered.
//
// Thread-safety: deliver() may be called from any plugin thread; per bus topic
// the plugin calls it from one thread at a time, and each loop receives
// deliveries in that order (asio::post to a single-threaded io_context is FIFO).
#pragma once

#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "observe/log.hpp"
#include "observe/metrics.hpp"
#include "routing/envelope.hpp"
#include "routing/index.hpp"

namespace switchboard::routing {

class Dispatcher {
 public:
  using Post = std::function<void(std::shared_ptr<const Delivery>)>;  // to every loop

  Dispatcher(DecodeLimits limits, observe::Metrics& metrics, Post post_to_loops);

  void deliver(std::string_view bytes);

  // Called (on some loop thread) once every loop has applied a _session envelope
  // that carries a nonce. Set before the transport starts.
  void on_session_applied(std::function<void(const std::string& nonce)> fn) {
    session_applied_ = std::move(fn);
  }

  // Builds the delivery for a decoded envelope (exposed for tests).
  static std::shared_ptr<Delivery> build(Envelope&& e);

 private:
  DecodeLimits limits_;
  observe::Metrics& metrics_;
  Post post_;
  std::function<void(const std::string&)> session_applied_;
  observe::ThrottledLog malformed_log_{std::chrono::seconds(10)};
};

}  // namespace switchboard::routing
