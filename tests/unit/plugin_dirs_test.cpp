// Where plugins are looked up (plugin/loader.hpp): the folders, their order, and
// an error that names every one of them.
#include <catch2/catch.hpp>

#include <filesystem>

#define BOOST_DLL_USE_STD_FS
#include <boost/dll/runtime_symbol_info.hpp>

#include "plugin/loader.hpp"
#include "switchboard/server.hpp"

using namespace switchboard;
using namespace switchboard::plugin;
namespace fs = std::filesystem;

namespace {
// The message of what f throws ("" when it does not).
template <typename F>
std::string error_of(F f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("plugins.dir set: that folder alone", "[plugin]") {
  CHECK(plugin_dirs("/srv/plugins") == std::vector<std::string>{"/srv/plugins"});
}

TEST_CASE("plugins.dir empty: beside the executable, its prefix, then the installation",
          "[plugin]") {
  fs::path exe_dir = boost::dll::program_location().parent_path();
  auto dirs = plugin_dirs("");
  REQUIRE(dirs.size() == 3);
  CHECK(dirs[0] == (exe_dir / "plugins").lexically_normal().string());
  CHECK(dirs[1] == (exe_dir.parent_path() / "lib/switchboard/plugins").lexically_normal().string());
  CHECK(dirs[2] == fs::path(installed_plugins_dir()).lexically_normal().string());
  CHECK(installed_plugins_dir().ends_with("/lib/switchboard/plugins"));
}

TEST_CASE("the first folder that has the plugin wins", "[plugin]") {
  const std::string empty = fs::temp_directory_path().string();
  CHECK(find_plugin({empty, SWITCHBOARD_PLUGIN_DIR}, "memory") ==
        (fs::path(SWITCHBOARD_PLUGIN_DIR) / "libswitchboard_memory.so").string());
  CHECK(find_plugin({empty, SWITCHBOARD_PLUGIN_DIR}, "nosuch").empty());
  auto p = load_plugin({empty, SWITCHBOARD_PLUGIN_DIR}, "memory");
  CHECK(p->descriptor->name == std::string("memory"));
}

TEST_CASE("a missing plugin's error names every folder searched", "[plugin]") {
  std::vector<std::string> dirs = {"/nonexistent/a", "/nonexistent/b", SWITCHBOARD_PLUGIN_DIR};
  auto msg = error_of([&] { load_plugin(dirs, "nosuch"); });
  CHECK_THAT(msg, Catch::StartsWith("plugin 'nosuch' not found: no libswitchboard_nosuch.so in "));
  for (const auto& dir : dirs) CHECK_THAT(msg, Catch::Contains(dir));
  CHECK(msg.find('\n') == std::string::npos);

  // The same from an app with no plugins.dir: every default folder is named.
  msg = error_of([] { Server app(Config::from_string("transport: {use: nosuch}\n")); });
  CHECK_THAT(msg, Catch::StartsWith("plugin 'nosuch' not found"));
  for (const auto& dir : plugin_dirs("")) CHECK_THAT(msg, Catch::Contains(dir));
}
