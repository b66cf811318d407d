// Small pieces of reading HTTP header field values (RFC 9110), shared by the
// static files' validators and ranges and the HTTP API's Authorization and
// Content-Type. Pure; any thread.
#pragma once

#include <string_view>

namespace switchboard::net {

// The value without its optional whitespace (spaces and tabs) at either end.
inline std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace switchboard::net
