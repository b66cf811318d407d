#include "routing/envelope.hpp"

#include <algorithm>
#include <unordered_set>

#include <boost/json.hpp>

#include "protocol/json_text.hpp"
#include "routing/finite_numbers.hpp"

namespace switchboard::routing {
namespace json = boost::json;

namespace {

// Every decoding error: the message names what is wrong.
Status invalid(std::string msg) { return Status(StatusCode::kInvalid, std::move(msg)); }

// Reads a non-empty array of non-empty strings (or one string), de-duplicated in
// order of first appearance. Linear: the set holds views into the parsed value,
// and the list is capped before any of it is read.
Status read_names(const json::object& o, const char* key, size_t max_bytes, size_t max_names,
                  bool allow_single, std::vector<std::string>& out) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return invalid(std::string("missing \"") + key + "\"");
  std::unordered_set<std::string_view> seen;
  auto take = [&](const json::value& e) {
    if (!e.is_string()) return invalid(std::string("\"") + key + "\" must hold strings");
    std::string_view s = e.get_string();
    if (s.empty() || s.size() > max_bytes)
      return invalid(std::string("a name in \"") + key + "\" is empty or longer than " +
                             std::to_string(max_bytes) + " bytes");
    if (seen.insert(s).second) out.emplace_back(s);
    return Status::ok();
  };
  if (allow_single && v->is_string()) return take(*v);
  if (!v->is_array()) return invalid(std::string("\"") + key + "\" must be an array");
  const auto& names = v->get_array();
  if (names.size() > max_names)
    return invalid(std::string("\"") + key + "\" lists " + std::to_string(names.size()) +
                           " names, over the limit of " + std::to_string(max_names) +
                           " (limits.max_bus_targets)");
  seen.reserve(names.size());
  out.reserve(names.size());
  for (const auto& e : names)
    if (Status bad = take(e); !bad) return bad;
  if (out.empty()) return invalid(std::string("\"") + key + "\" is empty");
  return Status::ok();
}

// Parses the bytes as one JSON object, within the size and depth limits (the bus is untrusted).
Status parse_object(std::string_view bytes, const DecodeLimits& limits, json::value& v) {
  if (bytes.size() > limits.max_bytes)
    return invalid("message of " + std::to_string(bytes.size()) +
                           " bytes exceeds the bus limit of " + std::to_string(limits.max_bytes));
  std::error_code ec;
  v = protocol::parse_untrusted(bytes, limits.max_depth, ec);
  if (ec) return invalid("not JSON: " + ec.message());
  if (!v.is_object()) return invalid("not a JSON object");
  return Status::ok();
}

// Reads a _session binding: key "s" (non-empty), user "u" (string or null), channels "ch", "n".
Status read_session_binding(const json::object& o, size_t channel_name_bytes, Envelope& out) {
  const json::value* s = o.if_contains("s");
  const json::value* u = o.if_contains("u");
  const json::value* ch = o.if_contains("ch");
  if (s == nullptr || !s->is_string() || s->get_string().empty())
    return invalid("_session without \"s\"");
  out.session_key = s->get_string();
  if (u != nullptr && u->is_string()) out.user.emplace(u->get_string());
  else if (u != nullptr && !u->is_null())
    return invalid("_session \"u\" must be a string or null");
  if (ch == nullptr || !ch->is_array()) return invalid("_session without \"ch\" array");
  for (const auto& c : ch->get_array()) {
    if (!c.is_string() || !valid_channel_name(c.get_string(), channel_name_bytes))
      return invalid("_session \"ch\" holds an invalid channel name");
    out.channels.emplace_back(c.get_string());
  }
  if (const json::value* n = o.if_contains("n"); n != nullptr && n->is_string())
    out.nonce = n->get_string();
  return Status::ok();
}

// Reads a rotation's new key "k" and sealed new id "x": both or neither, each 1 to 512 bytes.
Status read_rotation(const json::object& o, Envelope& out) {
  const json::value* k = o.if_contains("k");
  const json::value* x = o.if_contains("x");
  if (k == nullptr && x == nullptr) return Status::ok();
  constexpr size_t kMaxRotationField = 512;
  if (k == nullptr || !k->is_string() || k->get_string().empty() ||
      k->get_string().size() > kMaxRotationField || x == nullptr || !x->is_string() ||
      x->get_string().empty() || x->get_string().size() > kMaxRotationField)
    return invalid("_session rotation needs non-empty strings \"k\" and \"x\"");
  out.new_session_key = k->get_string();
  out.sealed_id = x->get_string();
  return Status::ok();
}

// Reads a publish's event name "e" (non-empty) and arguments "p" (a finite array; absent: []).
Status read_event(const json::object& o, Envelope& out) {
  const json::value* e = o.if_contains("e");
  if (e == nullptr || !e->is_string() || e->get_string().empty())
    return invalid("missing non-empty string \"e\" (event name)");
  out.event = e->get_string();
  const json::value* p = o.if_contains("p");
  if (p == nullptr) {
    out.params_json = "[]";
    return Status::ok();
  }
  if (!p->is_array()) return invalid("\"p\" must be an array");
  if (!all_numbers_finite(*p)) return invalid(std::string("\"p\" ") + kNonFiniteNumber);
  out.params_json = json::serialize(*p);
  return Status::ok();
}

// Reads a publish's target by its type "t": none for "all", else the names its type lists.
Status read_target(const json::object& o, std::string_view type, const DecodeLimits& limits,
                   Envelope& out) {
  if (type == "all") {
    out.target = Target::kAll;
    return Status::ok();
  }
  if (type == "channel") {
    out.target = Target::kChannel;
    return read_names(o, "channels", limits.channel_name_bytes, limits.max_targets, true,
                      out.targets);
  }
  if (type == "user") {
    out.target = Target::kUser;
    return read_names(o, "users", limits.user_id_bytes, limits.max_targets, true, out.targets);
  }
  if (type == "socketId") {
    out.target = Target::kSocket;
    const json::value* s = o.if_contains("socketId");
    if (s == nullptr || !s->is_string() || s->get_string().empty())
      return invalid("missing string \"socketId\"");
    out.targets.emplace_back(s->get_string());
    return Status::ok();
  }
  return invalid("unknown target type \"" + std::string(type) + "\"");
}

// Reads a _disconnect order: exactly one of "users" and "socketIds" (a name or a
// non-empty list), and "reconnect" (a boolean, default true).
Status read_disconnect(const json::object& o, const DecodeLimits& limits, Envelope& out) {
  out.target = Target::kDisconnect;
  const bool users = o.contains("users");
  if (users == o.contains("socketIds"))
    return invalid("_disconnect needs exactly one of \"users\" and \"socketIds\"");
  out.by_user = users;
  if (Status bad = read_names(o, users ? "users" : "socketIds",
                              users ? limits.user_id_bytes : limits.channel_name_bytes,
                              limits.max_targets, true, out.targets);
      !bad)
    return bad;
  if (const json::value* r = o.if_contains("reconnect")) {
    if (!r->is_bool()) return invalid("_disconnect \"reconnect\" must be true or false");
    out.reconnect = r->get_bool();
  }
  return Status::ok();
}

}  // namespace

bool valid_channel_name(std::string_view name, size_t max_bytes) {
  return !name.empty() && name.size() <= max_bytes;
}

Result<Envelope> decode_envelope(std::string_view bytes, const DecodeLimits& limits) {
  json::value v;
  if (Status bad = parse_object(bytes, limits, v); !bad) return bad;
  const auto& o = v.get_object();
  const json::value* t = o.if_contains("t");
  if (t == nullptr || !t->is_string()) return invalid("missing string \"t\"");
  std::string_view type = t->get_string();
  Envelope out;
  if (type == "_session") {
    out.target = Target::kSession;
    if (Status bad = read_session_binding(o, limits.channel_name_bytes, out); !bad) return bad;
    if (Status bad = read_rotation(o, out); !bad) return bad;
    return out;
  }
  if (type == "_disconnect") {
    if (Status bad = read_disconnect(o, limits, out); !bad) return bad;
    return out;
  }
  // An internal type of a later version: dropped silently (forward compatibility).
  if (!type.empty() && type.front() == '_') {
    out.target = Target::kIgnored;
    return out;
  }
  // The event first: of a message wrong in both, its event's error is the one logged.
  if (Status bad = read_event(o, out); !bad) return bad;
  if (Status bad = read_target(o, type, limits, out); !bad) return bad;
  return out;
}

std::string encode_publish(Target target, const std::vector<std::string>& targets,
                           std::string_view event, const json::array& params) {
  json::object o;
  switch (target) {
    case Target::kAll: o["t"] = "all"; break;
    case Target::kChannel: {
      o["t"] = "channel";
      json::array a;
      for (const auto& c : targets) a.emplace_back(c);
      o["channels"] = std::move(a);
      break;
    }
    case Target::kUser: {
      o["t"] = "user";
      json::array a;
      for (const auto& u : targets) a.emplace_back(u);
      o["users"] = std::move(a);
      break;
    }
    case Target::kSocket:
      o["t"] = "socketId";
      o["socketId"] = targets.empty() ? std::string() : targets.front();
      break;
    case Target::kSession:
    case Target::kDisconnect:
    case Target::kIgnored: break;  // not published through here
  }
  o["e"] = event;
  o["p"] = params;
  return json::serialize(o);
}

std::string encode_disconnect(bool by_user, const std::vector<std::string>& targets,
                              bool reconnect) {
  json::array a;
  for (const auto& t : targets) a.emplace_back(t);
  json::object o;
  o["t"] = "_disconnect";
  o[by_user ? "users" : "socketIds"] = std::move(a);
  o["reconnect"] = reconnect;
  return json::serialize(o);
}

std::string encode_session_sync(std::string_view session_key, const std::optional<std::string>& user,
                                const std::vector<std::string>& channels, std::string_view nonce) {
  return encode_session_rotate(session_key, {}, {}, user, channels, nonce);
}

std::string encode_session_rotate(std::string_view old_key, std::string_view new_key,
                                  std::string_view sealed_id, const std::optional<std::string>& user,
                                  const std::vector<std::string>& channels, std::string_view nonce) {
  json::object o;
  o["t"] = "_session";
  o["s"] = old_key;
  if (!new_key.empty()) {
    o["k"] = new_key;
    o["x"] = sealed_id;
  }
  o["u"] = user ? json::value(*user) : json::value(nullptr);
  json::array ch;
  for (const auto& c : channels) ch.emplace_back(c);
  o["ch"] = std::move(ch);
  if (!nonce.empty()) o["n"] = nonce;
  return json::serialize(o);
}

}  // namespace switchboard::routing
