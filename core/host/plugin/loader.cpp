#include "plugin/loader.hpp"

#define BOOST_DLL_USE_STD_FS
#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>
#include <algorithm>
#include <cstring>
#include <filesystem>

// Defined by apps built with find_package(Switchboard): the package compiles a
// definition into each (cmake/SwitchboardConfig.cmake.in). Weak, so every other
// program (the `switchboard` command, the tree's own apps) links without it.
extern "C" __attribute__((weak)) const char* switchboard_package_plugins_dir();

namespace switchboard::plugin {
namespace fs = std::filesystem;

std::string installed_plugins_dir() {
  if (switchboard_package_plugins_dir != nullptr) return switchboard_package_plugins_dir();
  return SWITCHBOARD_INSTALLED_PLUGINS_DIR;  // core/host/CMakeLists.txt
}

std::vector<std::string> plugin_dirs(const std::string& configured) {
  if (!configured.empty()) return {configured};
  fs::path exe_dir = boost::dll::program_location().parent_path();
  std::vector<std::string> dirs;
  for (const fs::path& d : {exe_dir / "plugins", exe_dir / ".." / "lib" / "switchboard" / "plugins",
                            fs::path(installed_plugins_dir())}) {
    std::string s = d.lexically_normal().string();
    if (std::find(dirs.begin(), dirs.end(), s) == dirs.end()) dirs.push_back(std::move(s));
  }
  return dirs;
}

std::string find_plugin(const std::vector<std::string>& dirs, const std::string& name) {
  if (name.find('/') != std::string::npos) return fs::exists(name) ? name : "";
  for (const auto& dir : dirs) {
    fs::path path = fs::path(dir) / ("libswitchboard_" + name + ".so");
    if (fs::exists(path)) return path.string();
  }
  return "";
}

std::shared_ptr<LoadedPlugin> load_plugin_file(const std::string& path) {
  if (!fs::exists(path)) throw PluginError("plugin " + path + ": no such file");
  auto lib = std::make_shared<boost::dll::shared_library>();
  boost::dll::fs::error_code ec;
  lib->load(path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, ec);
  if (ec) throw PluginError("plugin " + path + ": cannot be loaded: " + ec.message());
  if (!lib->has(SWITCHBOARD_PLUGIN_ENTRY_NAME))
    throw PluginError("plugin " + path + ": not a Switchboard ABI v" +
                      std::to_string(SWITCHBOARD_ABI_MAJOR) + " plugin (no symbol " +
                      SWITCHBOARD_PLUGIN_ENTRY_NAME + ")");
  auto entry = lib->get<const switchboard_plugin*()>(SWITCHBOARD_PLUGIN_ENTRY_NAME);
  const switchboard_plugin* d = entry();
  if (d == nullptr || d->struct_size < SWITCHBOARD_PLUGIN_SIZE_V1_0)
    throw PluginError("plugin " + path + ": malformed descriptor");
  const std::string host_v =
      std::to_string(SWITCHBOARD_ABI_MAJOR) + "." + std::to_string(SWITCHBOARD_ABI_MINOR);
  const std::string plugin_v = std::to_string(d->abi_major) + "." + std::to_string(d->abi_minor);
  if (d->abi_major != SWITCHBOARD_ABI_MAJOR || d->abi_minor > SWITCHBOARD_ABI_MINOR)
    throw PluginError("plugin " + path + ": built for Switchboard ABI " + plugin_v +
                      ", this server provides ABI " + host_v);
  if (d->name == nullptr || *d->name == '\0') throw PluginError("plugin " + path + ": has no name");
  if ((d->capabilities & SWITCHBOARD_CAP_TRANSPORT) &&
      (d->transport == nullptr ||
       d->transport->struct_size < sizeof(switchboard_transport_vtable)))
    throw PluginError("plugin " + path + ": declares a transport without a complete table");
  if ((d->capabilities & SWITCHBOARD_CAP_SESSION_STORE) &&
      (d->store == nullptr || d->store->struct_size < sizeof(switchboard_store_vtable)))
    throw PluginError("plugin " + path + ": declares a session store without a complete table");
  auto p = std::make_shared<LoadedPlugin>();
  p->library = std::move(lib);
  // The host works on its own copy in today's layout: fields a plugin built for
  // an older minor does not have (past its struct_size) read as zero.
  std::memcpy(&p->descriptor_copy, d, std::min<size_t>(d->struct_size, sizeof(switchboard_plugin)));
  p->descriptor_copy.struct_size = sizeof(switchboard_plugin);
  p->descriptor = &p->descriptor_copy;
  p->path = path;
  return p;
}

std::shared_ptr<LoadedPlugin> load_plugin(const std::vector<std::string>& dirs,
                                          const std::string& name) {
  std::string path = find_plugin(dirs, name);
  if (path.empty()) {
    if (name.find('/') != std::string::npos)
      throw PluginError("plugin '" + name + "' not found: no such file");
    std::string searched;
    for (const auto& dir : dirs) searched += (searched.empty() ? "" : ", ") + dir;
    throw PluginError("plugin '" + name + "' not found: no libswitchboard_" + name + ".so in " +
                      searched + " (plugins.dir sets the folder)");
  }
  auto p = load_plugin_file(path);
  if (name.find('/') == std::string::npos && name != p->descriptor->name)
    throw PluginError("plugin " + path + ": declares the name '" + p->descriptor->name +
                      "', expected '" + name + "' (file name and SWITCHBOARD_PLUGIN name must match)");
  return p;
}

}  // namespace switchboard::plugin
