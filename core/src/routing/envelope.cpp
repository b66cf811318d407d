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

}  // namespace

bool valid_channel_name(std::string_view name, size_t max_bytes) {
  return !name.empty() && name.size() <= max_bytes;
}

DecodeResult decode_envelope(std::string_view bytes, const DecodeLimits& limits, Envelope& out,
                             std::string& error) {
  if (bytes.size() > limits.max_bytes) {
    error = "message of " + std::to_string(bytes.size()) + " bytes exceeds the bus limit of " +
            std::to_string(limits.max_bytes);
    return DecodeResult::kMalformed;
  }
  json::parse_options opt;
  opt.max_depth = limits.max_depth;
  std::error_code ec;
  json::value v = json::parse(json::string_view(bytes.data(), bytes.size()), ec, {}, opt);
  if (ec) {
    error = "not JSON: " + ec.message();
    return DecodeResult::kMalformed;
  }
  if (!v.is_object()) {
    error = "not a JSON object";
    return DecodeResult::kMalformed;
  }
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
    const json::value* s = o.if_contains("s");
    const json::value* u = o.if_contains("u");
    const json::value* ch = o.if_contains("ch");
    if (s == nullptr || !s->is_string() || s->get_string().empty()) {
      error = "_session without \"s\"";
      return DecodeResult::kMalformed;
    }
    out.session_key = s->get_string();
    if (u != nullptr && u->is_string()) out.user.emplace(u->get_string());
    else if (u != nullptr && !u->is_null()) {
      error = "_session \"u\" must be a string or null";
      return DecodeResult::kMalformed;
    }
    if (ch == nullptr || !ch->is_array()) {
      error = "_session without \"ch\" array";
      return DecodeResult::kMalformed;
    }
    for (const auto& c : ch->get_array()) {
      if (!c.is_string() || !valid_channel_name(c.get_string(), limits.channel_name_bytes)) {
        error = "_session \"ch\" holds an invalid channel name";
        return DecodeResult::kMalformed;
      }
      out.channels.emplace_back(c.get_string());
    }
    if (const json::value* n = o.if_contains("n"); n != nullptr && n->is_string())
      out.nonce = n->get_string();
    // A rotation carries the new key and the sealed new id, both or neither.
    const json::value* k = o.if_contains("k");
    const json::value* x = o.if_contains("x");
    if (k != nullptr || x != nullptr) {
      constexpr size_t kMaxRotationField = 512;
      if (k == nullptr || !k->is_string() || k->get_string().empty() ||
          k->get_string().size() > kMaxRotationField || x == nullptr || !x->is_string() ||
          x->get_string().empty() || x->get_string().size() > kMaxRotationField) {
        error = "_session rotation needs non-empty strings \"k\" and \"x\"";
        return DecodeResult::kMalformed;
      }
      out.new_session_key = k->get_string();
      out.sealed_id = x->get_string();
    }
    return DecodeResult::kOk;
  }
  if (!type.empty() && type.front() == '_') return DecodeResult::kIgnored;

  const json::value* e = o.if_contains("e");
  if (e == nullptr || !e->is_string() || e->get_string().empty()) {
    error = "missing non-empty string \"e\" (event name)";
    return DecodeResult::kMalformed;
  }
  out.event = e->get_string();
  const json::value* p = o.if_contains("p");
  if (p == nullptr) {
    out.params_json = "[]";
  } else if (p->is_array()) {
    if (!all_numbers_finite(*p)) {
      error = std::string("\"p\" ") + kNonFiniteNumber;
      return DecodeResult::kMalformed;
    }
    out.params_json = json::serialize(*p);
  } else {
    error = "\"p\" must be an array";
    return DecodeResult::kMalformed;
  }

  bool ok = true;
  if (type == "all") {
    out.target = Target::kAll;
  } else if (type == "channel") {
    out.target = Target::kChannel;
    ok = read_names(o, "channels", limits.channel_name_bytes, limits.max_targets, true, out.targets,
                    error);
  } else if (type == "user") {
    out.target = Target::kUser;
    ok = read_names(o, "users", limits.user_id_bytes, limits.max_targets, true, out.targets,
                    error);
  } else if (type == "socketId") {
    out.target = Target::kSocket;
    const json::value* s = o.if_contains("socketId");
    if (s == nullptr || !s->is_string() || s->get_string().empty()) {
      ok = fail(error, "missing string \"socketId\"");
    } else {
      out.targets.emplace_back(s->get_string());
    }
  } else {
    ok = fail(error, "unknown target type \"" + std::string(type) + "\"");
  }
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
