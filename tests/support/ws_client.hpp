// tests/support/ws_client.hpp — a synchronous-looking WebSocket test client for
// the Switchboard client protocol (docs/protocol.md), built on Boost.Beast.
//
// What it is: one connection, driven from the calling thread. Every blocking call
// takes a timeout and returns (or throws TimeoutError) when it passes; nothing
// waits unbounded. Internally each call runs the client's own io_context until
// the awaited thing happened or the deadline passed; a read that is still pending
// when a call returns stays pending (it is never cancelled, because cancelling a
// Beast websocket read fails the stream), and the next call resumes it.
//
// Reading: frames are only read while a call runs. A client that makes no calls
// does not read at all — that is how the slow-reader test stops reading — and
// does not answer pings either.
//
// Frames: every text frame received is kept in arrival order. The typed accessors
// (rpc, next_event, next_error, next_frame) parse it, unpack a batch (a JSON array
// of frames) into its elements, and take the element they want; the others stay
// queued in order. read_frame() instead hands out whole raw frames that the typed
// accessors have not looked at yet.
//
// Thread-safety: none; use one client from one thread at a time.
#pragma once

#include <boost/json.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace switchboard::test {

namespace json = boost::json;
using Millis = std::chrono::milliseconds;

// Default bound for every wait in the support library.
inline constexpr Millis kDefaultTimeout{10000};
inline constexpr std::string_view kSessionCookie = "sb.sid";

// Thrown when a bounded wait passes without the awaited frame, or the connection
// closed while waiting for it.
class TimeoutError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ConnectOptions {
  std::string session;        // sb.sid value to present; empty: no cookie
  std::string cookie_header;  // raw Cookie header; overrides `session` when set
  std::string origin;         // Origin header; empty: none (a non-browser client)
  std::string path = "/ws";
  std::string bind_address;      // local source address, e.g. "127.0.0.2"; empty: any
  int receive_buffer_bytes = 0;  // SO_RCVBUF before connecting; 0: system default
  bool wait_ready = true;        // wait for the {"t":"ready"} frame before returning
  // On a {"t":"session","claim":…} frame (a sign-in rotated the session id), redeem
  // it like the JS client: GET /switchboard/session?claim=… with this client's
  // cookie, and hold the new cookie for session() / reconnects. Off: only record it.
  bool auto_claim = true;
  Millis timeout = kDefaultTimeout;
};

// What the HTTP upgrade produced.
struct UpgradeResult {
  bool upgraded = false;   // a WebSocket exists (status 101)
  unsigned status = 0;     // HTTP status of the upgrade response; 0 if none came
  std::string session;     // sb.sid value from Set-Cookie; empty if not set
  std::string set_cookie;  // the whole Set-Cookie header for sb.sid
  std::string error;       // what went wrong, when !ok()
  bool ready = false;      // the ready frame arrived (when waited for)

  bool ok() const { return upgraded && error.empty(); }
};

// How a connection ended, as seen by wait_closed().
struct CloseResult {
  bool closed = false;              // false: still open when the wait ended
  std::optional<uint16_t> code;     // close code from the server's close frame
  std::string reason;               // close reason text
  boost::system::error_code error;  // the transport error when no close frame came (EOF…)
};

class WsClient {
 public:
  WsClient();
  ~WsClient();
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;

  // TCP connect + WebSocket upgrade (+ the ready frame unless opts.wait_ready is
  // false). Never throws for refusals: they are reported in the result. Call it
  // once per client object.
  UpgradeResult connect(const std::string& host, uint16_t port, const ConnectOptions& opts = {});

  bool is_open() const;
  // The socketId from the ready frame (empty before it arrived).
  const std::string& socket_id() const { return socket_id_; }
  // The session id this client holds: the one the server set, else the one presented.
  const std::string& session() const { return session_; }
  // The ready frame, waiting for it if it has not arrived yet.
  std::optional<json::object> ready(Millis timeout = kDefaultTimeout);
  const UpgradeResult& upgrade() const { return upgrade_; }

  // Claim tokens received ({"t":"session"} frames), in order. They are read, like
  // every frame, only while a call runs (an rpc() reply comes after its claim).
  const std::vector<std::string>& claims() const { return claims_; }
  // HTTP status of the last automatic claim (0: none made).
  unsigned last_claim_status() const { return last_claim_status_; }

  // Sends {"t":"rpc","id":N,"m":method,"p":args} and returns the reply frame with
  // that id. Events arriving meanwhile stay queued. Throws TimeoutError.
  json::object rpc(std::string_view method, json::array args = {},
                   Millis timeout = kDefaultTimeout);
  // The same in two halves, for pipelining several calls.
  uint64_t send_rpc(std::string_view method, json::array args = {});
  json::object wait_reply(uint64_t id, Millis timeout = kDefaultTimeout);

  // The next {"t":"event"} frame, or nullopt when none arrived in time.
  std::optional<json::object> next_event(Millis timeout = kDefaultTimeout);
  // The next {"t":"error"} frame, or nullopt.
  std::optional<json::object> next_error(Millis timeout = kDefaultTimeout);
  // The next parsed frame of any type (batches unpacked), or nullopt.
  std::optional<json::object> next_frame(Millis timeout = kDefaultTimeout);
  // Frames the client could not make sense of (not JSON, not objects, binary).
  const std::vector<std::string>& protocol_violations() const { return violations_; }

  // The next whole raw text frame not yet looked at by the typed accessors.
  std::optional<std::string> read_frame(Millis timeout = kDefaultTimeout);

  // Runs the connection (reads, answers pings) for `duration`, queuing frames.
  void poll(Millis duration);

  void send_text(std::string_view text, Millis timeout = kDefaultTimeout);
  void send_binary(std::string_view bytes, Millis timeout = kDefaultTimeout);
  // One frame of a fragmented text message: fin=false for all but the last.
  // Returns false if the write failed (e.g. the server already closed).
  bool send_fragment(std::string_view text, bool fin, Millis timeout = kDefaultTimeout);

  // Starts the closing handshake and waits (bounded) for it to finish.
  void close(uint16_t code = 1000, Millis timeout = kDefaultTimeout);
  // Reads (queuing frames) until the server closes the connection or the deadline.
  CloseResult wait_closed(Millis timeout = kDefaultTimeout);

 private:
  struct Impl;
  struct Inbound {
    std::string text;
    bool binary = false;
  };

  void start_read();
  template <class Pred>
  bool run_until(Pred pred, std::chrono::steady_clock::time_point deadline);
  void write(std::string_view data, bool binary, Millis timeout);
  void parse_pending();
  void absorb(json::value v);
  std::optional<json::object> take_first(std::string_view type);
  std::optional<json::object> wait_frame(std::string_view type, Millis timeout);

  std::unique_ptr<Impl> impl_;
  UpgradeResult upgrade_;
  std::string socket_id_;
  std::string session_;
  std::optional<json::object> ready_;
  uint64_t next_id_ = 1;
  std::deque<Inbound> raw_;          // received, not yet parsed
  std::deque<json::object> frames_;  // parsed, in arrival order
  std::vector<std::string> violations_;
  std::string host_;
  uint16_t port_ = 0;
  bool auto_claim_ = true;
  std::vector<std::string> claims_;
  unsigned last_claim_status_ = 0;
};

// Parses a Set-Cookie header; returns the value if it sets `name`.
std::optional<std::string> cookie_value(std::string_view set_cookie, std::string_view name);

}  // namespace switchboard::test
