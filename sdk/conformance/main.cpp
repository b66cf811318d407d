// switchboard-conformance: runs the shared battery of docs/conformance-spec.md
// against any plugin .so, loaded through the server's own loader.
//
//   switchboard-conformance <plugin.so> [--config FILE] [--list] [--filter TEXT]
//                           [--report FILE.json] [--junit FILE.xml] [--fail-fast]
//                           [--require-outages]
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <boost/json.hpp>
#include <yaml-cpp/yaml.h>

#include "config/schema.hpp"
#include "config/validate.hpp"
#include "observe/log.hpp"
#include "plugin/completion_registry.hpp"
#include "plugin/loader.hpp"
#include "spec.hpp"
#include "switchboard/config.hpp"
#include "tcp_proxy.hpp"

using namespace switchboard;
using namespace switchboard::conformance;

namespace {

const char kUsage[] =
    "usage: switchboard-conformance <plugin.so> [options]\n"
    "  --config FILE     YAML: the plugin's settings under its name, plus an optional\n"
    "                    `conformance:` section {proxy | broker_stop, broker_start; time_scale}\n"
    "  --list            list the cases and exit\n"
    "  --list-markdown   list them as the rows of docs/conformance-spec.md's table\n"
    "  --filter TEXT     run only cases whose id or name contains TEXT\n"
    "  --report FILE     write the results as JSON\n"
    "  --junit FILE      write the results as JUnit XML\n"
    "  --verbose         show the plugin's log lines (state changes, warnings)\n"
    "  --fail-fast       stop at the first MUST case that fails\n"
    "  --require-outages fail (exit 1) when the broker-outage cases cannot run\n"
    "Exit status: 0 when every MUST case passed, 1 when one failed, 2 on a usage or load error.\n";

struct Options {
  std::string plugin;
  std::string config;
  std::string filter;
  std::string report;
  std::string junit;
  bool list = false;
  bool list_markdown = false;
  bool verbose = false;
  bool fail_fast = false;
  bool require_outages = false;
};

struct Result {
  const Case* c;
  std::string outcome;  // PASS FAIL SKIP
  std::string message;
  double seconds = 0;
};

const char* level_name(Level l) { return l == Level::kMust ? "MUST" : "SHOULD"; }

std::string xml_escape(const std::string& s) {
  std::string o;
  for (char ch : s) {
    switch (ch) {
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '&': o += "&amp;"; break;
      case '"': o += "&quot;"; break;
      default: o += ch;
    }
  }
  return o;
}

// "host:port" of conformance.proxy; throws ConfigError naming the key.
std::pair<std::string, uint16_t> proxy_upstream(const std::string& v, const std::string& source) {
  auto colon = v.rfind(':');
  int port = 0;
  if (colon != std::string::npos && colon > 0) {
    try {
      size_t used = 0;
      port = std::stoi(v.substr(colon + 1), &used);
      if (used != v.size() - colon - 1) port = 0;
    } catch (const std::exception&) {
      port = 0;
    }
  }
  if (port <= 0 || port > 65535)
    throw ConfigError(source + ": conformance.proxy must be \"host:port\" of the broker, got '" + v + "'");
  return {v.substr(0, colon), static_cast<uint16_t>(port)};
}

// The plugin's validated settings and the kit's own section. A proxy is started
// here, before the plugin's settings are read, so they can use its port.
void load_config(const Options& opt, KitContext& kit, std::unique_ptr<TcpProxy>& proxy) {
  const auto& desc = *kit.plugin->descriptor;
  YAML::Node root = YAML::Node(YAML::NodeType::Map);
  std::string source = "<no config>";
  if (!opt.config.empty()) {
    source = opt.config;
    // Broker commands may refer to files beside the config.
    auto dir = std::filesystem::absolute(opt.config).parent_path().string();
    ::setenv("CONFORMANCE_CONFIG_DIR", dir.c_str(), 1);
    try {
      root = YAML::LoadFile(opt.config);
    } catch (const YAML::Exception& e) {
      throw ConfigError(opt.config + ": " + e.what());
    }
    if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  }
  if (root["conformance"]) {
    YAML::Node k = root["conformance"];
    for (const auto& kv : k) {
      auto key = kv.first.as<std::string>();
      if (key == "broker_stop") kit.broker_stop = kv.second.as<std::string>();
      else if (key == "broker_start") kit.broker_start = kv.second.as<std::string>();
      else if (key == "time_scale") kit.time_scale = kv.second.as<double>();
      else if (key == "proxy") {
        auto [host, port] = proxy_upstream(config::expand_env(kv.second.as<std::string>()), source);
        try {
          proxy = std::make_unique<TcpProxy>(host, port);
        } catch (const std::exception& e) {
          throw ConfigError(source + ": conformance.proxy: " + e.what());
        }
        kit.proxy = proxy.get();
        ::setenv("CONFORMANCE_PROXY_PORT", std::to_string(proxy->port()).c_str(), 1);
      } else throw ConfigError(source + ": unknown key 'conformance." + key + "'");
    }
    if (kit.proxy && (!kit.broker_stop.empty() || !kit.broker_start.empty()))
      throw ConfigError(source + ": give either conformance.proxy or conformance.broker_stop/broker_start, not both");
    if (!kit.proxy && kit.broker_stop.empty() != kit.broker_start.empty())
      throw ConfigError(source + ": conformance.broker_stop and conformance.broker_start go together");
    if (!(kit.time_scale > 0 && kit.time_scale <= 100))
      throw ConfigError(source + ": conformance.time_scale must be above 0 and at most 100");
    root.remove("conformance");
  }
  std::stringstream ss;
  ss << root;
  auto cfg = Config::from_string(ss.str() == "{}" ? "" : ss.str(), source);
  auto settings = config::validate(cfg, {config::plugin_section(desc)});
  kit.config = settings.plugin_config[desc.name];
}

bool available(const Case& c, const KitContext& kit, std::string& why) {
  const auto caps = kit.plugin->descriptor->capabilities;
  bool transport = caps & SWITCHBOARD_CAP_TRANSPORT, store = caps & SWITCHBOARD_CAP_SESSION_STORE;
  bool broker = kit.can_stop_broker();
  const char* no_broker = "NOT TESTED: the config gives no conformance.proxy (or broker_stop/broker_start)";
  switch (c.needs) {
    case Needs::kTransport: why = "no transport"; return transport;
    case Needs::kStore: why = "no session store"; return store;
    case Needs::kTransportBroker:
      why = transport ? no_broker : "no transport";
      return transport && broker;
    case Needs::kStoreBroker:
      why = store ? no_broker : "no session store";
      return store && broker;
    case Needs::kTransportAnyThread:
      why = transport ? "the transport does not declare SWITCHBOARD_CAP_PUBLISH_ANY_THREAD" : "no transport";
      return transport && (caps & SWITCHBOARD_CAP_PUBLISH_ANY_THREAD);
  }
  return false;
}

// Fails r when the host ignored store completions while the case ran (a second
// completion of one operation, or one after stop() returned): the host survives
// them, but they break the contract, so the case that provoked them fails, naming
// the operation.
void check_completions(Result& r, uint64_t ignored_before) {
  const auto& registry = plugin::CompletionRegistry::process();
  uint64_t n = registry.ignored() - ignored_before;
  if (n == 0) return;
  std::string what = registry.describe_ignored(ignored_before);
  if (n > 1) what += " (" + std::to_string(n) + " completions ignored during this case)";
  what += "; an operation must complete exactly once, and never after stop() returns";
  r.message = r.outcome == "FAIL" ? what + "; the case also failed: " + r.message : what;
  r.outcome = "FAIL";
}

// Runs one case on its own thread under its watchdog. A hung case is reported and
// abandoned (its thread detached); the process then ends with _Exit.
Result run_case(const Case& c, const KitContext& kit, bool& hung) {
  Result r{&c, "PASS", "", 0};
  Activity::current().reset();
  const uint64_t ignored_before = plugin::CompletionRegistry::process().ignored();
  auto t0 = Clock::now();
  auto done = std::make_shared<std::promise<std::pair<bool, std::string>>>();
  auto fut = done->get_future();
  std::thread th([&c, &kit, done] {
    try {
      c.run(kit);
      done->set_value({true, ""});
    } catch (const std::exception& e) {
      done->set_value({false, e.what()});
    } catch (...) {
      done->set_value({false, "unknown exception"});
    }
  });
  auto limit = std::chrono::duration_cast<std::chrono::milliseconds>(c.watchdog * kit.time_scale);
  if (fut.wait_for(limit) != std::future_status::ready) {
    th.detach();
    hung = true;
    r.outcome = "FAIL";
    r.message = "the case did not finish within its " + std::to_string(limit.count() / 1000) + " s budget";
    auto doing = Activity::current().describe();
    if (!doing.empty()) r.message += "; at that moment " + doing;
  } else {
    th.join();
    auto [ok, msg] = fut.get();
    if (!ok) {
      r.outcome = "FAIL";
      r.message = msg;
    }
    check_completions(r, ignored_before);
  }
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n%s", a.c_str(), kUsage);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--config") opt.config = value();
    else if (a == "--filter") opt.filter = value();
    else if (a == "--report") opt.report = value();
    else if (a == "--junit") opt.junit = value();
    else if (a == "--list") opt.list = true;
    else if (a == "--list-markdown") opt.list_markdown = true;
    else if (a == "--verbose" || a == "-v") opt.verbose = true;
    else if (a == "--fail-fast") opt.fail_fast = true;
    else if (a == "--require-outages") opt.require_outages = true;
    else if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "unknown option %s\n%s", a.c_str(), kUsage);
      return 2;
    } else {
      opt.plugin = a;
    }
  }

  std::vector<Case> cases = transport_cases();
  for (auto& c : store_cases()) cases.push_back(std::move(c));
  if (opt.list || opt.list_markdown) {
    for (const auto& c : cases) {
      if (opt.list_markdown)
        std::printf("| %s | %s | `%s` | %s |\n", c.id.c_str(), level_name(c.level), c.name.c_str(), c.rule.c_str());
      else
        std::printf("%-6s %-6s %-40s %s\n", c.id.c_str(), level_name(c.level), c.name.c_str(), c.rule.c_str());
    }
    return 0;
  }
  if (opt.plugin.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }

  std::signal(SIGPIPE, SIG_IGN);  // as the server does (threading.md)
  observe::set_log_level(opt.verbose ? observe::Level::kDebug : observe::Level::kError);
  KitContext kit;
  std::unique_ptr<TcpProxy> proxy;
  try {
    kit.plugin = plugin::load_plugin_file(opt.plugin);
    load_config(opt, kit, proxy);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "switchboard-conformance: %s\n", e.what());
    return 2;
  }
  const auto& d = *kit.plugin->descriptor;
  std::printf("plugin %s %s (ABI %u.%u) from %s: %s%s\n\n", d.name, d.version, d.abi_major, d.abi_minor,
              opt.plugin.c_str(), (d.capabilities & SWITCHBOARD_CAP_TRANSPORT) ? "transport " : "",
              (d.capabilities & SWITCHBOARD_CAP_SESSION_STORE) ? "session-store" : "");
  if (kit.proxy)
    std::printf("proxy: 127.0.0.1:%u -> the broker (CONFORMANCE_PROXY_PORT); outages are cut there\n\n",
                static_cast<unsigned>(kit.proxy->port()));
  std::printf("%-6s %-42s %-6s %-6s %9s\n", "id", "case", "level", "result", "time");
  std::fflush(stdout);

  std::vector<Result> results;
  bool hung = false, must_failed = false;
  int passed = 0, failed = 0, skipped = 0;
  std::vector<std::string> untested;  // outage cases skipped for want of a way to stop the broker
  std::string first_failure;          // "T1.02 publish_returns_promptly, 3.1 s into the run"
  const auto run_start = Clock::now();
  for (const auto& c : cases) {
    if (!opt.filter.empty() && (c.id + " " + c.name).find(opt.filter) == std::string::npos) continue;
    Result r;
    std::string why;
    if (!available(c, kit, why)) {
      r = {&c, "SKIP", why, 0};
      if (why.starts_with("NOT TESTED")) untested.push_back(c.id);
    } else {
      r = run_case(c, kit, hung);
    }
    if (r.outcome == "PASS") ++passed;
    else if (r.outcome == "SKIP") ++skipped;
    else {
      ++failed;
      must_failed = must_failed || c.level == Level::kMust;
      if (first_failure.empty() && c.level == Level::kMust) {
        char at[64];
        std::snprintf(at, sizeof at, ", %.1f s into the run",
                      std::chrono::duration<double>(Clock::now() - run_start).count());
        first_failure = c.id + " " + c.name + at;
      }
    }
    std::printf("%-6s %-42s %-6s %-6s %8.2fs\n", c.id.c_str(), c.name.c_str(), level_name(c.level),
                r.outcome == "FAIL" && c.level == Level::kShould ? "WARN" : r.outcome.c_str(), r.seconds);
    if (!r.message.empty() && r.outcome != "PASS")
      std::printf("       %s\n", r.message.c_str());
    std::fflush(stdout);
    results.push_back(r);
    if (opt.fail_fast && must_failed) break;
  }
  std::printf("\n%d passed, %d failed, %d skipped\n", passed, failed, skipped);
  if (!first_failure.empty()) std::printf("first MUST failure: %s\n", first_failure.c_str());
  std::string untested_list;
  for (const auto& id : untested) untested_list += (untested_list.empty() ? "" : ", ") + id;
  if (!untested.empty())
    std::printf("BROKER OUTAGES NOT TESTED (%s skipped): how this plugin behaves when its broker goes away and "
                "comes back (reconnecting, resubscribing, erroring instead of hanging) is unknown. Give "
                "conformance.proxy (or broker_stop/broker_start) in the config to test it; an in-process plugin "
                "has no broker and nothing to test here.\n",
                untested_list.c_str());
  const bool outage_failure = opt.require_outages && !untested.empty();
  if (must_failed) std::printf("NOT CONFORMING: a MUST case failed\n");
  else if (outage_failure) std::printf("NOT CONFORMING: --require-outages, and the outage cases did not run\n");
  else if (!untested.empty())
    std::printf("conforming, outages untested (every MUST case that ran passed; %s did not run)\n",
                untested_list.c_str());
  else std::printf("conforming (every MUST case that applies passed)\n");

  if (!opt.report.empty()) {
    boost::json::array arr;
    for (const auto& r : results)
      arr.push_back({{"id", r.c->id}, {"name", r.c->name}, {"level", level_name(r.c->level)},
                     {"result", r.outcome}, {"message", r.message}, {"seconds", r.seconds}});
    boost::json::array untested_ids;
    for (const auto& id : untested) untested_ids.push_back(boost::json::value(id));
    boost::json::object o{{"plugin", d.name}, {"version", d.version}, {"path", opt.plugin},
                          {"passed", passed}, {"failed", failed}, {"skipped", skipped},
                          {"conforming", !must_failed && !outage_failure},
                          {"outages_tested", untested.empty()}, {"untested", untested_ids},
                          {"first_failure", first_failure}, {"cases", arr}};
    std::ofstream(opt.report) << boost::json::serialize(o) << "\n";
  }
  if (!opt.junit.empty()) {
    std::ofstream x(opt.junit);
    x << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"switchboard-conformance."
      << xml_escape(d.name) << "\" tests=\"" << results.size() << "\" failures=\"" << failed
      << "\" skipped=\"" << skipped << "\">\n";
    for (const auto& r : results) {
      x << "  <testcase classname=\"" << xml_escape(d.name) << "\" name=\"" << xml_escape(r.c->id + " " + r.c->name)
        << "\" time=\"" << r.seconds << "\">";
      if (r.outcome == "FAIL") x << "<failure message=\"" << xml_escape(r.message) << "\"/>";
      if (r.outcome == "SKIP") x << "<skipped message=\"" << xml_escape(r.message) << "\"/>";
      x << "</testcase>\n";
    }
    x << "</testsuite>\n";
  }
  std::fflush(stdout);
  int code = must_failed || outage_failure ? 1 : 0;
  if (hung) std::_Exit(code);  // abandoned threads may never finish
  return code;
}
