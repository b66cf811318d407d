// switchboard/transport.hpp — the Transport interface: a bus that moves bytes.
//
// The core never asks a transport to target anything: it publishes opaque bytes
// (a JSON envelope) and every instance on the same bus, the publisher included,
// hands each message back with Host::deliver(). Targeting (all / channel / user /
// socketId) is resolved by each server against its own connections.
//
// Threading (docs/threading.md): start, publish and stop are called from one host
// control thread, never concurrently, and must not block — except that a plugin
// declaring SWITCHBOARD_CAP_PUBLISH_ANY_THREAD (ABI 1.3) gets publish() from any
// thread, concurrently with itself (never during start/stop). Host callbacks may come
// from any plugin thread. After stop() returns no callback arrives and all plugin
// threads are joined. The same interface is what the core sees: core-side proxies
// wrap a loaded plugin's C table back into this class.
#pragma once

#include <string_view>

#include "switchboard/status.hpp"

namespace switchboard {

class Transport {
 public:
  virtual ~Transport() = default;

  // Begin connecting (non-blocking). Report progress with Host::report_state.
  virtual Status start() = 0;
  // Send one message to the bus. kOk, kBackpressure (dropped) or kUnavailable.
  // The bytes are borrowed for the call.
  virtual Status publish(std::string_view bytes) = 0;
  // Disconnect and join every thread. Idempotent.
  virtual void stop() = 0;
};

}  // namespace switchboard
