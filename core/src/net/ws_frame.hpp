// RFC 6455, server side: the pieces of the WebSocket protocol that WsConnection
// needs, free of any I/O so they can be unit-tested byte by byte.
//
// FrameParser reads client frames from whatever bytes arrived (any split), and
// unmasks them in place: a message whose single frame lies whole in the input is
// handed out as a view into that input (no copy); only the bytes of an
// incomplete frame or of a fragmented message are copied, into a buffer that is
// released once the message has been handed out. Client frames must be masked;
// reserved bits, unknown opcodes, fragmented or oversized control frames, a
// continuation without a message or a new message inside one are protocol errors
// (1002); a message longer than the limit (all fragments counted) is 1009 (seen
// from the frame header, before its payload arrives); a text message that is not
// UTF-8 is 1007.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace switchboard::net::ws {

enum Opcode : uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

namespace close_code {
constexpr uint16_t kNormal = 1000;
constexpr uint16_t kGoingAway = 1001;
constexpr uint16_t kProtocolError = 1002;
constexpr uint16_t kBadPayload = 1007;
constexpr uint16_t kPolicyError = 1008;
constexpr uint16_t kTooBig = 1009;
constexpr uint16_t kTryAgainLater = 1013;
// Ours (4000-4999 are for applications): the connection was closed on request (the
// HTTP API's /api/disconnect); the client may reconnect.
constexpr uint16_t kDisconnected = 4000;
// A token connection (docs/protocol.md "Token authentication"): the token is not
// valid (reconnecting with it fails again), or it expired (get a new one).
constexpr uint16_t kTokenInvalid = 4401;
constexpr uint16_t kTokenExpired = 4402;
}  // namespace close_code

bool valid_utf8(std::string_view s);

// Sec-WebSocket-Accept for a client's Sec-WebSocket-Key.
std::string accept_key(std::string_view client_key);

// Writes the header of an unmasked final frame to `out` (at least 10 bytes);
// returns its length (2, 4 or 10).
size_t encode_header(uint8_t* out, uint8_t opcode, uint64_t payload_size);
// Appends a whole unmasked control frame (payload cut to 125 bytes).
void append_control(std::string& out, uint8_t opcode, std::string_view payload);
// Appends a close frame: no payload when code is 0, else code + reason.
void append_close(std::string& out, uint16_t code, std::string_view reason);

class FrameParser {
 public:
  struct Event {
    enum Kind : uint8_t { kNeedMore, kMessage, kPing, kPong, kClose, kError };
    Kind kind = kNeedMore;
    bool text = false;          // kMessage
    uint16_t code = 0;          // kClose: the peer's code (0: none); kError: the code to close with
    std::string_view payload;   // kMessage, kPing, kPong; kClose: the reason
    const char* reason = "";    // kError
  };

  // The next event from data[pos, size), unmasking in place; `pos` moves past
  // the bytes used. kNeedMore: everything was used (pos == size). A view stays
  // valid until the next call. After kError every later call discards its input.
  Event next(char* data, size_t size, size_t& pos, uint64_t max_message);

  bool failed() const { return failed_; }
  // Bytes held for an incomplete frame or message (0 when idle).
  size_t held_capacity() const {
    const size_t inline_capacity = std::string().capacity();
    return (msg_.capacity() > inline_capacity ? msg_.capacity() : 0) +
           (ctrl_.capacity() > inline_capacity ? ctrl_.capacity() : 0);
  }

 private:
  // next(), step by step:
  // Frees the buffers of the message or control frame handed out by the last call.
  void release_handed_out();
  // Reads and checks a frame header (any split): kNeedMore or kError, or none once it is whole.
  std::optional<Event> read_header(const char* data, size_t size, size_t& pos,
                                   uint64_t max_message);
  // Copies header bytes into hdr_ until it holds `want`; true once it does.
  bool take_header(const char* data, size_t size, size_t& pos, size_t want);
  // A control frame's payload: its event once whole, else kNeedMore.
  Event control_frame(char* data, size_t size, size_t& pos);
  // A data frame's payload: kNeedMore until whole, then the message (none after a non-final one).
  std::optional<Event> data_frame(char* data, size_t size, size_t& pos);
  // Unmasks the current frame's payload where it lies in the input and moves past it.
  std::string_view take_in_place(char* data, size_t& pos);
  // The message that ends with this frame; a text one must be UTF-8 (1007).
  Event message_event(std::string_view payload, size_t& pos, size_t size);
  Event fail(uint16_t code, const char* reason, size_t& pos, size_t size);
  // A ping, a pong or a close; a close's payload must be empty or a valid code + UTF-8 reason.
  Event control_event(std::string_view payload, size_t& pos, size_t size);
  // Appends the current frame's available payload to `into`, unmasked; true
  // once the frame's payload is complete.
  bool take_payload(std::string& into, const char* data, size_t& pos, size_t avail);

  std::string msg_;   // a message being assembled (or a single frame not yet whole)
  std::string ctrl_;  // a control frame not yet whole
  uint64_t remaining_ = 0;  // payload bytes of the current frame still to come
  uint8_t hdr_[14]{};       // a header being assembled
  uint8_t hdr_len_ = 0;
  uint8_t mask_[4]{};
  uint8_t mask_off_ = 0;    // payload bytes done, mod 4
  uint8_t frame_op_ = 0;
  uint8_t msg_op_ = 0;      // kText/kBinary while a fragmented message is open, else 0
  bool frame_fin_ = false;
  bool in_payload_ = false;
  bool failed_ = false;
  bool release_msg_ = false;   // msg_ was handed out: free it on the next call
  bool release_ctrl_ = false;
};

}  // namespace switchboard::net::ws
