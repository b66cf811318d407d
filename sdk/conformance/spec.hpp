// The conformance spec as code: every case has the id and rule of
// docs/conformance-spec.md, a level (MUST fails the run, SHOULD only warns) and
// the capability it needs.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "harness.hpp"

namespace switchboard::conformance {

enum class Level { kMust, kShould };
// kTransportAnyThread: a transport declaring SWITCHBOARD_CAP_PUBLISH_ANY_THREAD.
enum class Needs { kTransport, kStore, kTransportBroker, kStoreBroker, kTransportAnyThread };

struct Case {
  std::string id;     // "T2.03"
  std::string name;   // "order_per_publisher_under_load"
  Level level;
  Needs needs;
  std::string rule;   // one line: what a conforming plugin does
  std::function<void(const KitContext&)> run;  // throws CaseFailure
  std::chrono::seconds watchdog{30};  // the case's budget (scaled by time_scale)
};

std::vector<Case> transport_cases();
std::vector<Case> store_cases();

}  // namespace switchboard::conformance
