// Fuzz target: the bus envelope codec (routing/envelope.hpp). The bus is
// untrusted (external publishers write to it). Oracle: decode never crashes; an
// envelope that decodes kOk re-encodes (encode_publish / encode_session_sync) to
// valid JSON that decodes kOk again to the same target, event, names and
// session binding (or rotation); at most limits.max_targets names; once the
// codec refuses non-finite numbers (probed at start), nothing it accepts may
// hold one.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <boost/json.hpp>

#include "routing/envelope.hpp"

namespace json = boost::json;
using namespace switchboard::routing;

namespace {

[[noreturn]] void finding(const char* what, const std::string& detail = {}) {
  std::fprintf(stderr, "envelope oracle: %s %s\n", what, detail.c_str());
  std::abort();
}

bool has_non_finite(const json::value& v) {
  switch (v.kind()) {
    case json::kind::double_: return !std::isfinite(v.get_double());
    case json::kind::array:
      for (const auto& e : v.get_array())
        if (has_non_finite(e)) return true;
      return false;
    case json::kind::object:
      for (const auto& kv : v.get_object())
        if (has_non_finite(kv.value())) return true;
      return false;
    default: return false;
  }
}

// Whether this build's decoder already refuses numbers that overflow to ±inf.
bool refuses_non_finite(const DecodeLimits& limits) {
  return !decode_envelope(R"({"t":"all","e":"x","p":[1e999]})", limits).is_ok();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  DecodeLimits limits;
  limits.max_bytes = 64 * 1024;
  limits.max_depth = 16;
  limits.channel_name_bytes = 64;
  limits.user_id_bytes = 32;
  limits.max_targets = 8;
  static const bool kFiniteRule = refuses_non_finite(limits);

  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  switchboard::Result<Envelope> r = decode_envelope(bytes, limits);
  if (!r && r.status().message().empty()) finding("an error without a message");
  if (!r || r->target == Target::kIgnored) return 0;
  const Envelope& env = r.value();

  std::string again;
  if (env.target == Target::kSession) {
    if (env.session_key.empty()) finding("_session accepted without a key");
    again = env.new_session_key.empty() && env.sealed_id.empty()
                ? encode_session_sync(env.session_key, env.user, env.channels, env.nonce)
                : encode_session_rotate(env.session_key, env.new_session_key, env.sealed_id,
                                        env.user, env.channels, env.nonce);
  } else {
    if (env.event.empty()) finding("accepted without an event name");
    std::error_code ec;
    json::value params = json::parse(env.params_json, ec);
    if (ec || !params.is_array()) finding("params_json is not a JSON array", env.params_json);
    if (kFiniteRule && has_non_finite(params)) finding("accepted a non-finite number", env.params_json);
    if (env.targets.size() > limits.max_targets) finding("more targets than max_targets");
    for (const auto& t : env.targets) {
      size_t max = env.target == Target::kUser ? limits.user_id_bytes : limits.channel_name_bytes;
      if (t.empty() || (env.target != Target::kSocket && t.size() > max))
        finding("a target name outside the limits", t);
    }
    again = encode_publish(env.target, env.targets, env.event, params.get_array());
  }

  std::error_code ec;
  json::parse(again, ec);
  if (ec) finding("re-encoded envelope is not JSON", again);
  switchboard::Result<Envelope> r2 = decode_envelope(again, limits);
  if (!r2) finding("re-encoded envelope does not decode", again + " : " + r2.status().message());
  const Envelope& env2 = r2.value();
  if (env2.target != env.target || env2.event != env.event || env2.targets != env.targets ||
      env2.session_key != env.session_key || env2.user != env.user ||
      env2.channels != env.channels || env2.nonce != env.nonce ||
      env2.new_session_key != env.new_session_key || env2.sealed_id != env.sealed_id)
    finding("round trip changed the envelope", again);
  return 0;
}
