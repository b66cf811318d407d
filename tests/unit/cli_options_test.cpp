// The `switchboard` subcommands' option parser (core/src/cli/options.hpp).
#include <catch2/catch.hpp>

#include "cli/options.hpp"

using namespace switchboard::cli;
using Words = std::vector<std::string>;

namespace {
const std::vector<OptionSpec> kSpecs = {
    {"config", 'c', true}, {"url", 0, true}, {"strings", 0, false}, {"verbose", 'v', false}};

std::string usage_error_of(const Words& args) {
  try {
    parse_options(args, kSpecs);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("cli: options in every spelling, then positionals", "[cli]") {
  auto o = parse_options({"--config", "a.yaml", "-v", "--url=http://h:1", "--strings", "all", "flash"},
                         kSpecs);
  CHECK(o.last("config") == "a.yaml");
  CHECK(o.last("url") == "http://h:1");
  CHECK(o.has("verbose"));
  CHECK(o.has("strings"));
  CHECK(o.positionals == Words{"all", "flash"});

  auto s = parse_options({"-c", "b.yaml", "--config=c.yaml", "x"}, kSpecs);
  CHECK(s.values.at("config") == Words{"b.yaml", "c.yaml"});
  CHECK(s.last("config") == "c.yaml");  // the last one wins
}

TEST_CASE("cli: the first positional ends the options", "[cli]") {
  // An argument that looks like an option after TARGET is an argument (publish
  // then says it is not JSON, with a hint), and a negative number needs no `--`.
  auto o = parse_options({"all", "ev", "--config", "x", "-v"}, kSpecs);
  CHECK_FALSE(o.has("config"));
  CHECK(o.positionals == Words{"all", "ev", "--config", "x", "-v"});
  CHECK(parse_options({"-1", "-2.5"}, kSpecs).positionals == Words{"-1", "-2.5"});
  auto dd = parse_options({"-v", "--", "--not-an-option"}, kSpecs);
  CHECK(dd.has("verbose"));
  CHECK(dd.positionals == Words{"--not-an-option"});
  CHECK(parse_options({"-"}, kSpecs).positionals == Words{"-"});
}

TEST_CASE("cli: help is always an option", "[cli]") {
  CHECK(parse_options({"--help"}, kSpecs).has("help"));
  CHECK(parse_options({"-c", "x", "-h"}, kSpecs).has("help"));
  CHECK(parse_options({}, {}).positionals.empty());
}

TEST_CASE("cli: option mistakes are clear usage errors", "[cli]") {
  CHECK(usage_error_of({"--bogus"}) == "unknown option '--bogus'");
  CHECK(usage_error_of({"--bogus=1"}) == "unknown option '--bogus'");
  CHECK(usage_error_of({"-x"}) == "unknown option '-x'");
  CHECK(usage_error_of({"-vv"}) == "unknown option '-vv'");
  CHECK(usage_error_of({"--config"}) == "option '--config' needs a value");
  CHECK(usage_error_of({"-c"}) == "option '-c' needs a value");
  CHECK(usage_error_of({"--strings=yes"}) == "option '--strings' takes no value");
}
