// Turns a Config into Settings: applies SWITCHBOARD_… environment overrides and
// ${VAR} expansion, checks every key against the core schema and the used
// plugins' schemas, fills defaults. Errors (ConfigError) name the key and source.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "config/schema.hpp"
#include "config/settings.hpp"
#include "switchboard/config.hpp"

namespace switchboard::config {

// The environment name of a key: SWITCHBOARD_<SECTION>_<KEY>, upper case, with
// '.' and '-' as '_'.
std::string env_name(const std::string& section, const std::string& key);

// "${VAR}" replaced by the environment variable's value ("" when unset); text
// without a closing brace is kept as it is.
std::string expand_env(const std::string& s);

// Step 1: the core keys the plugin choice depends on (transport.use, session.store,
// plugins.dir), env overrides applied.
struct PluginChoice {
  std::string transport;
  std::string store;
  std::string dir;
  std::vector<std::string> other_sections;  // top-level keys that are not core sections
};
PluginChoice plugin_choice(const Config& config);

// One key's value after validation, for `switchboard check-config`: normalised
// as plugins receive it (ints and durations in decimal, durations in
// milliseconds, bools "true"/"false"; a list as its elements), and where it came
// from.
struct EffectiveValue {
  std::string section;
  KeySpec spec;
  std::vector<std::string> values;  // one for a scalar; any number for a list
  std::string origin;  // the config file's name, "environment SWITCHBOARD_…" or "default"
};

// Step 2: full validation against the core schema plus the given plugin sections
// (one per loaded plugin). With `effective`, also every key's value, core
// sections first, in schema order.
Settings validate(const Config& config, const std::vector<SectionSpec>& plugin_sections,
                  std::vector<EffectiveValue>* effective = nullptr);

// The longest duration a key accepts: 100 years (36500d), far above any sane
// timeout yet far below where milliseconds overflow a long long.
constexpr long long kMaxDurationMs = 36500LL * 86400000;

// Parses "250ms" / "30s" / "5m" / "2h" / "7d" (or "0") into milliseconds; false on
// error, with *too_large set when the text is well-formed but above kMaxDurationMs.
bool parse_duration(const std::string& text, long long& ms, bool* too_large = nullptr);

}  // namespace switchboard::config
