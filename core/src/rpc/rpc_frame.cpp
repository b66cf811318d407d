#include "rpc/rpc_frame.hpp"

#include <boost/json.hpp>

#include "routing/finite_numbers.hpp"

namespace switchboard::rpc {
namespace json = boost::json;

RpcDecode decode_rpc_frame(std::string_view text, unsigned max_depth, RpcFrame& out,
                           std::string& error_code, std::string& error_message) {
  auto fail = [&](RpcDecode r, std::string msg) {
    error_code = "bad_request";
    error_message = std::move(msg);
    return r;
  };
  out = RpcFrame{};
  json::parse_options opt;
  opt.max_depth = max_depth;
  std::error_code ec;
  json::value v = json::parse(json::string_view(text.data(), text.size()), ec, {}, opt);
  if (ec) return fail(RpcDecode::kBadFrame, "not valid JSON: " + ec.message());
  if (!v.is_object()) return fail(RpcDecode::kBadFrame, "a frame must be a JSON object");
  auto& o = v.get_object();
  const json::value* t = o.if_contains("t");
  const json::value* id = o.if_contains("id");
  if (t == nullptr || !t->is_string() || t->get_string() != "rpc")
    return fail(RpcDecode::kBadFrame, "unknown frame type (expected \"t\":\"rpc\")");
  if (id != nullptr && id->is_uint64()) out.id = id->get_uint64();
  else if (id != nullptr && id->is_int64() && id->get_int64() >= 0)
    out.id = static_cast<uint64_t>(id->get_int64());
  else return fail(RpcDecode::kBadFrame, "\"id\" must be a non-negative integer");
  if (out.id > (uint64_t{1} << 53) - 1) {
    out.id = 0;
    return fail(RpcDecode::kBadFrame, "\"id\" must be at most 2^53-1");
  }

  const json::value* m = o.if_contains("m");
  if (m == nullptr || !m->is_string() || m->get_string().empty() ||
      m->get_string().size() > kMaxMethodBytes)
    return fail(RpcDecode::kBadCall, "\"m\" must be a method name of 1.." +
                                         std::to_string(kMaxMethodBytes) + " bytes");
  const json::value* p = o.if_contains("p");
  if (p != nullptr && !p->is_array()) return fail(RpcDecode::kBadCall, "\"p\" must be an array");
  if (p != nullptr && !routing::all_numbers_finite(p->get_array()))
    return fail(RpcDecode::kBadCall, std::string("\"p\" ") + routing::kNonFiniteNumber);
  out.method = m->get_string();
  if (p != nullptr) out.params = std::move(o["p"].get_array());
  return RpcDecode::kOk;
}

}  // namespace switchboard::rpc
