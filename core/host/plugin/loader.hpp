// Finds and loads plugin shared objects, checking the ABI before anything else.
// Thread-safety: load from one thread (start-up); a LoadedPlugin may be shared.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

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

// The folders a plugin name is looked up in, in order. `configured` (the
// plugins.dir key) non-empty: that folder alone, so an operator's choice is
// exact. Empty: <dir of the executable>/plugins (a build tree), then
// <dir of the executable>/../lib/switchboard/plugins (an installed executable),
// then installed_plugins_dir(); lexically normalised, duplicates dropped.
std::vector<std::string> plugin_dirs(const std::string& configured);

// <prefix>/lib/switchboard/plugins of the Switchboard installation this program
// was built against: for an app built with find_package(Switchboard), where that
// package is installed now (the package compiles it into the app, see
// cmake/SwitchboardConfig.cmake.in); otherwise the install prefix this core was
// configured with.
std::string installed_plugins_dir();

// The file a plugin name maps to: the first <dir>/libswitchboard_<name>.so in
// dirs that exists; empty when none does. A name with a '/' is taken as a path.
std::string find_plugin(const std::vector<std::string>& dirs, const std::string& name);

// Loads and checks one plugin file. Throws PluginError with a one-line message
// naming the file (and both versions on a mismatch).
std::shared_ptr<LoadedPlugin> load_plugin_file(const std::string& path);

// Loads by name from the first of dirs that has it (find_plugin); when none has
// it, the PluginError names every folder searched.
std::shared_ptr<LoadedPlugin> load_plugin(const std::vector<std::string>& dirs,
                                          const std::string& name);

}  // namespace switchboard::plugin
