#include "cli/publish_message.hpp"

#include <boost/json.hpp>

#include "cli/options.hpp"
#include "observe/log.hpp"
#include "publish/bus_message.hpp"

namespace switchboard::cli {
namespace json = boost::json;

namespace {

// A command-line word inside an error line: escaped, at most 40 bytes.
std::string shown(const std::string& word) {
  std::string s = observe::escape_log_text(word.substr(0, 40));
  return word.size() > 40 ? s + "..." : s;
}

json::value parse_json(const std::string& text, unsigned max_depth, std::string& error) {
  json::parse_options opt;
  opt.max_depth = max_depth;
  std::error_code ec;
  json::value v = json::parse(text, ec, {}, opt);
  if (ec) error = ec.message();
  return v;
}

// NAMES / IDS: a JSON array of strings when the word starts with '[', else the one name.
std::vector<std::string> read_names(const std::string& word, const char* what) {
  if (word.empty()) throw MessageError(std::string("the ") + what + " is empty");
  if (word.front() != '[') return {word};
  std::string error;
  json::value v = parse_json(word, 2, error);
  if (!error.empty() || !v.is_array())
    throw MessageError(std::string("the ") + what + " list '" + shown(word) +
                       "' is not a JSON array of strings (" +
                       (error.empty() ? "not an array" : error) + ")");
  std::vector<std::string> names;
  for (const auto& e : v.get_array()) {
    if (!e.is_string())
      throw MessageError(std::string("the ") + what + " list '" + shown(word) +
                         "' holds a value that is not a string");
    names.emplace_back(e.get_string());
  }
  if (names.empty()) throw MessageError(std::string("the ") + what + " list is empty");
  return names;
}

}  // namespace

PublishWords parse_publish_words(const std::vector<std::string>& words, ArgMode mode,
                                 unsigned max_depth) {
  if (words.empty()) throw UsageError("missing TARGET (all, channel, user or socket)");
  PublishWords out;
  const std::string& kind = words[0];
  size_t next = 1;
  auto need = [&](const char* what) -> const std::string& {
    if (next >= words.size()) throw UsageError(std::string("missing ") + what);
    return words[next++];
  };
  if (kind == "all") {
    out.target = routing::Target::kAll;
  } else if (kind == "channel") {
    out.target = routing::Target::kChannel;
    out.targets = read_names(need("NAMES after 'channel'"), "channel");
  } else if (kind == "user") {
    out.target = routing::Target::kUser;
    out.targets = read_names(need("IDS after 'user'"), "user id");
  } else if (kind == "socket" || kind == "socketId") {
    out.target = routing::Target::kSocket;
    out.targets = {need("ID after 'socket'")};
    if (out.targets[0].empty()) throw MessageError("the socket id is empty");
  } else {
    throw UsageError("unknown TARGET '" + shown(kind) + "' (all, channel, user or socket)");
  }
  out.event = need("EVENT");
  if (out.event.empty()) throw MessageError("the event name is empty");
  for (size_t i = next; i < words.size(); ++i) {
    const std::string& w = words[i];
    size_t n = i - next + 1;
    if (mode == ArgMode::kStrings) {
      out.args.emplace_back(w);
      continue;
    }
    std::string error;
    json::value v = parse_json(w, max_depth, error);
    if (!error.empty()) {
      std::string hint = w.rfind("-", 0) == 0 ? " (options go before TARGET)"
                                              : "; to send it as a string, quote it as JSON "
                                                "(e.g. '\"text\"') or use --strings";
      throw MessageError("argument " + std::to_string(n) + " '" + shown(w) + "' is not JSON (" +
                         error + ")" + hint);
    }
    out.args.push_back(std::move(v));
  }
  return out;
}

std::string build_publish_message(const PublishWords& words, const config::Settings::Limits& limits) {
  std::string bytes;
  try {
    bytes = publish::build_bus_message(limits, words.target, words.targets, words.event, words.args);
  } catch (const std::invalid_argument& e) {
    std::string what = e.what();
    if (what.rfind("publish: ", 0) == 0) what = what.substr(9);
    throw MessageError(what);
  }
  // What every server does with it when it comes off the bus.
  auto decoded = routing::decode_envelope(bytes, publish::bus_decode_limits(limits));
  if (!decoded) throw MessageError("every server would drop this message: " + decoded.status().message());
  return bytes;
}

}  // namespace switchboard::cli
