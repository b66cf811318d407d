// The measured payload. Every published message carries, as plain ASCII that
// needs no escaping in any peer's protocol:
//
//   ~b<step:3><publisher:2>.<seq:9>.<sent µs:15>~xxxx…   padded with 'x' to the payload size
//
// step = the rate step, publisher = which publishing connection, seq = that
// publisher's sequence number within the step (order is checked per publisher),
// sent = the intended send time on CLOCK_MONOTONIC (shared by all processes of
// the machine), so receivers in other processes compute latency directly.
// Receivers scan each WebSocket message for every marker, which handles
// servers that pack several messages per frame (Switchboard batches, NATS,
// Centrifugo) without parsing their framing.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace switchboard::bench {

inline uint64_t now_us() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

constexpr size_t kMarkerBytes = 34;
constexpr size_t kMaxPublishers = 16;

struct Marker {
  uint32_t step;
  uint32_t publisher;
  uint32_t seq;
  uint64_t sent_us;
};

inline void put_digits(char* out, uint64_t v, int width) {
  for (int i = width - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
}

inline std::string make_payload(const Marker& m, size_t size) {
  std::string p(size < kMarkerBytes ? kMarkerBytes : size, 'x');
  p[0] = '~';
  p[1] = 'b';
  put_digits(&p[2], m.step, 3);
  put_digits(&p[5], m.publisher, 2);
  p[7] = '.';
  put_digits(&p[8], m.seq, 9);
  p[17] = '.';
  put_digits(&p[18], m.sent_us, 15);
  p[33] = '~';
  return p;
}

inline bool read_digits(const char* in, int width, uint64_t& v) {
  v = 0;
  for (int i = 0; i < width; ++i) {
    if (in[i] < '0' || in[i] > '9') return false;
    v = v * 10 + static_cast<uint64_t>(in[i] - '0');
  }
  return true;
}

// Calls f(Marker) for every well-formed marker in `data`.
template <class F>
void scan_markers(std::string_view data, F&& f) {
  const char* p = data.data();
  const char* end = p + data.size();
  while (end - p >= static_cast<std::ptrdiff_t>(kMarkerBytes)) {
    const void* hit = memmem(p, static_cast<size_t>(end - p) - (kMarkerBytes - 2), "~b", 2);
    if (!hit) return;
    const char* m = static_cast<const char*>(hit);
    uint64_t step, pub, seq, sent;
    if (m[7] == '.' && m[17] == '.' && m[33] == '~' && read_digits(m + 2, 3, step) &&
        read_digits(m + 5, 2, pub) && pub < kMaxPublishers && read_digits(m + 8, 9, seq) &&
        read_digits(m + 18, 15, sent)) {
      f(Marker{static_cast<uint32_t>(step), static_cast<uint32_t>(pub),
               static_cast<uint32_t>(seq), sent});
      p = m + kMarkerBytes;
    } else {
      p = m + 2;
    }
  }
}

}  // namespace switchboard::bench
