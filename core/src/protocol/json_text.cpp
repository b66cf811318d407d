#include "protocol/json_text.hpp"

#include <cstring>

#include <boost/json/parse.hpp>

namespace switchboard::protocol {

namespace {

constexpr std::string_view kReplacement = "\\ufffd";

// The code unit of the escape "\uXXXX" starting at text[at], or -1 when there is none.
int escaped_unit(std::string_view text, size_t at) {
  if (at + 6 > text.size() || text[at] != '\\' || text[at + 1] != 'u') return -1;
  int unit = 0;
  for (size_t i = at + 2; i < at + 6; ++i) {
    const char c = text[i];
    int digit;
    if (c >= '0' && c <= '9') digit = c - '0';
    else if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') digit = c - 'A' + 10;
    else return -1;
    unit = unit * 16 + digit;
  }
  return unit;
}

bool is_high(int unit) { return unit >= 0xD800 && unit <= 0xDBFF; }
bool is_low(int unit) { return unit >= 0xDC00 && unit <= 0xDFFF; }

}  // namespace

std::optional<std::string> replace_lone_surrogates(std::string_view text) {
  std::optional<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    const void* hit = std::memchr(text.data() + i, '\\', text.size() - i);
    if (hit == nullptr) break;
    i = static_cast<size_t>(static_cast<const char*>(hit) - text.data());
    const int unit = escaped_unit(text, i);
    if (is_high(unit) && is_low(escaped_unit(text, i + 6))) {
      i += 12;  // a whole pair
      continue;
    }
    if (is_high(unit) || is_low(unit)) {
      if (!out) out.emplace(text);
      out->replace(i, kReplacement.size(), kReplacement);
      i += 6;
      continue;
    }
    i += 2;  // any other escape (or a stray backslash): skip the escaped character
  }
  return out;
}

boost::json::value parse_untrusted(std::string_view text, unsigned max_depth,
                                   std::error_code& ec) {
  boost::json::parse_options opt;
  opt.max_depth = max_depth;
  const std::optional<std::string> mended = replace_lone_surrogates(text);
  const std::string_view input = mended ? std::string_view(*mended) : text;
  return boost::json::parse(boost::json::string_view(input.data(), input.size()), ec, {}, opt);
}

}  // namespace switchboard::protocol
