// Decoding of one client RPC frame (protocol v1, docs/protocol.md):
//
//   {"t":"rpc","id":<0..2^53-1>,"m":"<method>","p":[...]}
//
// Pure: no I/O, no connection state, so it can be unit-tested and fuzzed on its
// own. Everything from the client is checked here: JSON depth, every field's
// type, and that every number in "p" is finite (Boost.JSON turns 1e999 into an
// infinity, which would not survive being echoed back as JSON).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/array.hpp>

#include "status/result.hpp"

namespace switchboard::rpc {

struct RpcFrame {
  uint64_t id = 0;
  std::string method;
  boost::json::array params;
};

// The longest method name accepted.
inline constexpr size_t kMaxMethodBytes = 256;

// The call, or kInvalid with a message naming the problem (the client hears it
// as "bad_request"). `id` is set once the frame's id has been read: a later
// failure (method, params) is answered to that call; an earlier one (not JSON,
// not an rpc frame, no usable id) leaves it empty and gets an id-less error frame.
Result<RpcFrame> decode_rpc_frame(std::string_view text, unsigned max_depth,
                                  std::optional<uint64_t>& id);

}  // namespace switchboard::rpc
