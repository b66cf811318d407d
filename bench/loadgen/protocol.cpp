#include "protocol.hpp"

#include <stdexcept>

namespace switchboard::bench {

namespace {

bool contains(std::string_view s, std::string_view what) {
  return s.find(what) != std::string_view::npos;
}

// The string value of "key":"…" (no escapes expected: ids are plain ASCII).
std::string json_string(std::string_view frame, std::string_view key) {
  std::string pat = "\"" + std::string(key) + "\":\"";
  auto at = frame.find(pat);
  if (at == std::string_view::npos) return {};
  auto from = at + pat.size();
  auto to = frame.find('"', from);
  if (to == std::string_view::npos) return {};
  return std::string(frame.substr(from, to - from));
}

std::string json_list(const std::vector<std::string>& names) {
  std::string out = "[";
  for (size_t i = 0; i < names.size(); ++i) out += (i ? ",\"" : "\"") + names[i] + "\"";
  return out + "]";
}

// docs/protocol.md: RPC frames, replies, `ready`, batches of frames.
class SwitchboardProtocol final : public Protocol {
 public:
  std::string_view name() const override { return "switchboard"; }
  std::string target() const override { return "/ws"; }
  bool supports(Target) const override { return true; }
  bool supports(SetupStep::Kind) const override { return true; }
  bool restores_subscriptions() const override { return true; }
  Handshake handshake(std::string_view f) const override {
    Handshake h;
    if (contains(f, "\"t\":\"ready\"")) {
      h.ready = true;
      h.id = json_string(f, "socketId");
    }
    return h;
  }
  // The server pings with WebSocket control frames, which the client answers itself.
  std::string keepalive_reply(std::string_view) const override { return {}; }
  std::string setup(const SetupStep& s, uint64_t id) const override {
    if (s.kind == SetupStep::subscribe)
      return rpc(id, "b.sub", "[" + json_list(s.names) + "]");
    return rpc(id, "b.signIn", "[\"" + s.names.at(0) + "\"]");
  }
  Ack acks(std::string_view f, const SetupStep&, uint64_t id) const override {
    auto pat = "{\"t\":\"reply\",\"id\":" + std::to_string(id) + ",";
    auto at = f.find(pat);
    if (at == std::string_view::npos) return Ack::none;
    return f.compare(at + pat.size(), 6, "\"err\":") == 0 ? Ack::error : Ack::ok;
  }
  std::string publish(Target t, const std::string& to, std::string_view payload,
                      uint64_t id) const override {
    const char* m = t == Target::channel ? "b.pub" : t == Target::user ? "b.user" : "b.socket";
    return rpc(id, m, "[\"" + to + "\",\"" + std::string(payload) + "\"]");
  }

 private:
  static std::string rpc(uint64_t id, std::string_view method, const std::string& params) {
    return "{\"t\":\"rpc\",\"id\":" + std::to_string(id) + ",\"m\":\"" + std::string(method) +
           "\",\"p\":" + params + "}";
  }
};

// Engine.IO 4 over WebSocket only, Socket.IO 5 packets (bench/peers/socketio/server.js).
class SocketIoProtocol final : public Protocol {
 public:
  std::string_view name() const override { return "socketio"; }
  std::string target() const override { return "/socket.io/?EIO=4&transport=websocket"; }
  bool supports(Target t) const override { return t != Target::user; }
  Handshake handshake(std::string_view f) const override {
    Handshake h;
    if (f.starts_with("0{")) {
      h.reply = "40";  // connect to the main namespace
    } else if (f.starts_with("40")) {
      h.ready = true;
      h.id = json_string(f, "sid");
    } else if (f.starts_with("44")) {
      h.failed = true;  // connect_error
    }
    return h;
  }
  std::string keepalive_reply(std::string_view f) const override {
    return f == "2" ? "3" : std::string();
  }
  std::string setup(const SetupStep& s, uint64_t id) const override {
    return "42" + std::to_string(id) + "[\"sub\"," + json_list(s.names) + "]";
  }
  Ack acks(std::string_view f, const SetupStep&, uint64_t id) const override {
    return f.starts_with("43" + std::to_string(id) + "[") ? Ack::ok : Ack::none;
  }
  std::string publish(Target t, const std::string& to, std::string_view payload,
                      uint64_t) const override {
    return std::string("42[\"") + (t == Target::socket ? "pubsock" : "pub") + "\",\"" + to +
           "\",\"" + std::string(payload) + "\"]";
  }
};

// Centrifugo's JSON client protocol: one command per line, replies by id.
class CentrifugoProtocol final : public Protocol {
 public:
  std::string_view name() const override { return "centrifugo"; }
  std::string target() const override { return "/connection/websocket"; }
  std::string open_frame() const override { return "{\"id\":1,\"connect\":{}}"; }
  Handshake handshake(std::string_view f) const override {
    Handshake h;
    if (contains(f, "\"id\":1,")) {
      if (contains(f, "\"error\"")) {
        h.failed = true;
      } else {
        h.ready = true;
        h.id = json_string(f, "client");
      }
    }
    return h;
  }
  // The server's ping is an empty command, alone or among others ("\n"-joined).
  std::string keepalive_reply(std::string_view f) const override {
    bool ping = f == "{}" || f.starts_with("{}\n") || f.ends_with("\n{}") || contains(f, "\n{}\n");
    return ping ? "{}" : std::string();
  }
  // One subscribe command per channel in one frame; the last one's reply acks all
  // (Centrifugo answers a frame's commands in order).
  std::string setup(const SetupStep& s, uint64_t id) const override {
    std::string out;
    for (size_t i = 0; i < s.names.size(); ++i) {
      if (i) out += '\n';
      out += "{\"id\":" + std::to_string(command_id(id, i)) + ",\"subscribe\":{\"channel\":\"" +
             s.names[i] + "\"}}";
    }
    return out;
  }
  Ack acks(std::string_view f, const SetupStep& s, uint64_t id) const override {
    auto pat = "{\"id\":" + std::to_string(command_id(id, s.names.size() - 1)) + ",";
    auto at = f.find(pat);
    if (at == std::string_view::npos) return Ack::none;
    return f.compare(at + pat.size(), 8, "\"error\":") == 0 ? Ack::error : Ack::ok;
  }
  std::string publish(Target, const std::string& to, std::string_view payload,
                      uint64_t id) const override {
    return "{\"id\":" + std::to_string(command_id(id, 0)) + ",\"publish\":{\"channel\":\"" + to +
           "\",\"data\":\"" + std::string(payload) + "\"}}";
  }

 private:
  // Ids 1 (connect) and up to 63 per setup request never collide.
  static uint64_t command_id(uint64_t id, size_t i) { return 64 * id + i; }
};

// The NATS text protocol inside WebSocket frames (nats-server's websocket listener).
class NatsProtocol final : public Protocol {
 public:
  std::string_view name() const override { return "nats"; }
  std::string target() const override { return "/"; }
  bool binary() const override { return true; }
  Handshake handshake(std::string_view f) const override {
    Handshake h;
    if (f.starts_with("INFO ")) {
      h.reply =
          "CONNECT {\"verbose\":false,\"pedantic\":false,\"protocol\":1,\"echo\":false}\r\n"
          "PING\r\n";
    } else if (contains(f, "PONG\r\n")) {
      h.ready = true;
    } else if (contains(f, "-ERR")) {
      h.failed = true;
    }
    return h;
  }
  std::string keepalive_reply(std::string_view f) const override {
    return f.starts_with("PING\r\n") || contains(f, "\r\nPING\r\n") ? "PONG\r\n" : std::string();
  }
  std::string setup(const SetupStep& s, uint64_t id) const override {
    std::string out;
    for (size_t i = 0; i < s.names.size(); ++i)
      out += "SUB " + s.names[i] + " " + std::to_string(id * 64 + i) + "\r\n";
    return out + "PING\r\n";  // the PONG confirms every SUB before it
  }
  Ack acks(std::string_view f, const SetupStep&, uint64_t) const override {
    if (contains(f, "-ERR")) return Ack::error;
    return contains(f, "PONG\r\n") ? Ack::ok : Ack::none;
  }
  std::string publish(Target, const std::string& to, std::string_view payload,
                      uint64_t) const override {
    return "PUB " + to + " " + std::to_string(payload.size()) + "\r\n" + std::string(payload) +
           "\r\n";
  }
};

}  // namespace

std::unique_ptr<Protocol> make_protocol(std::string_view name) {
  if (name == "switchboard") return std::make_unique<SwitchboardProtocol>();
  if (name == "socketio") return std::make_unique<SocketIoProtocol>();
  if (name == "centrifugo") return std::make_unique<CentrifugoProtocol>();
  if (name == "nats") return std::make_unique<NatsProtocol>();
  throw std::invalid_argument("unknown protocol '" + std::string(name) +
                              "' (switchboard, socketio, centrifugo, nats)");
}

}  // namespace switchboard::bench
