// Config schemas as data: the core's own keys and each plugin's declared keys go
// through the same validator and the same reference generator.
#pragma once

#include <string>
#include <vector>

#include "switchboard/abi.h"

namespace switchboard::config {

struct KeySpec {
  std::string key;  // within its section, e.g. "max_message_bytes"
  switchboard_config_type type;
  std::string default_value;  // YAML text
  bool required = false;
  std::string doc;
};

struct SectionSpec {
  std::string name;  // "server", "limits", or a plugin name
  std::string doc;
  std::vector<KeySpec> keys;
};

// The core sections: server, session, transport, plugins, limits, log.
const std::vector<SectionSpec>& core_schema();

// A plugin's schema as a section named after the plugin.
SectionSpec plugin_section(const switchboard_plugin& plugin);

// Markdown reference of the given sections (docs/config-reference.md).
std::string reference_markdown(const std::vector<SectionSpec>& sections);

const char* type_name(switchboard_config_type t);

}  // namespace switchboard::config
