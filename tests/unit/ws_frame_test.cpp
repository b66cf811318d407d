// The WebSocket frame parser and helpers (net/ws_frame.hpp): RFC 6455 server side.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "net/ws_frame.hpp"

using namespace switchboard::net::ws;
using Ev = FrameParser::Event;

namespace {

// A client frame: masked unless told otherwise; `b0_extra` sets RSV bits.
std::string frame(uint8_t opcode, std::string_view payload, bool fin = true, bool masked = true,
                  uint8_t b0_extra = 0) {
  std::string f;
  f += static_cast<char>((fin ? 0x80 : 0) | b0_extra | opcode);
  uint8_t mbit = masked ? 0x80 : 0;
  if (payload.size() < 126) {
    f += static_cast<char>(mbit | payload.size());
  } else if (payload.size() <= 0xFFFF) {
    f += static_cast<char>(mbit | 126);
    f += static_cast<char>(payload.size() >> 8);
    f += static_cast<char>(payload.size() & 0xFF);
  } else {
    f += static_cast<char>(mbit | 127);
    for (int i = 7; i >= 0; --i) f += static_cast<char>((uint64_t{payload.size()} >> (8 * i)) & 0xFF);
  }
  const uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};
  if (masked) f.append(reinterpret_cast<const char*>(mask), 4);
  for (size_t i = 0; i < payload.size(); ++i)
    f += masked ? static_cast<char>(payload[i] ^ mask[i % 4]) : payload[i];
  return f;
}

struct Got {
  Ev::Kind kind;
  bool text;
  uint16_t code;
  std::string payload;
};

// Feeds `input` in chunks of the given sizes (the last chunk size repeats).
std::vector<Got> feed(FrameParser& p, std::string input, std::vector<size_t> chunks,
                      uint64_t max = 1 << 20) {
  std::vector<Got> out;
  size_t at = 0, ci = 0;
  while (at < input.size()) {
    size_t n = std::min(chunks[std::min(ci, chunks.size() - 1)], input.size() - at);
    ++ci;
    std::string chunk = input.substr(at, n);  // a fresh buffer each time, as a socket read
    at += n;
    size_t pos = 0;
    for (;;) {
      auto e = p.next(chunk.data(), chunk.size(), pos, max);
      if (e.kind == Ev::kNeedMore) break;
      out.push_back({e.kind, e.text, e.code, std::string(e.kind == Ev::kError ? e.reason : e.payload)});
      if (e.kind == Ev::kError) return out;
    }
    REQUIRE(pos == chunk.size());
  }
  return out;
}

std::vector<Got> feed_all(std::string input, uint64_t max = 1 << 20) {
  FrameParser p;
  return feed(p, std::move(input), {1 << 30}, max);
}

}  // namespace

TEST_CASE("ws: accept key of RFC 6455's example", "[unit][ws]") {
  CHECK(accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST_CASE("ws: server frame headers", "[unit][ws]") {
  uint8_t h[10];
  CHECK(encode_header(h, kText, 0) == 2);
  CHECK(h[0] == 0x81);
  CHECK(h[1] == 0);
  CHECK(encode_header(h, kText, 125) == 2);
  CHECK(h[1] == 125);
  CHECK(encode_header(h, kText, 126) == 4);
  CHECK((h[1] == 126 && h[2] == 0 && h[3] == 126));
  CHECK(encode_header(h, kText, 65535) == 4);
  CHECK(encode_header(h, kText, 65536) == 10);
  CHECK((h[1] == 127 && h[7] == 1 && h[8] == 0 && h[9] == 0));
  std::string c;
  append_close(c, 1001, "bye");
  CHECK(c == std::string("\x88\x05\x03\xe9", 4) + "bye");
  c.clear();
  append_close(c, 0, "ignored");
  CHECK(c == std::string("\x88\x00", 2));
  c.clear();
  append_control(c, kPong, std::string(200, 'x'));
  CHECK(c.size() == 127);  // cut to 125
}

TEST_CASE("ws: UTF-8 validation", "[unit][ws]") {
  CHECK(valid_utf8(""));
  CHECK(valid_utf8("plain ascii, long enough for the fast path"));
  CHECK(valid_utf8("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80"));
  CHECK_FALSE(valid_utf8("\x80"));
  CHECK_FALSE(valid_utf8("\xc3"));               // truncated
  CHECK_FALSE(valid_utf8("\xc0\xaf"));           // overlong
  CHECK_FALSE(valid_utf8("\xe0\x80\xaf"));       // overlong
  CHECK_FALSE(valid_utf8("\xed\xa0\x80"));       // surrogate
  CHECK_FALSE(valid_utf8("\xf4\x90\x80\x80"));   // > U+10FFFF
  CHECK_FALSE(valid_utf8("\xf5\x80\x80\x80"));
  CHECK_FALSE(valid_utf8("abcdefgh\xff"));
  CHECK(valid_utf8("\xf4\x8f\xbf\xbf"));         // U+10FFFF
}

TEST_CASE("ws: whole messages, split at every byte boundary", "[unit][ws]") {
  std::string big(70000, 'b');
  std::string input = frame(kText, "hello") + frame(kPing, "p!") + frame(kText, "") +
                      frame(kText, "frag", false) + frame(kPing, "mid") +
                      frame(kContinuation, "men", false) + frame(kContinuation, "ted") +
                      frame(kBinary, std::string(300, '\x01')) + frame(kPong, "") +
                      frame(kText, big) + frame(kClose, "\x03\xe8" "done");
  auto check = [&](const std::vector<Got>& g) {
    INFO("first: kind " << int(g.at(0).kind) << " code " << g.at(0).code << " payload " << g.at(0).payload.substr(0, 40));
    REQUIRE(g.size() == 9);
    CHECK((g[0].kind == Ev::kMessage && g[0].text && g[0].payload == "hello"));
    CHECK((g[1].kind == Ev::kPing && g[1].payload == "p!"));
    CHECK((g[2].kind == Ev::kMessage && g[2].text && g[2].payload.empty()));
    CHECK((g[3].kind == Ev::kPing && g[3].payload == "mid"));
    CHECK((g[4].kind == Ev::kMessage && g[4].text && g[4].payload == "fragmented"));
    CHECK((g[5].kind == Ev::kMessage && !g[5].text && g[5].payload == std::string(300, '\x01')));
    CHECK(g[6].kind == Ev::kPong);
    CHECK((g[7].kind == Ev::kMessage && g[7].payload == big));
    CHECK((g[8].kind == Ev::kClose && g[8].code == 1000 && g[8].payload == "done"));
  };
  check(feed_all(input));
  // Two pieces, split at every position.
  for (size_t i = 1; i < input.size(); i += (i < 400 || i > input.size() - 400) ? 1 : 997) {
    FrameParser p;
    check(feed(p, input, {i, input.size()}));
    CHECK(p.held_capacity() == 0);
  }
  // One byte at a time.
  FrameParser p;
  check(feed(p, input, {1}));
  CHECK(p.held_capacity() == 0);
  // Odd chunk sizes.
  for (size_t n : {3, 7, 13, 127, 4096}) {
    FrameParser q;
    check(feed(q, input, {n}));
  }
}

TEST_CASE("ws: protocol errors close with 1002", "[unit][ws]") {
  auto error_of = [](const std::string& in) {
    auto g = feed_all(in);
    REQUIRE_FALSE(g.empty());
    CHECK(g.back().kind == Ev::kError);
    return g.back().code;
  };
  CHECK(error_of(frame(kText, "x", true, false)) == 1002);           // not masked
  CHECK(error_of(frame(kText, "x", true, true, 0x40)) == 1002);      // RSV1
  CHECK(error_of(frame(kText, "x", true, true, 0x10)) == 1002);      // RSV3
  CHECK(error_of(frame(0x3, "x")) == 1002);                          // reserved data opcode
  CHECK(error_of(frame(0xB, "x")) == 1002);                          // reserved control opcode
  CHECK(error_of(frame(kPing, "x", false)) == 1002);                 // fragmented control
  CHECK(error_of(frame(kPing, std::string(126, 'x'))) == 1002);      // control too long
  CHECK(error_of(frame(kContinuation, "x")) == 1002);                // nothing to continue
  CHECK(error_of(frame(kText, "a", false) + frame(kText, "b")) == 1002);  // new message inside one
  CHECK(error_of(frame(kClose, "\x03")) == 1002);                    // 1-byte close payload
  CHECK(error_of(frame(kClose, "\x03\xed")) == 1002);                // 1005 is not sendable
  // After an error everything is discarded.
  FrameParser p;
  auto g = feed(p, frame(kText, "x", true, false), {100});
  REQUIRE(g.back().kind == Ev::kError);
  std::string more = frame(kText, "ok");
  size_t pos = 0;
  CHECK(p.next(more.data(), more.size(), pos, 100).kind == Ev::kNeedMore);
  CHECK(pos == more.size());
  CHECK(p.failed());
}

TEST_CASE("ws: the message limit (1009) counts every fragment, seen from the header", "[unit][ws]") {
  CHECK(feed_all(frame(kText, std::string(1024, 'a')), 1024).at(0).kind == Ev::kMessage);
  auto g = feed_all(frame(kText, std::string(1025, 'a')), 1024);
  CHECK((g.back().kind == Ev::kError && g.back().code == 1009));
  // Only the header of the oversized frame has arrived: already an error.
  std::string head = frame(kText, std::string(5000, 'a')).substr(0, 8);
  g = feed_all(head, 1024);
  REQUIRE_FALSE(g.empty());
  CHECK(g.back().code == 1009);
  // Fragments each under the limit, together over it.
  g = feed_all(frame(kText, std::string(600, 'a'), false) + frame(kContinuation, std::string(600, 'a'), false),
               1024);
  CHECK((g.back().kind == Ev::kError && g.back().code == 1009));
  // Together exactly at it.
  g = feed_all(frame(kText, std::string(600, 'a'), false) + frame(kContinuation, std::string(424, 'a')), 1024);
  CHECK((g.back().kind == Ev::kMessage && g.back().payload.size() == 1024));
}

TEST_CASE("ws: text must be UTF-8 (1007), binary need not", "[unit][ws]") {
  auto g = feed_all(frame(kText, "ok \xff"));
  CHECK((g.back().kind == Ev::kError && g.back().code == 1007));
  // A code point split across fragments is fine; an invalid assembled one is not.
  g = feed_all(frame(kText, "\xe2\x82", false) + frame(kContinuation, "\xac"));
  CHECK((g.back().kind == Ev::kMessage && g.back().payload == "\xe2\x82\xac"));
  g = feed_all(frame(kText, "\xe2\x82", false) + frame(kContinuation, "x"));
  CHECK((g.back().kind == Ev::kError && g.back().code == 1007));
  g = feed_all(frame(kBinary, "\xff\xfe"));
  CHECK((g.back().kind == Ev::kMessage && !g.back().text));
  g = feed_all(frame(kClose, "\x03\xe8\xff"));
  CHECK((g.back().kind == Ev::kError && g.back().code == 1007));
}

TEST_CASE("ws: non-minimal and out-of-range lengths", "[unit][ws]") {
  // 16-bit length used for 5 bytes.
  std::string f = "\x81\xfe";
  f += std::string("\x00\x05", 2);
  f += std::string("\x00\x00\x00\x00", 4) + "hello";
  CHECK(feed_all(f).back().code == 1002);
  // 64-bit length with the top bit set.
  std::string g = "\x81\xff";
  g += std::string("\x80\x00\x00\x00\x00\x00\x00\x00", 8);
  g += std::string("\x00\x00\x00\x00", 4);
  CHECK(feed_all(g).back().code == 1002);
}

TEST_CASE("ws: each error's code and reason, and which wins when several apply", "[unit][ws]") {
  struct Err {
    uint16_t code;
    std::string reason;
    bool operator==(const Err&) const = default;
  };
  auto error_of = [](const std::string& in, uint64_t max = 1 << 20) {
    auto g = feed_all(in, max);
    REQUIRE_FALSE(g.empty());
    REQUIRE(g.back().kind == Ev::kError);
    return Err{g.back().code, g.back().payload};
  };
  const std::string open = frame(kText, "a", false);  // a fragmented message, left open
  // The first two bytes: reserved bits, then the mask, then the opcode and its rules.
  CHECK(error_of(frame(kText, "x", true, false, 0x40)) == Err{1002, "reserved bits set"});
  CHECK(error_of(frame(0x3, "x", true, false)) == Err{1002, "client frame not masked"});
  CHECK(error_of(frame(0xB, "x", false)) == Err{1002, "unknown opcode"});
  CHECK(error_of(frame(0x3, "x")) == Err{1002, "unknown opcode"});
  CHECK(error_of(open + frame(0x3, "x")) == Err{1002, "unknown opcode"});
  CHECK(error_of(frame(kPing, std::string(126, 'x'), false)) ==
        Err{1002, "fragmented control frame"});
  CHECK(error_of(open + frame(kClose, "", false)) == Err{1002, "fragmented control frame"});
  CHECK(error_of(frame(kPing, std::string(126, 'x'))) == Err{1002, "control frame too long"});
  CHECK(error_of(frame(kContinuation, std::string(2000, 'x')), 1024) ==
        Err{1002, "continuation without a message"});
  CHECK(error_of(open + frame(kBinary, std::string(2000, 'x')), 1024) ==
        Err{1002, "new message inside a fragmented one"});
  // Those fail on the first two bytes alone; a bad length needs its whole header.
  std::string two = frame(kPing, "x", false).substr(0, 2);
  CHECK(error_of(two) == Err{1002, "fragmented control frame"});
  CHECK(feed_all(std::string("\x81\xfe\x00", 3)).empty());
  // The length: minimal form and range, before the message limit.
  const std::string mask("\x00\x00\x00\x00", 4);
  CHECK(error_of(std::string("\x81\xfe\x00\x05", 4) + mask + "hello", 1) ==
        Err{1002, "length not minimal"});
  CHECK(error_of(std::string("\x81\xff\x00\x00\x00\x00\x00\x00\x00\x05", 10) + mask + "hello") ==
        Err{1002, "length not minimal"});
  CHECK(error_of(std::string("\x81\xff\x00\x00\x00\x00\x00\x00\xff\xff", 10) + mask) ==
        Err{1002, "length not minimal"});
  CHECK(error_of(std::string("\x81\xff\x80\x00\x00\x00\x00\x00\x00\x00", 10) + mask, 1024) ==
        Err{1002, "length out of range"});
  CHECK(error_of(std::string("\x81\xff\x00\x00\x00\x00\x00\x01\x00\x00", 10) + mask, 1024) ==
        Err{1009, "message too big"});
  CHECK(error_of(frame(kText, "x", true), 0) == Err{1009, "message too big"});
  CHECK(error_of(open + frame(kContinuation, std::string(1024, 'x')), 1024) ==
        Err{1009, "message too big"});
  // The payload: close frames, then text.
  CHECK(error_of(frame(kClose, "\x03")) == Err{1002, "bad close frame"});
  CHECK(error_of(frame(kClose, "\x03\xed\xff")) == Err{1002, "bad close code"});
  CHECK(error_of(frame(kClose, std::string("\x0f\xa0\xff", 3))) == Err{1007, "bad close reason"});
  CHECK(error_of(frame(kText, "ok \xff")) == Err{1007, "text not UTF-8"});
  CHECK(error_of(open + frame(kContinuation, "\xff")) == Err{1007, "text not UTF-8"});
  // A close frame split across reads is checked once whole, like one in place.
  FrameParser p;
  auto g = feed(p, frame(kClose, std::string("\x0f\xa0\xff", 3)), {7});  // header + 1 byte
  REQUIRE(g.size() == 1);
  CHECK(Err{g[0].code, g[0].payload} == Err{1007, "bad close reason"});
}
