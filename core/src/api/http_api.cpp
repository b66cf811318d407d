#include "api/http_api.hpp"

#include <stdexcept>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <boost/beast/core/string.hpp>
#include <boost/json.hpp>

#include "net/http_fields.hpp"
#include "protocol/json_text.hpp"
#include "publish/bus_message.hpp"
#include "routing/finite_numbers.hpp"

namespace switchboard::api {
namespace beast = boost::beast;
namespace json = boost::json;

namespace {

constexpr std::string_view kPublishPath = "/api/publish";
constexpr std::string_view kDisconnectPath = "/api/disconnect";
constexpr std::string_view kSubscribePath = "/api/subscribe";
constexpr std::string_view kUnsubscribePath = "/api/unsubscribe";
constexpr std::string_view kSignOutPath = "/api/sign-out";

// The session operation at path, if it is one.
std::optional<session::UserOp> user_op(std::string_view path) {
  if (path == kSubscribePath) return session::UserOp::kSubscribe;
  if (path == kUnsubscribePath) return session::UserOp::kUnsubscribe;
  if (path == kSignOutPath) return session::UserOp::kSignOut;
  return std::nullopt;
}

HttpApi::Digest sha256(std::string_view text) {
  HttpApi::Digest d{};
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), d.data());
  return d;
}

// application/json, with or without parameters (charset=utf-8).
bool is_json_media_type(std::string_view content_type) {
  return beast::iequals(net::trim_ows(content_type.substr(0, content_type.find(';'))),
                        "application/json");
}

Answer published_answer(size_t n) {
  Answer a;
  a.body = json::serialize(json::object{{"published", n}});
  return a;
}

Answer bad_request(const std::string& message) {
  return error_answer(400, "bad_request", message);
}

// Reads field `name` of o, a name or a non-empty list of at most max names, each
// checked by valid(); the error message otherwise.
std::optional<std::string> read_names(const json::object& o, std::string_view name, size_t max,
                                      const std::function<bool(std::string_view)>& valid,
                                      const std::string& rule, std::vector<std::string>& out) {
  const json::value* v = o.if_contains(name);
  const std::string field = "\"" + std::string(name) + "\"";
  if (v == nullptr) return field + " is missing";
  json::array one;
  const json::array* list = v->if_array();
  if (v->is_string()) {
    one.push_back(*v);
    list = &one;
  }
  if (list == nullptr) return field + " must be a string or an array of strings";
  if (list->empty()) return field + " names nothing";
  if (list->size() > max)
    return field + " names " + std::to_string(list->size()) + ", over " + std::to_string(max);
  for (size_t i = 0; i < list->size(); ++i) {
    const json::string* n = (*list)[i].if_string();
    const std::string where = v->is_array() ? field + "[" + std::to_string(i) + "]" : field;
    if (n == nullptr) return where + " is not a string";
    if (!valid(*n)) return where + ": " + rule;
    out.emplace_back(*n);
  }
  return std::nullopt;
}

// The publish call one validated message makes.
struct Message {
  routing::Envelope envelope;
  json::array params;
};

}  // namespace

Answer error_answer(unsigned status, std::string_view code, std::string_view message,
                    std::optional<size_t> published) {
  Answer a;
  a.status = status;
  json::object o{{"error", json::object{{"code", code}, {"message", message}}}};
  if (published) o["published"] = *published;
  a.body = json::serialize(o);
  return a;
}

HttpApi::HttpApi(const config::Settings& settings, publish::BusPublisher& publisher,
                 session::SessionService& sessions, const observe::ComponentState& transport)
    : settings_(settings),
      publisher_(publisher),
      sessions_(sessions),
      transport_(transport),
      limits_(publish::bus_decode_limits(settings.limits)) {
  for (const auto& key : settings.api.keys) {
    key_digests_.push_back(sha256(key));
    buckets_.emplace_back(static_cast<double>(settings.api.requests_per_second));
  }
}

bool HttpApi::owns(std::string_view path) {
  return path == "/api" || path.substr(0, 5) == "/api/";
}

std::optional<size_t> HttpApi::key_index(std::string_view authorization) const {
  authorization = net::trim_ows(authorization);
  const size_t space = authorization.find(' ');
  if (space == std::string_view::npos ||
      !beast::iequals(authorization.substr(0, space), "Bearer"))
    return std::nullopt;
  const Digest presented = sha256(net::trim_ows(authorization.substr(space + 1)));
  std::optional<size_t> found;
  for (size_t i = 0; i < key_digests_.size(); ++i)
    if (CRYPTO_memcmp(presented.data(), key_digests_[i].data(), presented.size()) == 0)
      found = i;
  return found;
}

std::optional<Answer> HttpApi::admit(std::string_view path, std::string_view method,
                                     std::string_view authorization,
                                     std::string_view content_type,
                                     std::optional<uint64_t> content_length) {
  if (key_digests_.empty())
    return error_answer(404, "not_found",
                        "the HTTP API is off: no key is configured (api.keys)");
  if (path != kPublishPath && path != kDisconnectPath && !user_op(path))
    // The path is not echoed: it may hold any bytes, and the answer is JSON.
    return error_answer(404, "not_found",
                        "no API endpoint at this path (the API has POST /api/publish, "
                        "/api/disconnect, /api/subscribe, /api/unsubscribe and /api/sign-out)");
  if (method != "POST") {
    Answer a = error_answer(405, "method_not_allowed", std::string(path) + " takes POST");
    a.allow_post = true;
    return a;
  }
  const std::optional<size_t> key = key_index(authorization);
  if (!key) {
    Answer a = error_answer(401, "unauthorized",
                            "send one of the api.keys as 'Authorization: Bearer <key>'");
    a.challenge = true;
    return a;
  }
  {
    sync::Lock lock(mu_);
    if (!buckets_[*key].take()) {
      Answer a = error_answer(429, "rate_limited",
                              "more than api.requests_per_second (" +
                                  std::to_string(settings_.api.requests_per_second) +
                                  ") requests per second with this key");
      a.retry_after_s = 1;
      return a;
    }
  }
  if (!is_json_media_type(content_type))
    return error_answer(415, "unsupported_media_type",
                        "the body must be sent as Content-Type: application/json");
  if (content_length && *content_length > max_body_bytes()) return too_large();
  return std::nullopt;
}

Answer HttpApi::too_large() const {
  return error_answer(413, "payload_too_large",
                      "the body is limited to api.max_body_bytes (" +
                          std::to_string(max_body_bytes()) + " bytes)");
}

void HttpApi::answer(std::string_view path, std::string_view body, std::function<void(Answer)> done) {
  if (auto op = user_op(path)) return sessions(*op, body, std::move(done));
  done(path == kDisconnectPath ? disconnect(body) : publish(body));
}

void HttpApi::sessions(session::UserOp op, std::string_view body, std::function<void(Answer)> done) {
  std::error_code ec;
  json::value v = protocol::parse_untrusted(body, settings_.limits.json_max_depth, ec);
  if (ec) return done(bad_request("the body is not valid JSON: " + ec.message()));
  const bool channels_too = op != session::UserOp::kSignOut;
  if (!v.is_object())
    return done(bad_request(channels_too ? "the body must be an object: {\"users\": …, \"channels\": …}"
                                         : "the body must be an object: {\"users\": …}"));
  const json::object& o = v.get_object();
  for (const auto& field : o)
    if (field.key() != "users" && !(channels_too && field.key() == "channels"))
      return done(bad_request("unknown field \"" + std::string(field.key()) + "\" (the body takes " +
                              (channels_too ? "\"users\" and \"channels\")" : "\"users\")")));
  const auto& l = settings_.limits;
  std::vector<std::string> users, channels;
  if (auto bad = read_names(
          o, "users", session::kMaxUsers, [this](std::string_view u) { return session::valid_user_id(settings_, u); },
          "user ids are 1.." + std::to_string(l.user_id_bytes) + " bytes (limits.user_id_bytes)", users))
    return done(bad_request(*bad));
  if (channels_too) {
    if (auto bad = read_names(
            o, "channels", l.channels_per_session,
            [&l](std::string_view c) { return routing::valid_channel_name(c, l.channel_name_bytes); },
            "channel names are 1.." + std::to_string(l.channel_name_bytes) +
                " bytes of UTF-8 (limits.channel_name_bytes)",
            channels))
      return done(bad_request(*bad));
  }
  // A change is saved, then announced on the bus: without the bus, open
  // connections would not follow it.
  if (transport_.state != SWITCHBOARD_STATE_CONNECTED) return done(transport_down());
  session::for_user_sessions(
      sessions_, op, std::move(users), std::move(channels),
      [op, done = std::move(done)](const session::UserOpReport& r) {
        json::object o;
        Answer a;
        if (r.error) {
          a.status = r.error->code == "store_unavailable" || r.error->code == "transport_unavailable" ? 503 : 500;
          o["error"] = json::object{{"code", r.error->code}, {"message", r.error->message}};
        }
        o["sessions"] = r.sessions;
        if (op == session::UserOp::kSubscribe) o["overLimit"] = r.over_limit;
        a.body = json::serialize(o);
        done(std::move(a));
      });
}

Answer HttpApi::disconnect(std::string_view body) {
  std::error_code ec;
  json::value v = protocol::parse_untrusted(body, settings_.limits.json_max_depth, ec);
  if (ec) return bad_request("the body is not valid JSON: " + ec.message());
  if (!v.is_object())
    return bad_request("the body must be an object: {\"socketIds\" or \"users\": …}");
  if (!routing::all_numbers_finite(v))
    return bad_request(std::string("the body ") + routing::kNonFiniteNumber);
  // Checked exactly as every server will read it from the bus.
  v.get_object()["t"] = "_disconnect";
  Result<routing::Envelope> e = routing::decode_envelope(json::serialize(v), limits_);
  if (!e) return bad_request(e.status().message());
  if (transport_.state != SWITCHBOARD_STATE_CONNECTED) return transport_down();
  if (!publisher_.disconnect(e->by_user, e->targets, e->reconnect)) return transport_refused(0);
  return published_answer(1);
}

Answer HttpApi::publish(std::string_view body) {
  std::error_code ec;
  json::value v = protocol::parse_untrusted(body, settings_.limits.json_max_depth + 1, ec);
  if (ec) return bad_request("the body is not valid JSON: " + ec.message());
  const bool many = v.is_array();
  if (!many && !v.is_object())
    return bad_request("the body must be one message object or an array of them");
  json::array one;
  json::array& items = many ? v.get_array() : one;
  if (!many) one.push_back(std::move(v));
  if (items.empty()) return bad_request("the array holds no message");
  if (items.size() > settings_.api.max_messages)
    return bad_request("the array holds " + std::to_string(items.size()) +
                       " messages, over api.max_messages (" +
                       std::to_string(settings_.api.max_messages) + ")");

  // Every message is checked as the servers would check it from the bus, before
  // any is published: a bad one costs the request, not half of it.
  std::vector<Message> messages;
  messages.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string where = many ? "message [" + std::to_string(i) + "]: " : std::string();
    if (!items[i].is_object()) return bad_request(where + "not a JSON object");
    // Checked before it is written out again: JSON has no text for infinity.
    if (!routing::all_numbers_finite(items[i]))
      return bad_request(where + "the message " + routing::kNonFiniteNumber);
    Result<routing::Envelope> e = routing::decode_envelope(json::serialize(items[i]), limits_);
    if (!e) return bad_request(where + e.status().message());
    const routing::Target t = e->target;
    if (t != routing::Target::kAll && t != routing::Target::kChannel &&
        t != routing::Target::kUser && t != routing::Target::kSocket)
      return bad_request(where + "\"t\" must be all, channel, user or socketId");
    Message m{std::move(e.value()), {}};
    if (json::value* p = items[i].get_object().if_contains("p")) m.params = std::move(p->get_array());
    messages.push_back(std::move(m));
  }

  if (transport_.state != SWITCHBOARD_STATE_CONNECTED) return transport_down();
  size_t published = 0;
  for (auto& m : messages) {
    bool ok = false;
    try {
      const auto& e = m.envelope;
      switch (e.target) {
        case routing::Target::kAll: ok = publisher_.publish_all(e.event, std::move(m.params)); break;
        case routing::Target::kChannel:
          ok = publisher_.publish_channel(Names(e.targets), e.event, std::move(m.params));
          break;
        case routing::Target::kUser:
          ok = publisher_.publish_user(Names(e.targets), e.event, std::move(m.params));
          break;
        default: ok = publisher_.publish_socket_id(e.targets.at(0), e.event, std::move(m.params));
      }
    } catch (const std::invalid_argument& ex) {
      // A bound only the publish path checks (the re-encoded message's size).
      const std::string where = many ? "message [" + std::to_string(published) + "]: " : "";
      return error_answer(400, "bad_request", where + ex.what(), published);
    }
    if (!ok) return transport_refused(published);
    ++published;
  }
  return published_answer(published);
}

Answer HttpApi::transport_down() const {
  return error_answer(503, "transport_unavailable",
                      "the transport (" + settings_.transport.use + ") is not connected");
}

Answer HttpApi::transport_refused(size_t published) const {
  return error_answer(503, "transport_unavailable",
                      "the transport (" + settings_.transport.use +
                          ") refused the message (down or backlogged)",
                      published);
}

}  // namespace switchboard::api
