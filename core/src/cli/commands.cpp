#include "cli/commands.hpp"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "cli/bus_publish.hpp"
#include "cli/effective_config.hpp"
#include "cli/http_publish.hpp"
#include "cli/options.hpp"
#include "cli/outcome.hpp"
#include "cli/publish_message.hpp"
#include "config/schema.hpp"
#include "config/validate.hpp"
#include "observe/log.hpp"
#include "plugin/loader.hpp"
#include "plugin/plugin_host.hpp"
#include "switchboard/abi.h"
#include "switchboard/switchboard.hpp"

namespace switchboard::cli {

namespace {

const char kUsage[] =
    "usage: switchboard <command> [options]\n"
    "\n"
    "commands:\n"
    "  serve [--config FILE]     run the server (no FILE: embedded defaults,\n"
    "                            memory transport and memory sessions)\n"
    "  publish [options] TARGET EVENT [ARG...]\n"
    "                            publish one event to browsers, through the bus of a\n"
    "                            config (--config) or a server's HTTP API (--url)\n"
    "  check-config [--config FILE]\n"
    "                            validate a config as serve does and print the\n"
    "                            effective settings (secrets masked)\n"
    "  config-reference [--config FILE] [--plugin NAME]...\n"
    "                            print the config reference (core keys, the\n"
    "                            plugins the config uses and the named ones) as Markdown\n"
    "  version                   print the version and plugin ABI version\n"
    "  help [COMMAND]            this text, or a command's (also COMMAND --help)\n"
    "\n"
    "Every config key can be overridden by an environment variable\n"
    "SWITCHBOARD_<SECTION>_<KEY>, e.g. SWITCHBOARD_SERVER_LISTEN=127.0.0.1:9000.\n"
    "Exit codes: 0 done, 1 failed (one line on stderr), 2 bad command line,\n"
    "3 (publish) sent but not confirmed. See docs/cli.md.\n";

const char kServeUsage[] =
    "usage: switchboard serve [--config FILE]\n"
    "\n"
    "Runs the server until SIGINT or SIGTERM. It prints\n"
    "`switchboard listening on http://HOST:PORT` on stdout once it accepts\n"
    "connections; logs go to stderr.\n"
    "\n"
    "options:\n"
    "  -c, --config FILE   the YAML config (none: the embedded defaults, memory\n"
    "                      transport and memory sessions); SWITCHBOARD_<SECTION>_<KEY>\n"
    "                      variables override its keys\n"
    "  -h, --help          this text\n"
    "\n"
    "Exit codes: 0 stopped by a signal, 1 could not start (config, plugin, listen\n"
    "address: one line on stderr), 2 bad command line.\n"
    "\n"
    "examples:\n"
    "  switchboard serve\n"
    "  switchboard serve --config sb.yaml\n"
    "  SWITCHBOARD_SERVER_LISTEN=127.0.0.1:9000 switchboard serve -c sb.yaml\n";

const char kPublishUsage[] =
    "usage: switchboard publish [options] TARGET EVENT [ARG...]\n"
    "\n"
    "Publishes one event to browsers: one bus message (docs/external-publishing.md,\n"
    "format v1), checked as every server checks the bus, sent through the transport\n"
    "plugin of a config (loaded as `serve` loads it) or to a server's HTTP API.\n"
    "\n"
    "TARGET:\n"
    "  all                 every connection\n"
    "  channel NAMES       connections whose session is in one of the channels\n"
    "  user IDS            connections of sessions signed in as one of the users\n"
    "  socket ID           the one connection (tab) with that socketId (or: socketId ID)\n"
    "  NAMES / IDS is one argument: one name, or a JSON array of names '[\"a\",\"b\"]'\n"
    "  (a name that starts with '[' must be given in an array).\n"
    "EVENT                 the event name browsers listen to (ss.event.on(EVENT, ...))\n"
    "ARG                   each one JSON value: '\"text\"' 42 true null '{\"a\":1}' '[1,2]';\n"
    "                      a word that is not JSON is an error (quote it, or --strings)\n"
    "\n"
    "options (before TARGET; `--` ends them):\n"
    "  -c, --config FILE   publish on the bus of this config's transport (redis, nats,\n"
    "                      kafka or another shared plugin); SWITCHBOARD_* variables\n"
    "                      apply. With the memory transport and api.keys: through\n"
    "                      the HTTP API of the server at the config's server.listen.\n"
    "                      Without --config and --url: the embedded defaults, whose\n"
    "                      memory transport is refused (it reaches no server)\n"
    "      --url URL       POST the message to URL/api/publish (http://HOST:PORT)\n"
    "      --key KEY       the API key for --url (default: $SWITCHBOARD_API_KEY,\n"
    "                      which keeps it out of the process list)\n"
    "      --strings       take every ARG as a string, verbatim\n"
    "      --timeout DUR   give up after DUR (connect, publish, confirmation; 10s)\n"
    "      --dry-run       print the message on stdout, send nothing\n"
    "  -v, --verbose       print the message and the transport's log on stderr\n"
    "  -h, --help          this text\n"
    "\n"
    "It returns once the message came back from the bus (the broker took it and\n"
    "every server gets it) or the server answered. Exit codes: 0 published,\n"
    "1 not published (one line on stderr says why), 2 bad command line or message\n"
    "(nothing sent), 3 sent but not confirmed within --timeout (it may arrive).\n"
    "\n"
    "examples:\n"
    "  switchboard publish -c sb.yaml all flash '\"Maintenance at 18:00\"'\n"
    "  switchboard publish -c sb.yaml channel disney chatMessage '{\"from\":\"jerry\",\"text\":\"hi\"}'\n"
    "  switchboard publish -c sb.yaml channel '[\"disney\",\"pixar\"]' chatMessage '{\"from\":\"jerry\"}'\n"
    "  switchboard publish -c sb.yaml --strings user fred specialOffer 'Here is an offer'\n"
    "  switchboard publish -c sb.yaml socket 254987654324567 justForMe '\"this tab\"' 42\n"
    "  SWITCHBOARD_API_KEY=s3cret switchboard publish --url http://127.0.0.1:8080 all flash '\"hi\"'\n"
    "  switchboard publish --dry-run user '[\"fred\",\"wilma\"]' ping\n";

const char kCheckConfigUsage[] =
    "usage: switchboard check-config [--config FILE]\n"
    "\n"
    "Validates a config as `serve` does at start-up — the core keys, the sections\n"
    "of the plugins it names, each plugin's own checks of its settings, the\n"
    "session.secret rule — without listening or connecting to anything, then\n"
    "prints every key's effective value and where it came from (the file, an\n"
    "environment variable or the default). Secrets are shown as ***: keys named\n"
    "like password, secret, token (or ending in key), the password of a URL\n"
    "(redis://user:***@host) and secret name=value entries (sasl.password=***).\n"
    "\n"
    "options:\n"
    "  -c, --config FILE   the config (none: the embedded defaults)\n"
    "  -h, --help          this text\n"
    "\n"
    "Exit codes: 0 valid, 1 invalid (one line on stderr naming the key, as serve\n"
    "prints it), 2 bad command line.\n"
    "\n"
    "examples:\n"
    "  switchboard check-config --config sb.yaml\n"
    "  SWITCHBOARD_TRANSPORT_USE=redis switchboard check-config -c sb.yaml\n";

const char kConfigReferenceUsage[] =
    "usage: switchboard config-reference [--config FILE] [--plugin NAME]...\n"
    "\n"
    "Prints the config reference as Markdown: the core keys, the keys of the\n"
    "plugins the config uses and of every --plugin NAME (docs/config-reference.md\n"
    "is its output with --plugin redis --plugin nats --plugin kafka).\n"
    "\n"
    "options:\n"
    "  -c, --config FILE   the config whose plugins to include (and plugins.dir)\n"
    "      --plugin NAME   also this plugin (repeatable)\n"
    "  -h, --help          this text\n"
    "\n"
    "examples:\n"
    "  switchboard config-reference\n"
    "  switchboard config-reference --plugin redis --plugin nats\n";

const char kVersionUsage[] =
    "usage: switchboard version\n"
    "\n"
    "Prints `switchboard VERSION (plugin ABI MAJOR.MINOR)`: the plugin ABI this\n"
    "binary loads (a plugin of another major, or a newer minor, is refused).\n";

const OptionSpec kConfigOption{"config", 'c', true};

// A usage mistake: the line, then the command's usage, on stderr; exit 2.
int usage_error(const std::string& command, const std::string& what, const char* usage) {
  std::fprintf(stderr, "switchboard %s: %s\n\n%s", command.c_str(), what.c_str(), usage);
  return kExitUsage;
}

int fail(const std::string& command, const std::string& what, int code = kExitFailed) {
  std::fprintf(stderr, "switchboard %s: %s\n", command.c_str(), what.c_str());
  return code;
}

Config load_config(const ParsedOptions& o) {
  auto file = o.last("config");
  return file ? Config::from_file(*file) : Config::defaults();
}

void no_positionals(const ParsedOptions& o) {
  if (!o.positionals.empty()) throw UsageError("unexpected argument '" + o.positionals[0] + "'");
}

int serve(const ParsedOptions& o) {
  no_positionals(o);
  Server app(load_config(o));
  return app.run();
}

int version(const ParsedOptions& o) {
  no_positionals(o);
  std::printf("switchboard %s (plugin ABI %d.%d)\n", SWITCHBOARD_VERSION, SWITCHBOARD_ABI_MAJOR,
              SWITCHBOARD_ABI_MINOR);
  return kExitOk;
}

int config_reference(const ParsedOptions& o) {
  no_positionals(o);
  Config config = load_config(o);
  auto choice = config::plugin_choice(config);
  std::vector<std::string> dirs = plugin::plugin_dirs(choice.dir);
  std::vector<config::SectionSpec> sections = config::core_schema();
  std::vector<std::string> names = {choice.transport, choice.store};
  if (o.has("plugin"))
    for (const auto& n : o.values.at("plugin")) names.push_back(n);
  plugin::add_plugin_sections(sections, dirs, names);
  std::fputs(config::reference_markdown(sections).c_str(), stdout);
  return kExitOk;
}

int check_config(const ParsedOptions& o) {
  no_positionals(o);
  Config config = load_config(o);
  std::vector<std::string> dirs;
  std::vector<config::EffectiveValue> effective;
  config::Settings settings = plugin::load_settings(config, dirs, &effective);
  // Everything `serve` checks before it listens: the server built, not started
  // (each plugin created from its settings, the session.secret rule).
  { Server probe(config); }
  std::string searched;
  for (const auto& d : dirs) searched += (searched.empty() ? "" : ", ") + d;
  std::printf("# %s: valid (transport %s, session store %s, plugins searched in %s)\n",
              config.source().c_str(), settings.transport.use.c_str(),
              settings.session.store.c_str(), searched.c_str());
  std::fputs(format_effective(effective).c_str(), stdout);
  return kExitOk;
}

int publish(const ParsedOptions& o) {
  auto mode = o.has("strings") ? ArgMode::kStrings : ArgMode::kJson;
  auto url = o.last("url");
  if (url && o.has("config")) throw UsageError("--config and --url exclude each other");
  if (o.has("key") && !url) throw UsageError("--key is for --url");
  std::chrono::milliseconds timeout(10000);  // a broker or server that does not answer in 10 s is down
  if (auto t = o.last("timeout")) {
    long long ms = 0;
    if (!config::parse_duration(*t, ms) || ms <= 0)
      throw UsageError("--timeout: expected a duration such as 500ms, 5s, 1m; got '" + *t + "'");
    timeout = std::chrono::milliseconds(ms);
  }
  std::optional<HttpEndpoint> endpoint;
  if (url) endpoint = parse_http_url(*url);

  // With --url the server checks the message against its own limits; here the
  // defaults, which a server's are unless its operator changed them.
  config::Settings settings;
  std::vector<std::string> dirs;
  if (!url) settings = plugin::load_settings(load_config(o), dirs);
  bool verbose = o.has("verbose");
  observe::set_log_level(verbose ? observe::parse_log_level(settings.log_level) : observe::Level::kError);

  PublishWords words = parse_publish_words(o.positionals, mode, settings.limits.json_max_depth);
  std::string message = build_publish_message(words, settings.limits);
  if (o.has("dry-run")) {
    std::printf("%s\n", message.c_str());
    return kExitOk;
  }
  if (verbose) std::fprintf(stderr, "switchboard publish: sending %s\n", message.c_str());

  Outcome out;
  if (endpoint) {
    std::string key;
    if (auto k = o.last("key")) key = *k;
    else if (const char* env = std::getenv("SWITCHBOARD_API_KEY")) key = env;
    if (key.empty())
      throw UsageError("--url needs an API key: --key KEY or SWITCHBOARD_API_KEY");
    out = publish_over_http(*endpoint, key, message, timeout);
  } else {
    // Client libraries (hiredis) write without MSG_NOSIGNAL: a vanished broker
    // must be an error, not a dead process.
    std::signal(SIGPIPE, SIG_IGN);
    std::function<Outcome()> via_api;
    if (!settings.api.keys.empty())
      // An unshared bus (memory) lives inside the server: reach it through the
      // HTTP API of the server this config describes, with its first key.
      via_api = [&] {
        return publish_over_http(local_endpoint(settings), settings.api.keys.front(), message, timeout);
      };
    out = publish_on_bus(settings, dirs, message, timeout, via_api);
  }
  if (!out.ok()) return fail("publish", out.error, out.code);
  if (verbose) std::fprintf(stderr, "switchboard publish: published\n");
  return kExitOk;
}

struct Command {
  const char* name;
  const char* usage;
  std::vector<OptionSpec> options;
  int (*run)(const ParsedOptions&);
};

const std::vector<Command>& commands() {
  static const std::vector<Command> all = {
      {"serve", kServeUsage, {kConfigOption}, serve},
      {"publish", kPublishUsage,
       {kConfigOption, {"url", 0, true}, {"key", 0, true}, {"strings", 0, false},
        {"timeout", 0, true}, {"dry-run", 0, false}, {"verbose", 'v', false}},
       publish},
      {"check-config", kCheckConfigUsage, {kConfigOption}, check_config},
      {"config-reference", kConfigReferenceUsage, {kConfigOption, {"plugin", 0, true}},
       config_reference},
      {"version", kVersionUsage, {}, version},
  };
  return all;
}

const Command* find_command(const std::string& name) {
  for (const auto& c : commands())
    if (name == c.name) return &c;
  return nullptr;
}

}  // namespace

int run(int argc, char** argv) {
  std::string name = argc > 1 ? argv[1] : "";
  if (name == "--version") name = "version";
  if (name == "--help" || name == "-h" || name == "help") {
    const Command* c = argc > 2 ? find_command(argv[2]) : nullptr;
    if (argc > 2 && c == nullptr) return usage_error("help", std::string("unknown command '") + argv[2] + "'", kUsage);
    std::fputs(c ? c->usage : kUsage, stdout);
    return kExitOk;
  }
  const Command* c = find_command(name);
  if (c == nullptr) {
    if (name.empty()) {
      std::fputs(kUsage, stderr);
      return kExitUsage;
    }
    std::fprintf(stderr, "switchboard: unknown command '%s'\n\n%s", name.c_str(), kUsage);
    return kExitUsage;
  }
  std::vector<std::string> args(argv + 2, argv + argc);
  try {
    ParsedOptions o = parse_options(args, c->options);
    if (o.has("help")) {
      std::fputs(c->usage, stdout);
      return kExitOk;
    }
    return c->run(o);
  } catch (const UsageError& e) {
    return usage_error(name, e.what(), c->usage);
  } catch (const MessageError& e) {
    return fail(name, e.what(), kExitUsage);
  } catch (const std::exception& e) {
    // ConfigError, PluginError, a listen address in use: as serve always reported them.
    return fail(name, e.what());
  }
}

}  // namespace switchboard::cli
