// `switchboard publish TARGET EVENT [ARGS...]` into the bus message
// (core/src/cli/publish_message.hpp): the message of docs/external-publishing.md,
// and a clear error for every bad input.
#include <catch2/catch.hpp>

#include "cli/options.hpp"
#include "cli/publish_message.hpp"

using namespace switchboard;
using namespace switchboard::cli;
using Words = std::vector<std::string>;

namespace {

const config::Settings::Limits kDefaults{};

std::string message(const Words& words, ArgMode mode = ArgMode::kJson,
                    const config::Settings::Limits& limits = kDefaults) {
  return build_publish_message(parse_publish_words(words, mode, limits.json_max_depth), limits);
}

// The error a bad input gets: "usage: …" for a UsageError, "message: …" for a MessageError.
std::string error_of(const Words& words, ArgMode mode = ArgMode::kJson,
                     const config::Settings::Limits& limits = kDefaults) {
  try {
    message(words, mode, limits);
  } catch (const UsageError& e) {
    return std::string("usage: ") + e.what();
  } catch (const MessageError& e) {
    return std::string("message: ") + e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("cli: every target kind builds the v1 message", "[cli]") {
  CHECK(message({"all", "flash", "\"Notice\""}) == R"({"t":"all","e":"flash","p":["Notice"]})");
  CHECK(message({"all", "tick"}) == R"({"t":"all","e":"tick","p":[]})");
  CHECK(message({"channel", "disney", "chatMessage", R"({"from":"jerry","text":"hi"})"}) ==
        R"({"t":"channel","channels":["disney"],"e":"chatMessage","p":[{"from":"jerry","text":"hi"}]})");
  CHECK(message({"channel", R"(["disney","pixar"])", "chatMessage"}) ==
        R"({"t":"channel","channels":["disney","pixar"],"e":"chatMessage","p":[]})");
  CHECK(message({"user", "fred", "specialOffer", "\"x\""}) ==
        R"({"t":"user","users":["fred"],"e":"specialOffer","p":["x"]})");
  CHECK(message({"user", R"(["fred","wilma"])", "specialOffer"}) ==
        R"({"t":"user","users":["fred","wilma"],"e":"specialOffer","p":[]})");
  CHECK(message({"socket", "254987654324567", "justForMe", "1", "true", "null", "[1,2]", "-3.5"}) ==
        R"({"t":"socketId","socketId":"254987654324567","e":"justForMe","p":[1,true,null,[1,2],-3.5E0]})");
  CHECK(message({"socketId", "abc", "e"}) == R"({"t":"socketId","socketId":"abc","e":"e","p":[]})");
}

TEST_CASE("cli: names are taken verbatim unless they are a JSON array", "[cli]") {
  // Commas, spaces and quotes are ordinary characters of a channel name.
  CHECK(message({"channel", "a,b c\"d", "e"}) == R"({"t":"channel","channels":["a,b c\"d"],"e":"e","p":[]})");
  CHECK(message({"channel", R"(["[x]"])", "e"}) == R"({"t":"channel","channels":["[x]"],"e":"e","p":[]})");
  // A socket id is never a list.
  CHECK(message({"socket", R"(["a"])", "e"}) == R"({"t":"socketId","socketId":"[\"a\"]","e":"e","p":[]})");
  // Unicode passes as it is.
  CHECK(message({"channel", "caf\xc3\xa9", "\xc3\xa9v", "\"\xe2\x9c\x93\""}) ==
        "{\"t\":\"channel\",\"channels\":[\"caf\xc3\xa9\"],\"e\":\"\xc3\xa9v\",\"p\":[\"\xe2\x9c\x93\"]}");
}

TEST_CASE("cli: --strings takes every argument verbatim", "[cli]") {
  CHECK(message({"all", "flash", "Notice: maintenance", "42", "{x"}, ArgMode::kStrings) ==
        R"({"t":"all","e":"flash","p":["Notice: maintenance","42","{x"]})");
}

TEST_CASE("cli: a missing or unknown word is a usage error", "[cli]") {
  CHECK(error_of({}) == "usage: missing TARGET (all, channel, user or socket)");
  CHECK(error_of({"everyone", "e"}) == "usage: unknown TARGET 'everyone' (all, channel, user or socket)");
  CHECK(error_of({"all"}) == "usage: missing EVENT");
  CHECK(error_of({"channel"}) == "usage: missing NAMES after 'channel'");
  CHECK(error_of({"channel", "disney"}) == "usage: missing EVENT");
  CHECK(error_of({"user"}) == "usage: missing IDS after 'user'");
  CHECK(error_of({"socket"}) == "usage: missing ID after 'socket'");
}

TEST_CASE("cli: an argument that is not JSON is an error, never a guess", "[cli]") {
  CHECK(error_of({"all", "flash", "hello"}) ==
        "message: argument 1 'hello' is not JSON (syntax error); to send it as a string, quote "
        "it as JSON (e.g. '\"text\"') or use --strings");
  CHECK(error_of({"all", "flash", "1", "{\"a\":}"}).rfind("message: argument 2 '{\"a\":}' is not JSON", 0) == 0);
  CHECK(error_of({"all", "flash", "007"}).rfind("message: argument 1 '007' is not JSON", 0) == 0);
  CHECK(error_of({"all", "flash", "1 2"}).rfind("message: argument 1 '1 2' is not JSON", 0) == 0);
  CHECK(error_of({"all", "flash", ""}).rfind("message: argument 1 '' is not JSON", 0) == 0);
  // An option after TARGET is an argument: the hint says where options go.
  CHECK(error_of({"all", "flash", "--config"}) ==
        "message: argument 1 '--config' is not JSON (syntax error) (options go before TARGET)");
  // Control characters in the echo are escaped: the error stays one line.
  CHECK(error_of({"all", "flash", "a\nb"}).find("'a\\nb'") != std::string::npos);
}

TEST_CASE("cli: names and events the servers would refuse", "[cli]") {
  CHECK(error_of({"all", ""}) == "message: the event name is empty");
  CHECK(error_of({"channel", "", "e"}) == "message: the channel is empty");
  CHECK(error_of({"channel", "[]", "e"}) == "message: the channel list is empty");
  CHECK(error_of({"channel", "[1]", "e"}) ==
        "message: the channel list '[1]' holds a value that is not a string");
  CHECK(error_of({"channel", "[\"a\"", "e"}).rfind("message: the channel list '[\"a\"' is not a JSON array of strings", 0) == 0);
  CHECK(error_of({"user", "[\"\"]", "e"}) == "message: target '' is empty or longer than 256 bytes");
  CHECK(error_of({"socket", "", "e"}) == "message: the socket id is empty");
  CHECK(error_of({"user", std::string(257, 'u'), "e"}).find("longer than 256 bytes") != std::string::npos);
  CHECK(error_of({"channel", std::string(1025, 'c'), "e"}).find("longer than 1024 bytes") != std::string::npos);
}

TEST_CASE("cli: the servers' limits apply", "[cli]") {
  config::Settings::Limits small;
  small.max_bus_targets = 2;
  small.max_bus_message_bytes = 100;
  small.json_max_depth = 4;
  CHECK(error_of({"channel", R"(["a","b","c"])", "e"}, ArgMode::kJson, small) ==
        "message: 3 targets, over limits.max_bus_targets (2)");
  CHECK(error_of({"all", "e", '"' + std::string(100, 'x') + '"'}, ArgMode::kJson, small)
            .find("over limits.max_bus_message_bytes") != std::string::npos);
  // Depth: the message adds two levels (the object and "p") to an argument's own.
  CHECK(message({"all", "e", "[[]]"}, ArgMode::kJson, small) == R"({"t":"all","e":"e","p":[[[]]]})");
  CHECK(error_of({"all", "e", "[[[]]]"}, ArgMode::kJson, small)
            .rfind("message: every server would drop this message: not JSON", 0) == 0);
  CHECK(error_of({"all", "e", "[[[[[]]]]]"}, ArgMode::kJson, small)
            .rfind("message: argument 1 '[[[[[]]]]]' is not JSON", 0) == 0);
  // A number out of double range would reach browsers as Infinity.
  CHECK(error_of({"all", "e", "1e999"}).find("not finite") != std::string::npos);
}
