#include "routing/envelope.hpp"

#include <algorithm>
#include <unordered_set>

#include <boost/json.hpp>

#include "routing/finite_numbers.hpp"

namespace switchboard::routing {
namespace json = boost::json;

namespace {

bool fail(std::string& error, std::string msg) {
  error = std::move(msg);
  return false;
}

// Reads a non-empty array of non-empty strings (or one string), de-duplicated in
// order of first appearance. Linear: the set holds views into the parsed value,
// and the list is capped before any of it is read.
bool read_names(const json::object& o, const char* key, size_t max_bytes, size_t max_names,
                bool allow_single, std::vector<std::string>& out, std::string& error) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return fail(error, std::string("missing \"") + key + "\"");
  std::unordered_set<std::string_view> seen;
  auto take = [&](const json::value& e) {
    if (!e.is_string()) return fail(error, std::string("\"") + key + "\" must hold strings");
    std::string_view s = e.get_string();
    if (s.empty() || s.size() > max_bytes)
      return fail(error, std::string("a name in \"") + key + "\" is empty or longer than " +
                             std::to_string(max_bytes) + " bytes");
    if (seen.insert(s).second) out.emplace_back(s);
    return true;
  };
  if (allow_single && v->is_string()) return take(*v);
  if (!v->is_array()) return fail(error, std::string("\"") + key + "\" must be an array");
  const auto& names = v->get_array();
  if (names.size() > max_names)
    return fail(error, std::string("\"") + key + "\" lists " + std::to_string(names.size()) +
                           " names, over the limit of " + std::to_string(max_names) +
                           " (limits.max_bus_targets)");
  seen.reserve(names.size());
  out.reserve(names.size());
  for (const auto& e : names)
    if (!take(e)) return false;
  if (out.empty()) return fail(error, std::string("\"") + key + "\" is empty");
  return true;
}

// Parses the bytes as one JSON object, within the size and depth limits (the bus is untrusted).
bool parse_object(std::string_view bytes, const DecodeLimits& limits, json::value& v,
                  std::string& error) {
  if (bytes.size() > limits.max_bytes)
    return fail(error, "message of " + std::to_string(bytes.size()) +
                           " bytes exceeds the bus limit of " + std::to_string(limits.max_bytes));
  json::parse_options opt;
  opt.max_depth = limits.max_depth;
  std::error_code ec;
  v = json::parse(json::string_view(bytes.data(), bytes.size()), ec, {}, opt);
  if (ec) return fail(error, "not JSON: " + ec.message());
  if (!v.is_object()) return fail(error, "not a JSON object");
  return true;
}

// Reads a _session binding: key "s" (non-empty), user "u" (string or null), channels "ch", "n".
bool read_session_binding(const json::object& o, size_t channel_name_bytes, Envelope& out,
                          std::string& error) {
  const json::value* s = o.if_contains("s");
  const json::value* u = o.if_contains("u");
  const json::value* ch = o.if_contains("ch");
  if (s == nullptr || !s->is_string() || s->get_string().empty())
    return fail(error, "_session without \"s\"");
  out.session_key = s->get_string();
  if (u != nullptr && u->is_string()) out.user.emplace(u->get_string());
  else if (u != nullptr && !u->is_null())
    return fail(error, "_session \"u\" must be a string or null");
  if (ch == nullptr || !ch->is_array()) return fail(error, "_session without \"ch\" array");
  for (const auto& c : ch->get_array()) {
    if (!c.is_string() || !valid_channel_name(c.get_string(), channel_name_bytes))
      return fail(error, "_session \"ch\" holds an invalid channel name");
    out.channels.emplace_back(c.get_string());
  }
  if (const json::value* n = o.if_contains("n"); n != nullptr && n->is_string())
    out.nonce = n->get_string();
  return true;
}

// Reads a rotation's new key "k" and sealed new id "x": both or neither, each 1 to 512 bytes.
bool read_rotation(const json::object& o, Envelope& out, std::string& error) {
  const json::value* k = o.if_contains("k");
  const json::value* x = o.if_contains("x");
  if (k == nullptr && x == nullptr) return true;
  constexpr size_t kMaxRotationField = 512;
  if (k == nullptr || !k->is_string() || k->get_string().empty() ||
      k->get_string().size() > kMaxRotationField || x == nullptr || !x->is_string() ||
      x->get_string().empty() || x->get_string().size() > kMaxRotationField)
    return fail(error, "_session rotation needs non-empty strings \"k\" and \"x\"");
  out.new_session_key = k->get_string();
  out.sealed_id = x->get_string();
  return true;
}

// Reads a publish's event name "e" (non-empty) and arguments "p" (a finite array; absent: []).
bool read_event(const json::object& o, Envelope& out, std::string& error) {
  const json::value* e = o.if_contains("e");
  if (e == nullptr || !e->is_string() || e->get_string().empty())
    return fail(error, "missing non-empty string \"e\" (event name)");
  out.event = e->get_string();
  const json::value* p = o.if_contains("p");
  if (p == nullptr) {
    out.params_json = "[]";
    return true;
  }
  if (!p->is_array()) return fail(error, "\"p\" must be an array");
  if (!all_numbers_finite(*p)) return fail(error, std::string("\"p\" ") + kNonFiniteNumber);
  out.params_json = json::serialize(*p);
  return true;
}

// Reads a publish's target by its type "t": none for "all", else the names its type lists.
bool read_target(const json::object& o, std::string_view type, const DecodeLimits& limits,
                 Envelope& out, std::string& error) {
  if (type == "all") {
    out.target = Target::kAll;
    return true;
  }
  if (type == "channel") {
    out.target = Target::kChannel;
    return read_names(o, "channels", limits.channel_name_bytes, limits.max_targets, true,
                      out.targets, error);
  }
  if (type == "user") {
    out.target = Target::kUser;
    return read_names(o, "users", limits.user_id_bytes, limits.max_targets, true, out.targets,
                      error);
  }
  if (type == "socketId") {
    out.target = Target::kSocket;
    const json::value* s = o.if_contains("socketId");
    if (s == nullptr || !s->is_string() || s->get_string().empty())
      return fail(error, "missing string \"socketId\"");
    out.targets.emplace_back(s->get_string());
    return true;
  }
  return fail(error, "unknown target type \"" + std::string(type) + "\"");
}

}  // namespace

bool valid_channel_name(std::string_view name, size_t max_bytes) {
  return !name.empty() && name.size() <= max_bytes;
}

DecodeResult decode_envelope(std::string_view bytes, const DecodeLimits& limits, Envelope& out,
                             std::string& error) {
  json::value v;
  if (!parse_object(bytes, limits, v, error)) return DecodeResult::kMalformed;
  const auto& o = v.get_object();
  const json::value* t = o.if_contains("t");
  if (t == nullptr || !t->is_string()) {
    error = "missing string \"t\"";
    return DecodeResult::kMalformed;
  }
  std::string_view type = t->get_string();
  out = Envelope{};
  if (type == "_session") {
    out.target = Target::kSession;
    bool ok = read_session_binding(o, limits.channel_name_bytes, out, error) &&
              read_rotation(o, out, error);
    return ok ? DecodeResult::kOk : DecodeResult::kMalformed;
  }
  // An internal type of a later version: dropped silently (forward compatibility).
  if (!type.empty() && type.front() == '_') return DecodeResult::kIgnored;
  // The event first: of a message wrong in both, its event's error is the one logged.
  bool ok = read_event(o, out, error) && read_target(o, type, limits, out, error);
  return ok ? DecodeResult::kOk : DecodeResult::kMalformed;
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
    case Target::kSession: break;
  }
  o["e"] = event;
  o["p"] = params;
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
