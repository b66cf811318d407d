// What every subscriber does before the measurement, shared by the driver (to
// know each message's fan-out) and the worker processes (to do it).
#pragma once

#include <string>
#include <vector>

#include "protocol.hpp"

namespace switchboard::bench {

enum class Setup {
  none,      // connect only (idle connections, targeted by socket id)
  room,      // subscribe to "room" (broadcast)
  rooms,     // subscribe to "p<i>" and "g<i/10>" (personal channel + 10-member group)
  user,      // sign in as "u<i>" (targeted by user id)
};

constexpr size_t kGroupSize = 10;

inline std::string personal_channel(size_t i) { return "p" + std::to_string(i); }
inline std::string group_channel(size_t g) { return "g" + std::to_string(g); }
inline std::string user_name(size_t i) { return "u" + std::to_string(i); }

inline std::vector<SetupStep> setup_for(Setup s, size_t i) {
  switch (s) {
    case Setup::none: return {};
    case Setup::room: return {{SetupStep::subscribe, {"room"}}};
    case Setup::rooms:
      return {{SetupStep::subscribe, {personal_channel(i), group_channel(i / kGroupSize)}}};
    case Setup::user: return {{SetupStep::sign_in, {user_name(i)}}};
  }
  return {};
}

struct WorkerPlan {
  std::string protocol;
  std::string host;
  uint16_t port = 0;
  bool tls = false;  // wss://
  Setup setup = Setup::none;
  size_t first = 0;    // subscriber indices [first, first + count)
  size_t count = 0;
  size_t window = 200;  // connection attempts in flight
};

// Runs a worker process's event loop, taking commands on `fd` (docs in worker.cpp).
int run_worker(const WorkerPlan& plan, int fd);

}  // namespace switchboard::bench
