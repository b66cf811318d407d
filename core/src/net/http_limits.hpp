// The bounds on one HTTP request, shared by HttpSession and the http_head fuzz
// target (tests/fuzz), so the parser that is fuzzed is the one that serves.
#pragma once

#include <cstddef>
#include <cstdint>

namespace switchboard::net {

// We take no uploads: a body is at most this (413 beyond).
constexpr std::size_t kMaxRequestBody = 16 * 1024;
// Header fields (431 beyond). Beast counts the request line apart from the
// fields when they arrive in one read, so a whole head may reach about twice this.
constexpr std::uint32_t kMaxRequestHeader = 8 * 1024;

// Applies the bounds to a Beast request parser.
template <class Parser>
void limit_request_parser(Parser& p) {
  p.header_limit(kMaxRequestHeader);
  p.body_limit(kMaxRequestBody);
}

}  // namespace switchboard::net
