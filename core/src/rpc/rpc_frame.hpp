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
#include <string>
#include <string_view>

#include <boost/json/array.hpp>

namespace switchboard::rpc {

struct RpcFrame {
  uint64_t id = 0;
  std::string method;
  boost::json::array params;
};

enum class RpcDecode {
  kOk,        // out is filled
  kBadFrame,  // no usable id: answer with an error frame
  kBadCall,   // out.id is valid: answer with an error reply to it
};

// The longest method name accepted.
inline constexpr size_t kMaxMethodBytes = 256;

// On failure sets error_code ("bad_request") and a message naming the problem.
RpcDecode decode_rpc_frame(std::string_view text, unsigned max_depth, RpcFrame& out,
                           std::string& error_code, std::string& error_message);

}  // namespace switchboard::rpc
