#include "net/ws_frame.hpp"

#include <algorithm>
#include <cstring>

#include <openssl/evp.h>

namespace switchboard::net::ws {

namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

// XORs n bytes with the 4-byte mask, the first byte being at mask offset `off`.
void unmask(char* p, size_t n, const uint8_t mask[4], size_t off) {
  uint8_t m[8];
  for (size_t i = 0; i < 8; ++i) m[i] = mask[(off + i) & 3];
  uint64_t m64;
  std::memcpy(&m64, m, 8);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t v;
    std::memcpy(&v, p + i, 8);
    v ^= m64;
    std::memcpy(p + i, &v, 8);
  }
  for (; i < n; ++i) p[i] = static_cast<char>(static_cast<uint8_t>(p[i]) ^ m[i & 7]);
}

bool valid_close_code(uint16_t c) {
  if (c >= 3000 && c <= 4999) return true;
  if (c < 1000 || c > 1014) return false;
  return c != 1004 && c != 1005 && c != 1006;
}

// A control frame's error in its first two bytes: an unknown opcode, fragmented, over 125 bytes.
const char* control_header_error(uint8_t op, bool fin, uint8_t len7) {
  if (op != kClose && op != kPing && op != kPong) return "unknown opcode";
  if (!fin) return "fragmented control frame";
  if (len7 > 125) return "control frame too long";
  return nullptr;
}

// A data frame's error in its first two bytes: an unknown opcode, a continuation out of place.
const char* data_header_error(uint8_t op, bool message_open) {
  if (op != kContinuation && op != kText && op != kBinary) return "unknown opcode";
  if (op == kContinuation && !message_open) return "continuation without a message";
  if (op != kContinuation && message_open) return "new message inside a fragmented one";
  return nullptr;
}

// The protocol error (1002) in a frame's first two bytes, or nullptr: RSV bits, mask, opcode.
const char* first_two_bytes_error(const uint8_t hdr[2], bool message_open) {
  if (hdr[0] & 0x70) return "reserved bits set";
  if (!(hdr[1] & 0x80)) return "client frame not masked";
  const uint8_t op = hdr[0] & 0x0F;
  if (op & 0x8) return control_header_error(op, (hdr[0] & 0x80) != 0, hdr[1] & 0x7F);
  return data_header_error(op, message_open);
}

// Decodes an ext-byte (0, 2, 8) length into len; the error if not minimal or the top bit is set.
const char* extended_length_error(const uint8_t* ext_bytes, size_t ext, uint64_t& len) {
  if (ext == 2) {
    len = (uint64_t{ext_bytes[0]} << 8) | ext_bytes[1];
    if (len < 126) return "length not minimal";
  } else if (ext == 8) {
    len = 0;
    for (size_t i = 0; i < 8; ++i) len = (len << 8) | ext_bytes[i];
    if (len >> 63) return "length out of range";
    if (len <= 0xFFFF) return "length not minimal";
  }
  return nullptr;
}

}  // namespace

bool valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const uint8_t* end = p + s.size();
  while (p < end) {
    // ASCII fast path, 8 bytes at a time.
    if (end - p >= 8) {
      uint64_t v;
      std::memcpy(&v, p, 8);
      if ((v & 0x8080808080808080ULL) == 0) {
        p += 8;
        continue;
      }
    }
    uint8_t c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    size_t n;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;  // continuation byte, C0/C1 (overlong) or F5..FF
    }
    if (static_cast<size_t>(end - p) <= n) return false;
    for (size_t i = 1; i <= n; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (n == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) return false;
    if (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) return false;
    p += n + 1;
  }
  return true;
}

std::string accept_key(std::string_view client_key) {
  std::string in;
  in.reserve(client_key.size() + kGuid.size());
  in.append(client_key).append(kGuid);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(in.data(), in.size(), digest, &len, EVP_sha1(), nullptr);
  unsigned char out[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
  int n = EVP_EncodeBlock(out, digest, static_cast<int>(len));
  return std::string(reinterpret_cast<const char*>(out), static_cast<size_t>(n));
}

size_t encode_header(uint8_t* out, uint8_t opcode, uint64_t size) {
  out[0] = static_cast<uint8_t>(0x80 | opcode);
  if (size < 126) {
    out[1] = static_cast<uint8_t>(size);
    return 2;
  }
  if (size <= 0xFFFF) {
    out[1] = 126;
    out[2] = static_cast<uint8_t>(size >> 8);
    out[3] = static_cast<uint8_t>(size);
    return 4;
  }
  out[1] = 127;
  for (int i = 0; i < 8; ++i) out[2 + i] = static_cast<uint8_t>(size >> (56 - 8 * i));
  return 10;
}

void append_control(std::string& out, uint8_t opcode, std::string_view payload) {
  payload = payload.substr(0, 125);
  uint8_t h[10];
  size_t hl = encode_header(h, opcode, payload.size());
  out.append(reinterpret_cast<const char*>(h), hl);
  out.append(payload);
}

void append_close(std::string& out, uint16_t code, std::string_view reason) {
  if (code == 0) return append_control(out, kClose, {});
  std::string p;
  p += static_cast<char>(code >> 8);
  p += static_cast<char>(code & 0xFF);
  p.append(reason.substr(0, 123));
  append_control(out, kClose, p);
}

FrameParser::Event FrameParser::fail(uint16_t code, const char* reason, size_t& pos, size_t size) {
  failed_ = true;
  pos = size;
  std::string().swap(msg_);
  std::string().swap(ctrl_);
  Event e;
  e.kind = Event::kError;
  e.code = code;
  e.reason = reason;
  return e;
}

bool FrameParser::take_payload(std::string& into, const char* data, size_t& pos, size_t avail) {
  size_t k = static_cast<size_t>(std::min<uint64_t>(avail, remaining_));
  size_t at = into.size();
  into.append(data + pos, k);
  unmask(into.data() + at, k, mask_, mask_off_);
  mask_off_ = static_cast<uint8_t>((mask_off_ + k) & 3);
  pos += k;
  remaining_ -= k;
  if (remaining_ > 0) return false;
  in_payload_ = false;
  return true;
}

FrameParser::Event FrameParser::control_event(std::string_view payload, size_t& pos, size_t size) {
  Event e;
  if (frame_op_ == kPing) {
    e.kind = Event::kPing;
    e.payload = payload;
  } else if (frame_op_ == kPong) {
    e.kind = Event::kPong;
    e.payload = payload;
  } else {  // close
    e.kind = Event::kClose;
    if (payload.size() == 1) return fail(close_code::kProtocolError, "bad close frame", pos, size);
    if (payload.size() >= 2) {
      e.code = static_cast<uint16_t>((static_cast<uint8_t>(payload[0]) << 8) |
                                     static_cast<uint8_t>(payload[1]));
      if (!valid_close_code(e.code)) return fail(close_code::kProtocolError, "bad close code", pos, size);
      e.payload = payload.substr(2);
      if (!valid_utf8(e.payload)) return fail(close_code::kBadPayload, "bad close reason", pos, size);
    }
  }
  return e;
}

// The steps of next(), in the order a frame goes through them.

void FrameParser::release_handed_out() {
  if (release_msg_) {
    std::string().swap(msg_);
    release_msg_ = false;
  }
  if (release_ctrl_) {
    std::string().swap(ctrl_);
    release_ctrl_ = false;
  }
}

bool FrameParser::take_header(const char* data, size_t size, size_t& pos, size_t want) {
  if (hdr_len_ >= want) return true;
  size_t k = std::min(want - hdr_len_, size - pos);
  std::memcpy(hdr_ + hdr_len_, data + pos, k);
  hdr_len_ = static_cast<uint8_t>(hdr_len_ + k);
  pos += k;
  return hdr_len_ == want;
}

std::optional<FrameParser::Event> FrameParser::read_header(const char* data, size_t size,
                                                           size_t& pos, uint64_t max_message) {
  if (!take_header(data, size, pos, 2)) return Event{};
  // Checks that need only the first two bytes fail at once.
  if (const char* why = first_two_bytes_error(hdr_, msg_op_ != 0))
    return fail(close_code::kProtocolError, why, pos, size);
  const uint8_t len7 = hdr_[1] & 0x7F;
  const size_t ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
  if (!take_header(data, size, pos, 2 + ext + 4)) return Event{};  // masked: checked above
  hdr_len_ = 0;
  uint64_t len = len7;
  if (const char* why = extended_length_error(hdr_ + 2, ext, len))
    return fail(close_code::kProtocolError, why, pos, size);
  std::memcpy(mask_, hdr_ + 2 + ext, 4);
  const uint8_t op = hdr_[0] & 0x0F;
  if (!(op & 0x8)) {  // data frame
    uint64_t before = op == kContinuation ? msg_.size() : 0;
    if (len > max_message || before + len > max_message)
      return fail(close_code::kTooBig, "message too big", pos, size);
    if (op != kContinuation) msg_op_ = op;
  }
  frame_op_ = op;
  frame_fin_ = (hdr_[0] & 0x80) != 0;
  remaining_ = len;
  mask_off_ = 0;
  in_payload_ = true;
  return std::nullopt;
}

std::string_view FrameParser::take_in_place(char* data, size_t& pos) {
  char* p = data + pos;
  size_t n = static_cast<size_t>(remaining_);
  unmask(p, n, mask_, 0);
  pos += n;
  in_payload_ = false;
  return {p, n};
}

FrameParser::Event FrameParser::control_frame(char* data, size_t size, size_t& pos) {
  const size_t avail = size - pos;
  if (ctrl_.empty() && avail >= remaining_) {
    std::string_view payload = take_in_place(data, pos);
    return control_event(payload, pos, size);
  }
  if (!take_payload(ctrl_, data, pos, avail)) return {};
  release_ctrl_ = true;
  return control_event(ctrl_, pos, size);
}

std::optional<FrameParser::Event> FrameParser::data_frame(char* data, size_t size, size_t& pos) {
  const size_t avail = size - pos;
  if (frame_fin_ && frame_op_ != kContinuation && msg_.empty() && avail >= remaining_) {
    // A whole single-frame message in the input: handed out in place.
    std::string_view payload = take_in_place(data, pos);
    return message_event(payload, pos, size);
  }
  if (!take_payload(msg_, data, pos, avail)) return Event{};
  if (!frame_fin_) return std::nullopt;
  release_msg_ = true;
  return message_event(msg_, pos, size);
}

FrameParser::Event FrameParser::message_event(std::string_view payload, size_t& pos, size_t size) {
  Event e;
  e.kind = Event::kMessage;
  e.text = msg_op_ == kText;
  msg_op_ = 0;
  e.payload = payload;
  if (e.text && !valid_utf8(e.payload))
    return fail(close_code::kBadPayload, "text not UTF-8", pos, size);
  return e;
}

FrameParser::Event FrameParser::next(char* data, size_t size, size_t& pos, uint64_t max_message) {
  release_handed_out();
  if (failed_) {
    pos = size;
    return {};
  }
  for (;;) {
    if (!in_payload_) {
      if (auto stop = read_header(data, size, pos, max_message)) return *stop;
    }
    if (frame_op_ & 0x8) return control_frame(data, size, pos);
    if (auto e = data_frame(data, size, pos)) return *e;
    // A fragment before the last one: on to the next frame.
  }
}

}  // namespace switchboard::net::ws
