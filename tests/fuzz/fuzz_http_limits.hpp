// The request-parser setup of net/http_session.cpp, for the http_head target.
// Keep in step with HttpSession::do_read(): the body limit is its
// kMaxRequestBody, the header limit Beast's default (8 KiB), which HttpSession
// does not change.
#pragma once

#include <cstddef>

#include <boost/beast/http.hpp>

namespace switchboard::fuzz {

constexpr std::size_t kBodyLimit = 16 * 1024;
constexpr std::uint32_t kHeaderLimit = 8 * 1024;

template <class Parser>
void setup_request_parser(Parser& p) {
  p.header_limit(kHeaderLimit);
  p.body_limit(kBodyLimit);
}

}  // namespace switchboard::fuzz
