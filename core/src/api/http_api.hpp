// The HTTP API for backends (docs/http-api.md): `POST /api/publish` takes the bus
// message format (one object or an array) and publishes each message through the
// app's Publisher, the path app.publish() takes; `POST /api/disconnect` closes
// connections (by socketId or user) on every server; `POST /api/subscribe`,
// `/api/unsubscribe` and `/api/sign-out` change every session of some users
// (session/user_ops.hpp). Authenticated by the keys in api.keys (Bearer),
// rate-limited per key; off (404) while no key is configured. HttpSession calls
// admit() with a request's head before reading its body, then answer() with the
// body. Thread-safe: the event loops call it concurrently.
#pragma once

#include <array>
#include <functional>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/settings.hpp"
#include "observe/component_state.hpp"
#include "routing/envelope.hpp"
#include "rpc/rate_limiter.hpp"
#include "publish/bus_publisher.hpp"
#include "session/user_ops.hpp"
#include "sync/mutex.hpp"

namespace switchboard::api {

// What to answer: an HTTP status and a JSON body, either {"published":N} or
// {"error":{"code":…,"message":…}}.
struct Answer {
  unsigned status = 200;
  std::string body;
  unsigned retry_after_s = 0;  // 429: Retry-After
  bool challenge = false;      // 401: WWW-Authenticate: Bearer
  bool allow_post = false;     // 405: Allow: POST
};

class HttpApi {
 public:
  using Digest = std::array<unsigned char, 32>;  // SHA-256

  HttpApi(const config::Settings& settings, publish::BusPublisher& publisher,
          session::SessionService& sessions, const observe::ComponentState& transport);

  // Paths the API answers for (everything below /api/, and /api itself).
  static bool owns(std::string_view path);
  // The head of a request to one of those paths, checked before its body is read:
  // the API is on, the endpoint exists, the method, the key (and its rate), the
  // media type and the declared length. nullopt: read the body (at most
  // max_body_bytes()) and call answer() with it.
  std::optional<Answer> admit(std::string_view path, std::string_view method,
                              std::string_view authorization, std::string_view content_type,
                              std::optional<uint64_t> content_length);
  // Answers an admitted request's body by path; done runs once, on this thread
  // or (for a session operation) on any.
  void answer(std::string_view path, std::string_view body, std::function<void(Answer)> done);
  // POST /api/publish. Validates every message first, then publishes them in order
  // (all or none, unless the transport fails in between: the answer then says
  // how many went).
  Answer publish(std::string_view body);
  // POST /api/disconnect: {"socketIds"|"users": name or [names], "reconnect": bool}.
  Answer disconnect(std::string_view body);
  // POST /api/subscribe and /api/unsubscribe: {"users": …, "channels": …};
  // POST /api/sign-out: {"users": …} (a name or a list of names each). Answers
  // {"sessions":N} (and "overLimit" for subscribe).
  void sessions(session::UserOp op, std::string_view body, std::function<void(Answer)> done);
  // The 413 answer for a body that turned out longer than the limit while read.
  Answer too_large() const;
  uint64_t max_body_bytes() const { return settings_.api.max_body_bytes; }
  bool enabled() const { return !key_digests_.empty(); }

 private:
  // The index of the key presented in "Bearer <key>", or nullopt. Compares the
  // SHA-256 of the presented key with every configured key's in constant time,
  // all keys each time, so neither timing nor order tells how close a guess was.
  std::optional<size_t> key_index(std::string_view authorization) const;

  Answer transport_down() const;                    // 503: not connected
  Answer transport_refused(size_t published) const;  // 503: refused a message

  const config::Settings& settings_;
  publish::BusPublisher& publisher_;
  session::SessionService& sessions_;
  const observe::ComponentState& transport_;
  routing::DecodeLimits limits_;
  std::vector<Digest> key_digests_;
  sync::Mutex mu_;
  std::vector<rpc::TokenBucket> buckets_ SB_GUARDED_BY(mu_);  // one per key
};

// {"error":{"code":<code>,"message":<message>}[,"published":N]} with status; also
// for HttpSession's own refusals of API requests (malformed, oversized), so every
// API answer has one shape. published: how many messages went before a failure.
Answer error_answer(unsigned status, std::string_view code, std::string_view message,
                    std::optional<size_t> published = std::nullopt);

}  // namespace switchboard::api
