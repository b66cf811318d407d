#include "rpc/rpc_frame.hpp"

#include <boost/json.hpp>

#include "protocol/json_text.hpp"
#include "routing/finite_numbers.hpp"

namespace switchboard::rpc {
namespace json = boost::json;

namespace {

Status invalid(std::string msg) { return Status(StatusCode::kInvalid, std::move(msg)); }

}  // namespace

Result<RpcFrame> decode_rpc_frame(std::string_view text, unsigned max_depth,
                                  std::optional<uint64_t>& id) {
  id.reset();
  std::error_code ec;
  json::value v = protocol::parse_untrusted(text, max_depth, ec);
  if (ec) return invalid("not valid JSON: " + ec.message());
  if (!v.is_object()) return invalid("a frame must be a JSON object");
  auto& o = v.get_object();
  const json::value* t = o.if_contains("t");
  const json::value* i = o.if_contains("id");
  if (t == nullptr || !t->is_string() || t->get_string() != "rpc")
    return invalid("unknown frame type (expected \"t\":\"rpc\")");
  RpcFrame out;
  if (i != nullptr && i->is_uint64()) out.id = i->get_uint64();
  else if (i != nullptr && i->is_int64() && i->get_int64() >= 0)
    out.id = static_cast<uint64_t>(i->get_int64());
  else return invalid("\"id\" must be a non-negative integer");
  if (out.id > (uint64_t{1} << 53) - 1) return invalid("\"id\" must be at most 2^53-1");
  id = out.id;  // from here on, a failure is answered to the call

  const json::value* m = o.if_contains("m");
  if (m == nullptr || !m->is_string() || m->get_string().empty() ||
      m->get_string().size() > kMaxMethodBytes)
    return invalid("\"m\" must be a method name of 1.." + std::to_string(kMaxMethodBytes) +
                   " bytes");
  const json::value* p = o.if_contains("p");
  if (p != nullptr && !p->is_array()) return invalid("\"p\" must be an array");
  if (p != nullptr && !routing::all_numbers_finite(p->get_array()))
    return invalid(std::string("\"p\" ") + routing::kNonFiniteNumber);
  out.method = m->get_string();
  if (p != nullptr) out.params = std::move(o["p"].get_array());
  return out;
}

}  // namespace switchboard::rpc
