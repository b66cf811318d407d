// Parsing JSON text that comes from outside (client frames, bus messages, HTTP
// bodies), with the rules every such input shares (docs/protocol.md "JSON text").
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include <boost/json/value.hpp>

namespace switchboard::protocol {

// Parses text as one JSON value, nested at most max_depth deep. An escaped lone
// UTF-16 surrogate ("\ud800" with no low half after it, or a low half alone), which
// JavaScript's JSON.stringify writes for a string holding half a pair, has no UTF-8
// form: it reads as U+FFFD, the replacement character, as a browser's TextEncoder
// does, instead of failing the whole text. On failure, ec is set and the result is null.
boost::json::value parse_untrusted(std::string_view text, unsigned max_depth,
                                   std::error_code& ec);

// The text with every escaped lone surrogate replaced by "\ufffd" (the same length),
// or nullopt when it has none. Escapes are read from every backslash on, so an
// escaped backslash followed by "ud800" is left alone.
std::optional<std::string> replace_lone_surrogates(std::string_view text);

}  // namespace switchboard::protocol
