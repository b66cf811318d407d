// Finds and loads plugin shared objects, checking the ABI before anything else.
// Thread-safety: load from one thread (start-up); a LoadedPlugin may be shared.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>

#include "switchboard/abi.h"

namespace boost::dll {
class shared_library;
}

namespace switchboard::plugin {

class PluginError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A loaded plugin. The library stays mapped while any copy of the shared_ptr (held
// by every instance created from it) lives: plugins are never unloaded under
// running code.
struct LoadedPlugin {
  std::shared_ptr<boost::dll::shared_library> library;
  const switchboard_plugin* descriptor = nullptr;  // points at descriptor_copy
  switchboard_plugin descriptor_copy{};
  std::string path;
};

// The file a plugin name maps to: <dir>/libswitchboard_<name>.so. A name with a
// '/' is taken as a path.
std::string plugin_path(const std::string& dir, const std::string& name);

// <dir of the running executable>/plugins if it exists, else
// <dir of the executable>/../lib/switchboard/plugins.
std::string default_plugins_dir();

// Loads and checks one plugin file. Throws PluginError with a one-line message
// naming the file (and both versions on a mismatch).
std::shared_ptr<LoadedPlugin> load_plugin_file(const std::string& path);

// Loads by name from dir; the error names the directory when the file is absent.
std::shared_ptr<LoadedPlugin> load_plugin(const std::string& dir, const std::string& name);

}  // namespace switchboard::plugin
