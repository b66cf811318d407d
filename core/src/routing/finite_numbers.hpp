// JSON output must stay JSON: Boost.JSON parses a number out of double range
// (`1e999`) as infinity and, in 1.81, `0e400` as NaN, and serializes those as
// `Infinity` / `NaN`, which no JSON parser accepts (one such event inside a batch
// frame makes a browser drop the whole batch). Every value that came from outside
// (RPC params, bus messages, app publishes, handler results) is checked here
// before it can be re-serialized.
#pragma once

#include <cmath>
#include <vector>

#include <boost/json/value.hpp>

namespace switchboard::routing {

// The error text every entry point uses for a non-finite number.
inline constexpr const char* kNonFiniteNumber =
    "holds a number that is not finite (out of double range, e.g. 1e999)";

// True when every number in v is finite. Iterative (an explicit stack), so a
// value an app built without a depth limit cannot overflow the call stack.
inline bool all_numbers_finite(const boost::json::value& v) {
  std::vector<const boost::json::value*> todo{&v};
  while (!todo.empty()) {
    const boost::json::value* cur = todo.back();
    todo.pop_back();
    switch (cur->kind()) {
      case boost::json::kind::double_:
        if (!std::isfinite(cur->get_double())) return false;
        break;
      case boost::json::kind::array:
        for (const auto& e : cur->get_array()) todo.push_back(&e);
        break;
      case boost::json::kind::object:
        for (const auto& kv : cur->get_object()) todo.push_back(&kv.value());
        break;
      default:
        break;
    }
  }
  return true;
}

inline bool all_numbers_finite(const boost::json::array& a) {
  for (const auto& e : a)
    if (!all_numbers_finite(e)) return false;
  return true;
}

}  // namespace switchboard::routing
