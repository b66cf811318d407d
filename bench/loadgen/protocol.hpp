// How the load generator speaks to each server it measures. Every protocol is
// written by hand from the server's documented wire format (bench/peers/
// PROTOCOLS.md for the peers, docs/protocol.md for Switchboard); the load
// generator itself never parses more than these few frames.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::bench {

// Who a publish goes to.
enum class Target { channel, user, socket };

// One setup request a subscriber makes after its handshake, acknowledged by
// the server before the measurement starts.
struct SetupStep {
  enum Kind { subscribe, sign_in } kind;
  std::vector<std::string> names;  // channels, or the one user id
};

enum class Ack { none, ok, error };

class Protocol {
 public:
  virtual ~Protocol() = default;
  virtual std::string_view name() const = 0;
  // The HTTP request target of the WebSocket upgrade.
  virtual std::string target() const = 0;
  virtual bool binary() const { return false; }
  virtual bool supports(Target t) const { return t == Target::channel; }
  virtual bool supports(SetupStep::Kind k) const { return k == SetupStep::subscribe; }
  // True when a reconnecting client gets its subscriptions back without asking
  // (Switchboard's session cookie); the others subscribe again.
  virtual bool restores_subscriptions() const { return false; }

  // Frames to send as soon as the WebSocket is open.
  virtual std::string open_frame() const { return {}; }
  struct Handshake {
    bool ready = false;
    bool failed = false;
    std::string reply;  // frame to send now (empty: none)
    std::string id;     // the connection's id on the server, once ready
  };
  // Called with each frame until the result is ready or failed.
  virtual Handshake handshake(std::string_view frame) const = 0;
  // The reply to a server keepalive in `frame`, or empty.
  virtual std::string keepalive_reply(std::string_view frame) const = 0;

  virtual std::string setup(const SetupStep& step, uint64_t id) const = 0;
  // Whether `frame` answers the setup request `step` sent with `id`.
  virtual Ack acks(std::string_view frame, const SetupStep& step, uint64_t id) const = 0;
  virtual std::string publish(Target t, const std::string& to, std::string_view payload,
                              uint64_t id) const = 0;
};

// "switchboard", "socketio", "centrifugo" or "nats"; throws for anything else.
std::unique_ptr<Protocol> make_protocol(std::string_view name);

}  // namespace switchboard::bench
