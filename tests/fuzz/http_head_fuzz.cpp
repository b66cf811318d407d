// Fuzz target: the HTTP/1.1 request head as HttpSession reads it — Boost.Beast's
// request_parser<string_body> with the session's limits. Oracle: no crash, no
// sanitizer report, a request that parses respects the limits (body, and a head
// of at most twice the header limit, see agree()), and the outcome does not
// depend on how the bytes were split into reads (whole input, a fuzzer-chosen
// split, and small chunks must agree).
//
// Input: bytes 0-1 pick the split point, the rest is the client's byte stream.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http.hpp>

#include "net/http_limits.hpp"

namespace http = boost::beast::http;

namespace {

struct Outcome {
  bool done = false;
  std::string error;  // empty: no error (done, or still waiting for more)
  bool header_limit = false;  // the error is http::error::header_limit
  std::string method, target, body;
  unsigned version = 0;
  size_t fields = 0;
  bool keep_alive = false, upgrade = false;

  // Which error a rejection reports may depend on the split and is not
  // compared: once a read ended mid-head, Beast waits for the blank line (or
  // the header limit, or EOF) before it parses the fields again, so a bad field
  // is "bad field" when whole and "partial message" at EOF when split. Either
  // way HttpSession drops the connection. Accepting differently is a finding.
  bool operator==(const Outcome& o) const {
    return done == o.done && error.empty() == o.error.empty() && method == o.method &&
           target == o.target && body == o.body && version == o.version && fields == o.fields &&
           keep_alive == o.keep_alive && upgrade == o.upgrade;
  }
};

std::string describe(const Outcome& o) {
  if (!o.error.empty()) return "error '" + o.error + "'";
  if (!o.done) return "incomplete";
  return "done " + o.method + " " + o.target + " v" + std::to_string(o.version) + ", " +
         std::to_string(o.fields) + " fields, body " + std::to_string(o.body.size()) + " bytes";
}

[[noreturn]] void finding(const char* what, const Outcome* a = nullptr, const Outcome* b = nullptr) {
  std::fprintf(stderr, "http_head oracle: %s\n", what);
  if (a && b) std::fprintf(stderr, "  whole: %s\n  other: %s\n", describe(*a).c_str(), describe(*b).c_str());
  std::abort();
}

// Feeds the chunks the way http::read does: append to a buffer, let the parser
// take what it can, keep the rest for the next read; end of input is EOF.
Outcome run(const std::vector<std::string_view>& chunks) {
  http::request_parser<http::string_body> p;
  switchboard::net::limit_request_parser(p);
  std::string buf;
  Outcome out;
  boost::beast::error_code ec;
  auto finish = [&] {
    if (ec) {
      out.error = ec.message();
      out.header_limit = ec == http::error::header_limit;
      return out;
    }
    out.done = p.is_done();
    if (out.done) {
      const auto& req = p.get();
      out.method = std::string(req.method_string());
      out.target = std::string(req.target());
      out.body = req.body();
      out.version = req.version();
      out.fields = static_cast<size_t>(std::distance(req.begin(), req.end()));
      out.keep_alive = req.keep_alive();
      out.upgrade = p.upgrade();
      if (out.body.size() > switchboard::net::kMaxRequestBody) finding("body above the limit");
    }
    return out;
  };
  for (auto chunk : chunks) {
    buf.append(chunk);
    while (!buf.empty() && !p.is_done()) {
      size_t used = p.put(boost::asio::buffer(buf), ec);
      if (used > buf.size()) finding("parser used more bytes than given");
      buf.erase(0, used);
      if (ec == http::error::need_more) {
        ec = {};
        break;
      }
      if (ec) return finish();
      if (used == 0) break;
    }
    if (p.is_done()) return finish();
  }
  if (!p.is_done() && p.got_some()) p.put_eof(ec);
  return finish();
}

}  // namespace

// Beast applies header_limit to what follows the request line when the line
// and the fields arrive in one read, and to the whole head when they do not: a
// head between the limit and the limit plus its request line passes whole and
// fails split. Tolerated (the head stays bounded, checked below); any other
// disagreement is a finding.
bool agree(const Outcome& whole, const Outcome& other, size_t head_bytes) {
  if (whole == other) return true;
  bool one_hit_limit = (whole.header_limit && other.error.empty()) ||
                       (other.header_limit && whole.error.empty());
  return one_hit_limit && head_bytes > switchboard::net::kMaxRequestHeader;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  std::string_view stream(reinterpret_cast<const char*>(data + 2), size - 2);
  const size_t split = (size_t{data[0]} << 8 | data[1]) % (stream.size() + 1);

  const size_t eoh = stream.find("\r\n\r\n");
  const size_t head_bytes = eoh == std::string_view::npos ? stream.size() : eoh + 4;

  Outcome whole = run({stream});
  if (whole.done && head_bytes > 2 * size_t{switchboard::net::kMaxRequestHeader})
    finding("accepted a head above twice the header limit");
  Outcome two = run({stream.substr(0, split), stream.substr(split)});
  if (!agree(whole, two, head_bytes))
    finding("a split input parsed differently than the whole input", &whole, &two);
  std::vector<std::string_view> small;
  for (size_t at = 0; at < stream.size(); at += 7) small.push_back(stream.substr(at, 7));
  Outcome sevens = run(small);
  if (!agree(whole, sevens, head_bytes))
    finding("7-byte reads parsed differently than the whole input", &whole, &sevens);
  return 0;
}
