#include "config/validate.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <set>
#include <thread>

#include "config/raw_config.hpp"

namespace switchboard::config {
namespace {

// A validated value: scalars normalised to text, lists as their elements.
struct Value {
  std::string scalar;
  std::vector<std::string> list;
  std::string origin;  // EffectiveValue::origin
};
using SectionValues = std::map<std::string, Value>;

[[noreturn]] void fail(const std::string& source, const std::string& where,
                       const std::string& what) {
  throw ConfigError(source + ": key '" + where + "': " + what);
}

// The text of a mapping key. YAML allows a list or a mapping as a key ("? [a]: 1",
// "{[a]: 1}"); as<std::string>() would throw a bare "yaml-cpp: bad conversion",
// so such keys are refused here with the file and the enclosing section named.
std::string key_text(const YAML::Node& key, const std::string& source, const std::string& in) {
  if (key.IsNull()) return "null";  // "~: 1" / "null: 1": reported as the unknown key 'null'
  if (!key.IsScalar())
    throw ConfigError(source + ": " +
                      (in.empty() ? std::string("a top-level key") : "a key in '" + in + "'") +
                      " is a YAML " + (key.IsSequence() ? "list" : "mapping") +
                      ", expected a plain name");
  return key.Scalar();
}

Value check_value(const KeySpec& spec, const YAML::Node& node, const std::string& source,
                  const std::string& where) {
  Value v;
  if (spec.type == SWITCHBOARD_CONFIG_STRING_LIST) {
    if (node.IsNull()) return v;
    if (node.IsScalar()) {  // one string is a list of one
      v.list.push_back(expand_env(node.Scalar()));
      return v;
    }
    if (!node.IsSequence()) fail(source, where, "expected a list of strings");
    for (const auto& e : node) {
      if (!e.IsScalar()) fail(source, where, "expected a list of strings");
      v.list.push_back(expand_env(e.Scalar()));
    }
    return v;
  }
  if (node.IsNull() && spec.type == SWITCHBOARD_CONFIG_STRING) return v;  // `key:` or "" = empty
  if (!node.IsScalar()) fail(source, where, std::string("expected a ") + type_name(spec.type));
  std::string text = expand_env(node.Scalar());
  switch (spec.type) {
    case SWITCHBOARD_CONFIG_STRING: v.scalar = text; break;
    case SWITCHBOARD_CONFIG_INT: {
      char* end = nullptr;
      errno = 0;
      long long n = std::strtoll(text.c_str(), &end, 10);
      if (text.empty() || *end != '\0' || errno == ERANGE || n < 0)
        fail(source, where, "expected a non-negative integer, got '" + text + "'");
      v.scalar = std::to_string(n);
      break;
    }
    case SWITCHBOARD_CONFIG_BOOL:
      if (text == "true" || text == "yes" || text == "on") v.scalar = "true";
      else if (text == "false" || text == "no" || text == "off") v.scalar = "false";
      else fail(source, where, "expected true or false, got '" + text + "'");
      break;
    case SWITCHBOARD_CONFIG_DURATION: {
      long long ms = 0;
      bool too_large = false;
      if (!parse_duration(text, ms, &too_large))
        fail(source, where,
             too_large ? "duration '" + text + "' is too large (at most 36500d, 100 years)"
                       : "expected a duration such as 500ms, 30s, 5m, 2h, 7d; got '" + text + "'");
      v.scalar = std::to_string(ms);
      break;
    }
    default: fail(source, where, "unsupported type");
  }
  return v;
}

SectionValues check_section(const SectionSpec& spec, const YAML::Node& node,
                            const std::string& source) {
  if (node && !node.IsNull() && !node.IsMap())
    fail(source, spec.name, "expected a mapping of keys");
  if (node && node.IsMap()) {
    for (const auto& kv : node) {
      std::string key = key_text(kv.first, source, spec.name);
      bool known = false;
      for (const auto& k : spec.keys) known = known || k.key == key;
      if (!known) throw ConfigError(source + ": unknown key '" + spec.name + "." + key + "'");
    }
  }
  SectionValues out;
  for (const auto& k : spec.keys) {
    std::string where = spec.name + "." + k.key;
    std::string env = env_name(spec.name, k.key);
    if (const char* e = std::getenv(env.c_str())) {
      YAML::Node n;
      try {
        n = YAML::Load(e);
      } catch (const YAML::Exception&) {
        n = YAML::Node(std::string(e));
      }
      if (k.type != SWITCHBOARD_CONFIG_STRING_LIST && !n.IsScalar()) n = YAML::Node(std::string(e));
      out[k.key] = check_value(k, n, "environment " + env, where);
      out[k.key].origin = "environment " + env;
    } else if (node && node.IsMap() && node[k.key]) {
      out[k.key] = check_value(k, node[k.key], source, where);
      out[k.key].origin = source;
    } else if (k.required) {
      throw ConfigError(source + ": missing required key '" + where + "'");
    } else {
      // Scalar defaults are literal text ("ss:" must not become a mapping).
      YAML::Node def(k.default_value);
      if (k.type == SWITCHBOARD_CONFIG_STRING_LIST) {
        // A plugin's declared default is YAML text too: a typo there must not
        // escape as a bare yaml-cpp exception.
        try {
          def = YAML::Load(k.default_value);
        } catch (const YAML::Exception& e) {
          fail("<built-in default>", where, std::string("not a valid YAML list: ") + e.what());
        }
      }
      out[k.key] = check_value(k, def, "<built-in default>", where);
      out[k.key].origin = "default";
    }
  }
  return out;
}

uint64_t as_u64(const SectionValues& v, const char* key) { return std::stoull(v.at(key).scalar); }

uint32_t as_u32(const SectionValues& v, const char* key, const std::string& source,
                const std::string& section, uint32_t min = 0) {
  uint64_t n = as_u64(v, key);
  if (n > UINT32_MAX || n < min)
    fail(source, section + "." + key,
         "out of range (" + std::to_string(min) + ".." + std::to_string(UINT32_MAX) + ")");
  return static_cast<uint32_t>(n);
}

void parse_listen(const std::string& text, Settings::Server& s, const std::string& source) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos) fail(source, "server.listen", "expected HOST:PORT, got '" + text + "'");
  s.listen_host = text.substr(0, colon);
  if (s.listen_host.size() >= 2 && s.listen_host.front() == '[' && s.listen_host.back() == ']')
    s.listen_host = s.listen_host.substr(1, s.listen_host.size() - 2);
  std::string port = text.substr(colon + 1);
  char* end = nullptr;
  long p = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || p < 0 || p > 65535)
    fail(source, "server.listen", "bad port in '" + text + "'");
  s.listen_port = static_cast<uint16_t>(p);
}

void add_effective(const SectionSpec& spec, const SectionValues& values,
                   std::vector<EffectiveValue>* effective) {
  if (effective == nullptr) return;
  for (const auto& k : spec.keys) {
    const Value& v = values.at(k.key);
    effective->push_back({spec.name, k,
                          k.type == SWITCHBOARD_CONFIG_STRING_LIST ? v.list
                                                                   : std::vector<std::string>{v.scalar},
                          v.origin});
  }
}

const SectionSpec* find_section(const std::vector<SectionSpec>& all, const std::string& name) {
  for (const auto& s : all)
    if (s.name == name) return &s;
  return nullptr;
}

}  // namespace

std::string expand_env(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '$' && i + 1 < s.size() && s[i + 1] == '{') {
      auto end = s.find('}', i + 2);
      if (end != std::string::npos) {
        const char* v = std::getenv(s.substr(i + 2, end - i - 2).c_str());
        if (v) out += v;
        i = end;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

std::string env_name(const std::string& section, const std::string& key) {
  std::string env = "SWITCHBOARD_";
  for (char c : section + "_" + key)
    env += (c == '.' || c == '-') ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return env;
}

bool parse_duration(const std::string& text, long long& ms, bool* too_large) {
  if (too_large) *too_large = false;
  // Digits are accumulated with a cap instead of stoll: any count above the
  // maximum is too large whatever the unit, and the cap keeps n * unit below
  // LLONG_MAX (999999999999d used to overflow, 213503982335d to wrap to hours).
  size_t i = 0;
  long long n = 0;
  bool over = false;
  for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
    if (!over) n = n * 10 + (text[i] - '0');
    over = over || n > kMaxDurationMs;
  }
  if (i == 0) return false;
  std::string unit = text.substr(i);
  long long per = 0;
  if (unit == "ms") per = 1;
  else if (unit == "s") per = 1000;
  else if (unit == "m") per = 60000;
  else if (unit == "h") per = 3600000;
  else if (unit == "d") per = 86400000;
  else if (unit.empty() && n == 0 && !over) per = 1;
  else return false;
  if (over || n > kMaxDurationMs / per) {
    if (too_large) *too_large = true;
    return false;
  }
  ms = n * per;
  return true;
}

PluginChoice plugin_choice(const Config& config) {
  const auto& raw = detail::ConfigAccess::tree(config);
  PluginChoice c;
  for (const auto& name : {"transport", "session", "plugins"}) {
    const SectionSpec* spec = find_section(core_schema(), name);
    auto values = check_section(*spec, raw.root[name], raw.source);
    if (std::string(name) == "transport") c.transport = values.at("use").scalar;
    if (std::string(name) == "session") c.store = values.at("store").scalar;
    if (std::string(name) == "plugins") c.dir = values.at("dir").scalar;
  }
  for (const auto& kv : raw.root) {
    std::string key = key_text(kv.first, raw.source, "");
    if (!find_section(core_schema(), key)) c.other_sections.push_back(key);
  }
  return c;
}

Settings validate(const Config& config, const std::vector<SectionSpec>& plugin_sections,
                  std::vector<EffectiveValue>* effective) {
  const auto& raw = detail::ConfigAccess::tree(config);
  const std::string& src = raw.source;
  for (const auto& kv : raw.root) {
    std::string key = key_text(kv.first, src, "");
    if (!find_section(core_schema(), key) && !find_section(plugin_sections, key))
      throw ConfigError(src + ": unknown key '" + key +
                        "' (not a core section and no loaded plugin has that name)");
  }
  std::map<std::string, SectionValues> v;
  for (const auto& s : core_schema()) v[s.name] = check_section(s, raw.root[s.name], src);

  Settings st;
  auto& sv = v["server"];
  parse_listen(sv.at("listen").scalar, st.server, src);
  const std::string& threads = sv.at("threads").scalar;
  if (threads == "auto") {
    st.server.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  } else {
    char* end = nullptr;
    long n = std::strtol(threads.c_str(), &end, 10);
    if (threads.empty() || *end != '\0' || n < 1 || n > 256)
      fail(src, "server.threads", "expected auto or 1..256, got '" + threads + "'");
    st.server.threads = static_cast<int>(n);
  }
  st.server.allowed_origins = sv.at("allowed_origins").list;
  st.server.static_dir = sv.at("static_dir").scalar;
  st.server.static_follow_symlinks = sv.at("static_follow_symlinks").scalar == "true";
  st.server.handshake_timeout = Millis(std::stoll(sv.at("handshake_timeout").scalar));
  st.server.idle_timeout = Millis(std::stoll(sv.at("idle_timeout").scalar));
  st.server.shutdown_timeout = Millis(std::stoll(sv.at("shutdown_timeout").scalar));
  st.server.write_interval = Millis(std::stoll(sv.at("write_interval").scalar));
  if (st.server.write_interval > Millis(1000))
    fail(src, "server.write_interval", "must be at most 1s");
  st.server.keepalive_requests = as_u32(sv, "keepalive_requests", src, "server", 1);
  st.server.keepalive_timeout = Millis(std::stoll(sv.at("keepalive_timeout").scalar));
  if (st.server.keepalive_timeout.count() < 1)
    fail(src, "server.keepalive_timeout", "must be at least 1ms");

  st.server.tls_cert = sv.at("tls_cert").scalar;
  st.server.tls_key = sv.at("tls_key").scalar;
  if (st.server.tls_cert.empty() != st.server.tls_key.empty())
    fail(src, st.server.tls_cert.empty() ? "server.tls_cert" : "server.tls_key",
         "server.tls_cert and server.tls_key go together (both set: TLS; both empty: plain HTTP)");

  auto& se = v["session"];
  st.session.store = se.at("store").scalar;
  st.session.cookie = se.at("cookie").scalar;
  if (st.session.cookie.empty() ||
      st.session.cookie.find_first_of(" ;=,\t\"") != std::string::npos)
    fail(src, "session.cookie", "not a valid cookie name");
  st.session.ttl = Millis(std::stoll(se.at("ttl").scalar));
  if (st.session.ttl.count() < 1000) fail(src, "session.ttl", "must be at least 1s");
  st.session.secret = se.at("secret").scalar;
  // A cookie set over TLS is sent back over TLS only.
  st.session.cookie_secure = se.at("cookie_secure").scalar == "true" || st.server.tls();
  st.session.cookie_max_age = Millis(std::stoll(se.at("cookie_max_age").scalar));
  if (st.session.cookie_max_age.count() % 1000 != 0)
    fail(src, "session.cookie_max_age", "must be whole seconds (Max-Age counts seconds)");
  st.session.claim_ttl = Millis(std::stoll(se.at("claim_ttl").scalar));
  if (st.session.claim_ttl.count() < 1 || st.session.claim_ttl.count() > 3600 * 1000)
    fail(src, "session.claim_ttl", "must be between 1ms and 1h");
  st.transport.use = v["transport"].at("use").scalar;
  st.plugins.dir = v["plugins"].at("dir").scalar;

  auto& li = v["limits"];
  const std::string l = "limits";
  st.limits.max_message_bytes = as_u32(li, "max_message_bytes", src, l, 256);
  st.limits.send_queue_bytes = as_u64(li, "send_queue_bytes");
  if (st.limits.send_queue_bytes < 1024) fail(src, "limits.send_queue_bytes", "must be at least 1024");
  st.limits.channels_per_session = as_u32(li, "channels_per_session", src, l, 1);
  st.limits.channel_name_bytes = as_u32(li, "channel_name_bytes", src, l, 1);
  st.limits.user_id_bytes = as_u32(li, "user_id_bytes", src, l, 1);
  st.limits.sessions_per_user = as_u32(li, "sessions_per_user", src, l, 1);
  if (st.limits.sessions_per_user > 10000)
    fail(src, "limits.sessions_per_user", "out of range (1..10000)");
  st.limits.rpc_per_second = as_u32(li, "rpc_per_second", src, l, 1);
  st.limits.max_connections = as_u32(li, "max_connections", src, l, 1);
  st.limits.max_connections_per_ip = as_u32(li, "max_connections_per_ip", src, l, 1);
  st.limits.json_max_depth = as_u32(li, "json_max_depth", src, l, 2);
  st.limits.max_bus_message_bytes = as_u64(li, "max_bus_message_bytes");
  st.limits.max_bus_targets = as_u32(li, "max_bus_targets", src, l, 1);
  st.limits.max_bus_expansion_bytes = as_u64(li, "max_bus_expansion_bytes");
  if (st.limits.max_bus_expansion_bytes < 4096)
    fail(src, "limits.max_bus_expansion_bytes", "must be at least 4096");
  st.limits.new_sessions_per_ip = as_u32(li, "new_sessions_per_ip", src, l, 1);
  st.limits.new_sessions_per_second = as_u32(li, "new_sessions_per_second", src, l, 1);
  st.limits.session_channel_bytes = as_u32(li, "session_channel_bytes", src, l, 1);
  st.limits.session_data_bytes = as_u32(li, "session_data_bytes", src, l, 1);
  st.limits.control_queue = as_u32(li, "control_queue", src, l, 1);
  st.limits.loop_inbox = as_u32(li, "loop_inbox", src, l, 1);

  auto& api = v["api"];
  st.api.keys = api.at("keys").list;
  for (const auto& key : st.api.keys)
    if (key.size() < 16 || key.find_first_of(" \t\r\n") != std::string::npos)
      fail(src, "api.keys",
           "each key must be at least 16 characters without spaces (a guessable key "
           "lets anyone publish)");
  st.api.max_body_bytes = as_u64(api, "max_body_bytes");
  if (st.api.max_body_bytes < 1024 || st.api.max_body_bytes > (uint64_t{64} << 20))
    fail(src, "api.max_body_bytes", "must be between 1024 and 67108864");
  st.api.max_messages = as_u32(api, "max_messages", src, "api", 1);
  st.api.requests_per_second = as_u32(api, "requests_per_second", src, "api", 1);
  {
    // A session change is announced on the bus as one _session message with the
    // user id and every channel name; if the largest possible one does not fit
    // max_bus_message_bytes, the last subscribes of a full session would time out
    // (transport_unavailable) and its other connections keep stale channels.
    // Worst case: 6 bytes per name byte (a control character is a 6-byte JSON
    // escape), 3 per name ("",), the user id likewise, plus the envelope's fixed
    // fields.
    constexpr uint64_t kEnvelopeBytes = 512;
    const auto& lim = st.limits;
    uint64_t names = std::min<uint64_t>(lim.session_channel_bytes,
                                        uint64_t(lim.channels_per_session) * lim.channel_name_bytes);
    uint64_t worst = 6 * names + 3 * uint64_t(lim.channels_per_session) +
                     6 * uint64_t(lim.user_id_bytes) + kEnvelopeBytes;
    if (worst > lim.max_bus_message_bytes)
      throw ConfigError(src + ": a full session's announcement can reach " +
                        std::to_string(worst) + " bytes, over limits.max_bus_message_bytes (" +
                        std::to_string(lim.max_bus_message_bytes) +
                        "): lower limits.session_channel_bytes, limits.channels_per_session or "
                        "limits.user_id_bytes, or raise limits.max_bus_message_bytes");
  }
  auto& tk = v["token"];
  st.token.hs256_secrets = tk.at("hs256_secrets").list;
  st.token.public_keys = tk.at("public_keys").list;
  if (st.token.hs256_secrets.size() > 8) fail(src, "token.hs256_secrets", "at most 8 keys");
  if (st.token.public_keys.size() > 8) fail(src, "token.public_keys", "at most 8 keys");
  for (const auto& key : st.token.hs256_secrets)
    if (key.size() < 32)
      fail(src, "token.hs256_secrets",
           "each key must be at least 32 bytes (a short HMAC key can be guessed offline "
           "from one token)");
  st.token.issuer = tk.at("issuer").scalar;
  st.token.audience = tk.at("audience").scalar;
  st.token.leeway = Millis(std::stoll(tk.at("leeway").scalar));
  if (st.token.leeway > Millis(300000)) fail(src, "token.leeway", "must be at most 5m");
  st.log_level = v["log"].at("level").scalar;
  if (st.log_level != "debug" && st.log_level != "info" && st.log_level != "warn" &&
      st.log_level != "error")
    fail(src, "log.level", "expected debug, info, warn or error");

  for (const auto& s : core_schema()) add_effective(s, v[s.name], effective);
  for (const auto& ps : plugin_sections) {
    auto values = check_section(ps, raw.root[ps.name], src);
    add_effective(ps, values, effective);
    auto& entries = st.plugin_config[ps.name];
    for (const auto& k : ps.keys) {
      const Value& val = values.at(k.key);
      if (k.type == SWITCHBOARD_CONFIG_STRING_LIST) {
        for (const auto& e : val.list) entries.emplace_back(k.key, e);
      } else {
        entries.emplace_back(k.key, val.scalar);
      }
    }
  }
  return st;
}

}  // namespace switchboard::config
