// Fuzz target: the WebSocket frame parser (net/ws_frame.hpp) on untrusted client
// bytes. Oracle: the events must not depend on how the bytes were split into
// socket reads — the whole input at once, one fuzzer-chosen split, and one byte
// at a time must give the same messages, pings, pongs, closes and error; every
// call must use all of its input before it asks for more.
//
// Input: byte 0 picks the message limit, bytes 1-2 the split point, the rest is
// the client's byte stream.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <string>
#include <vector>

#include "net/ws_frame.hpp"

using switchboard::net::ws::FrameParser;

namespace {

struct Got {
  FrameParser::Event::Kind kind;
  bool text;
  uint16_t code;
  std::string payload;  // or the error's reason
  bool operator==(const Got&) const = default;
};

[[noreturn]] void finding(const char* what) {
  std::fprintf(stderr, "ws_frame oracle: %s\n", what);
  std::abort();
}

// Feeds the chunks in order, each from a fresh buffer (the parser unmasks in
// place, and a real socket read never reuses the previous bytes).
std::vector<Got> run(const std::vector<std::string>& chunks, uint64_t max_message) {
  FrameParser p;
  std::vector<Got> out;
  for (const auto& c : chunks) {
    std::string buf = c;
    size_t pos = 0;
    for (;;) {
      auto e = p.next(buf.data(), buf.size(), pos, max_message);
      if (pos > buf.size()) finding("pos moved past the input");
      if (e.kind == FrameParser::Event::kNeedMore) {
        if (pos != buf.size()) finding("kNeedMore before the input was used up");
        break;
      }
      out.push_back({e.kind, e.text, e.code,
                     std::string(e.kind == FrameParser::Event::kError ? e.reason : e.payload)});
      if (e.kind == FrameParser::Event::kError) {
        if (!p.failed()) finding("kError but failed() is false");
        return out;
      }
      if (e.kind == FrameParser::Event::kMessage && e.payload.size() > max_message)
        finding("a message above the limit was handed out");
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  static constexpr uint64_t kLimits[] = {0, 1, 125, 126, 1000, 65535, 65536, 1 << 20};
  const uint64_t max_message = kLimits[data[0] % 8];
  std::string stream(reinterpret_cast<const char*>(data + 3), size - 3);
  const size_t split = (size_t{data[1]} << 8 | data[2]) % (stream.size() + 1);

  auto whole = run({stream}, max_message);
  auto two = run({stream.substr(0, split), stream.substr(split)}, max_message);
  if (two != whole) finding("a split input gave different events than the whole input");
  if (stream.size() <= 2048) {  // bytewise is quadratic-ish in copies; bound it
    std::vector<std::string> bytes;
    for (char c : stream) bytes.emplace_back(1, c);
    if (run(bytes, max_message) != whole)
      finding("byte-at-a-time input gave different events than the whole input");
  }
  return 0;
}
