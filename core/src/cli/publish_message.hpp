// `switchboard publish TARGET EVENT [ARGS...]`: the words of the command line
// turned into the one bus message they stand for (docs/external-publishing.md,
// format v1), checked as every server checks a bus message. Pure; any thread.
//
//   all EVENT [ARGS...]
//   channel NAMES EVENT [ARGS...]   NAMES: one name, or a JSON array of names
//   user IDS EVENT [ARGS...]        IDS: one id, or a JSON array of ids
//   socket ID EVENT [ARGS...]       (also spelled socketId) ID: verbatim
//
// Each ARG is one JSON value (ArgMode::kJson) — a word that is not JSON is an
// error, never guessed to be a string — or, with ArgMode::kStrings, a string
// taken verbatim.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include <boost/json/array.hpp>

#include "config/settings.hpp"
#include "routing/envelope.hpp"

namespace switchboard::cli {

// The words name a message every server would drop, or that an app publish
// would be refused: one line saying why. Nothing is sent; exit 2.
class MessageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class ArgMode { kJson, kStrings };

struct PublishWords {
  routing::Target target = routing::Target::kAll;
  std::vector<std::string> targets;  // channels, users or the one socketId
  std::string event;
  boost::json::array args;
};

// Reads TARGET [NAMES|IDS|ID] EVENT [ARGS...]. Throws UsageError for a missing
// or unknown TARGET, a missing EVENT or name; MessageError for a NAMES / IDS
// array that is not a non-empty JSON array of strings or an ARG that is not JSON
// (naming the argument by its position, 1 = the first after EVENT).
// max_depth bounds the nesting of each ARG (limits.json_max_depth).
PublishWords parse_publish_words(const std::vector<std::string>& words, ArgMode mode,
                                 unsigned max_depth);

// The bus message: publish::build_bus_message (the checks of an app publish),
// then routing::decode_envelope with the servers' limits, so the message is one
// every server with these limits takes. Throws MessageError.
std::string build_publish_message(const PublishWords& words, const config::Settings::Limits& limits);

}  // namespace switchboard::cli
