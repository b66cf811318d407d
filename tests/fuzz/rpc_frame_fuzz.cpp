// Fuzz target: the client RPC frame decoder (rpc::decode_rpc_frame). Oracle: no
// crash or sanitizer report; a decoded call has an id of at most 2^53-1 (exact in a
// JavaScript number), a method name of 1..kMaxMethodBytes bytes and params whose
// numbers are all finite (checked here independently) and that serialize back
// to JSON; a bad call keeps a valid id; every failure names an error.
//
// Input: byte 0 picks the depth limit, the rest is the frame's text.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <boost/json.hpp>

#include "rpc/rpc_frame.hpp"

namespace json = boost::json;
using namespace switchboard::rpc;

namespace {

[[noreturn]] void finding(const char* what, const std::string& detail = {}) {
  std::fprintf(stderr, "rpc_frame oracle: %s %s\n", what, detail.c_str());
  std::abort();
}

bool finite(const json::value& v) {
  switch (v.kind()) {
    case json::kind::double_: return std::isfinite(v.get_double());
    case json::kind::array:
      for (const auto& e : v.get_array())
        if (!finite(e)) return false;
      return true;
    case json::kind::object:
      for (const auto& kv : v.get_object())
        if (!finite(kv.value())) return false;
      return true;
    default: return true;
  }
}

constexpr uint64_t kMaxId = (uint64_t{1} << 53) - 1;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const unsigned max_depth = 1 + data[0] % 40;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  std::optional<uint64_t> id;
  switchboard::Result<RpcFrame> r = decode_rpc_frame(text, max_depth, id);
  if (!r) {
    if (r.status().message().empty()) finding("a failure without a message");
    if (id && *id > kMaxId) finding("a bad call with an id above 2^53-1");
    return 0;
  }
  RpcFrame& out = r.value();
  if (id != out.id) finding("the id given back differs from the call's");
  if (out.id > kMaxId) finding("id above 2^53-1:", std::to_string(out.id));
  if (out.method.empty() || out.method.size() > kMaxMethodBytes) finding("bad method length");
  if (!finite(out.params)) finding("a non-finite number in params");
  std::error_code ec;
  json::parse_options opt;
  opt.max_depth = 64;
  json::value again = json::parse(json::serialize(out.params), ec, {}, opt);
  if (ec || !again.is_array() || again.get_array().size() != out.params.size())
    finding("params do not serialize back to the same JSON array");
  return 0;
}
