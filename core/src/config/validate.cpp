#include "config/validate.hpp"

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
};
using SectionValues = std::map<std::string, Value>;

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

[[noreturn]] void fail(const std::string& source, const std::string& where,
                       const std::string& what) {
  throw ConfigError(source + ": key '" + where + "': " + what);
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
      if (!parse_duration(text, ms))
        fail(source, where, "expected a duration such as 500ms, 30s, 5m, 2h, 7d; got '" + text + "'");
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
      std::string key = kv.first.as<std::string>();
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
    } else if (node && node.IsMap() && node[k.key]) {
      out[k.key] = check_value(k, node[k.key], source, where);
    } else if (k.required) {
      throw ConfigError(source + ": missing required key '" + where + "'");
    } else {
      // Scalar defaults are literal text ("ss:" must not become a mapping).
      YAML::Node def = k.type == SWITCHBOARD_CONFIG_STRING_LIST ? YAML::Load(k.default_value)
                                                                : YAML::Node(k.default_value);
      out[k.key] = check_value(k, def, "<built-in default>", where);
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

const SectionSpec* find_section(const std::vector<SectionSpec>& all, const std::string& name) {
  for (const auto& s : all)
    if (s.name == name) return &s;
  return nullptr;
}

}  // namespace

std::string env_name(const std::string& section, const std::string& key) {
  std::string env = "SWITCHBOARD_";
  for (char c : section + "_" + key)
    env += (c == '.' || c == '-') ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return env;
}

bool parse_duration(const std::string& text, long long& ms) {
  size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == 0 || i > 12) return false;
  long long n = std::stoll(text.substr(0, i));
  std::string unit = text.substr(i);
  if (unit == "ms") ms = n;
  else if (unit == "s") ms = n * 1000;
  else if (unit == "m") ms = n * 60000;
  else if (unit == "h") ms = n * 3600000;
  else if (unit == "d") ms = n * 86400000;
  else if (unit.empty() && n == 0) ms = 0;
  else return false;
  return true;
}

PluginChoice plugin_choice(const Config& config) {
  const auto& raw = config.impl();
  PluginChoice c;
  for (const auto& name : {"transport", "session", "plugins"}) {
    const SectionSpec* spec = find_section(core_schema(), name);
    auto values = check_section(*spec, raw.root[name], raw.source);
    if (std::string(name) == "transport") c.transport = values.at("use").scalar;
    if (std::string(name) == "session") c.store = values.at("store").scalar;
    if (std::string(name) == "plugins") c.dir = values.at("dir").scalar;
  }
  for (const auto& kv : raw.root) {
    std::string key = kv.first.as<std::string>();
    if (!find_section(core_schema(), key)) c.other_sections.push_back(key);
  }
  return c;
}

Settings validate(const Config& config, const std::vector<SectionSpec>& plugin_sections) {
  const auto& raw = config.impl();
  const std::string& src = raw.source;
  for (const auto& kv : raw.root) {
    std::string key = kv.first.as<std::string>();
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
  st.server.handshake_timeout = Millis(std::stoll(sv.at("handshake_timeout").scalar));
  st.server.idle_timeout = Millis(std::stoll(sv.at("idle_timeout").scalar));
  st.server.shutdown_timeout = Millis(std::stoll(sv.at("shutdown_timeout").scalar));
  st.server.write_interval = Millis(std::stoll(sv.at("write_interval").scalar));
  if (st.server.write_interval > Millis(1000))
    fail(src, "server.write_interval", "must be at most 1s");

  auto& se = v["session"];
  st.session.store = se.at("store").scalar;
  st.session.cookie = se.at("cookie").scalar;
  if (st.session.cookie.empty() ||
      st.session.cookie.find_first_of(" ;=,\t\"") != std::string::npos)
    fail(src, "session.cookie", "not a valid cookie name");
  st.session.ttl = Millis(std::stoll(se.at("ttl").scalar));
  if (st.session.ttl.count() < 1000) fail(src, "session.ttl", "must be at least 1s");
  st.session.secret = se.at("secret").scalar;
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
  st.limits.rpc_per_second = as_u32(li, "rpc_per_second", src, l, 1);
  st.limits.max_connections = as_u32(li, "max_connections", src, l, 1);
  st.limits.max_connections_per_ip = as_u32(li, "max_connections_per_ip", src, l, 1);
  st.limits.json_max_depth = as_u32(li, "json_max_depth", src, l, 2);
  st.limits.max_bus_message_bytes = as_u64(li, "max_bus_message_bytes");
  st.log_level = v["log"].at("level").scalar;
  if (st.log_level != "debug" && st.log_level != "info" && st.log_level != "warn" &&
      st.log_level != "error")
    fail(src, "log.level", "expected debug, info, warn or error");

  for (const auto& ps : plugin_sections) {
    auto values = check_section(ps, raw.root[ps.name], src);
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
