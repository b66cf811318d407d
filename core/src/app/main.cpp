// The `switchboard` command: serve | version | config-reference | --help.
#include <cstdio>
#include <cstring>
#include <iostream>

#include "config/schema.hpp"
#include "config/validate.hpp"
#include "plugin/loader.hpp"
#include "plugin/plugin_host.hpp"
#include "switchboard/abi.h"
#include "switchboard/switchboard.hpp"

namespace {

const char kUsage[] =
    "usage: switchboard <command> [options]\n"
    "\n"
    "commands:\n"
    "  serve [--config FILE]     run the server (no FILE: embedded defaults,\n"
    "                            memory transport and memory sessions)\n"
    "  config-reference [--config FILE] [--plugin NAME]...\n"
    "                            print the config reference (core keys, the\n"
    "                            plugins the config uses and the named ones) as Markdown\n"
    "  version                   print the version and plugin ABI version\n"
    "  --help                    this text\n"
    "\n"
    "Every config key can be overridden by an environment variable\n"
    "SWITCHBOARD_<SECTION>_<KEY>, e.g. SWITCHBOARD_SERVER_LISTEN=127.0.0.1:9000.\n";

int config_reference(int argc, char** argv) {
  auto config = switchboard::Config::load(argc, argv);
  auto choice = switchboard::config::plugin_choice(config);
  std::vector<switchboard::config::SectionSpec> sections = switchboard::config::core_schema();
  std::vector<std::string> names = {choice.transport, choice.store};
  for (int i = 2; i + 1 < argc; ++i)
    if (std::string_view(argv[i]) == "--plugin") names.emplace_back(argv[i + 1]);
  auto dirs = switchboard::plugin::plugin_dirs(choice.dir);
  switchboard::plugin::add_plugin_sections(sections, dirs, names);
  std::fputs(switchboard::config::reference_markdown(sections).c_str(), stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string cmd = argc > 1 ? argv[1] : "";
  try {
    if (cmd == "serve") {
      switchboard::Server app(switchboard::Config::load(argc, argv));
      return app.run();
    }
    if (cmd == "version" || cmd == "--version") {
      std::printf("switchboard %s (plugin ABI %d.%d)\n", SWITCHBOARD_VERSION, SWITCHBOARD_ABI_MAJOR,
                  SWITCHBOARD_ABI_MINOR);
      return 0;
    }
    if (cmd == "config-reference") return config_reference(argc, argv);
    if (cmd == "--help" || cmd == "-h" || cmd == "help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    std::fputs(kUsage, stderr);
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "switchboard: %s\n", e.what());
    return 1;
  }
}
