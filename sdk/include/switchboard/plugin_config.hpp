// switchboard/plugin_config.hpp — a plugin's validated configuration, as handed to
// its constructor. The host has already checked every key against the plugin's
// declared schema and filled in defaults, so a declared key is always present.
// A plain value type; read it on any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "switchboard/abi.h"

namespace switchboard {

// One key of a plugin's config schema. Declare a static array of these and pass it
// to SWITCHBOARD_PLUGIN; the host validates the YAML subtree and generates the
// config reference from it.
struct ConfigKey {
  const char* key;
  switchboard_config_type type;
  const char* default_value;  // YAML scalar text, nullptr = required
  const char* doc;            // one line
};

class PluginConfig {
 public:
  PluginConfig() = default;
  PluginConfig(const switchboard_config_entry* entries, size_t count) {
    for (size_t i = 0; i < count; ++i)
      entries_.emplace_back(std::string(entries[i].key.data, entries[i].key.len),
                            std::string(entries[i].value.data, entries[i].value.len));
  }

  // Throws std::invalid_argument naming the key when it is absent or ill-typed
  // (the SWITCHBOARD_PLUGIN trampolines turn that into SWITCHBOARD_INVALID).
  const std::string& get_string(std::string_view key) const {
    for (auto& [k, v] : entries_)
      if (k == key) return v;
    throw std::invalid_argument("missing config key '" + std::string(key) + "'");
  }
  int64_t get_int(std::string_view key) const {
    const std::string& v = get_string(key);
    size_t used = 0;
    int64_t n = 0;
    try {
      n = std::stoll(v, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != v.size())
      throw std::invalid_argument("config key '" + std::string(key) + "' is not an integer");
    return n;
  }
  int64_t get_duration_ms(std::string_view key) const { return get_int(key); }
  // The same with the plugin's own bounds (the schema checks only the type):
  // throws std::invalid_argument naming the key, the bounds and the value.
  int64_t get_int_in(std::string_view key, int64_t min, int64_t max) const {
    int64_t v = get_int(key);
    if (v < min || v > max)
      throw std::invalid_argument("config key '" + std::string(key) + "' must be between " + std::to_string(min) +
                                  " and " + std::to_string(max) + ", got " + std::to_string(v));
    return v;
  }
  std::chrono::milliseconds get_duration_in(std::string_view key, std::chrono::milliseconds min,
                                            std::chrono::milliseconds max) const {
    int64_t v = get_duration_ms(key);
    if (v < min.count() || v > max.count())
      throw std::invalid_argument("config key '" + std::string(key) + "' must be between " +
                                  std::to_string(min.count()) + "ms and " + std::to_string(max.count()) +
                                  "ms, got " + std::to_string(v) + "ms");
    return std::chrono::milliseconds(v);
  }
  bool get_bool(std::string_view key) const { return get_string(key) == "true"; }
  std::vector<std::string> get_list(std::string_view key) const {
    std::vector<std::string> out;
    for (auto& [k, v] : entries_)
      if (k == key) out.push_back(v);
    return out;
  }
  const std::vector<std::pair<std::string, std::string>>& entries() const { return entries_; }

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
};

}  // namespace switchboard
