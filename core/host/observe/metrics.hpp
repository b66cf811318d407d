// Server-wide counters for /metrics (Prometheus text) and /healthz (JSON).
// Lock-free: every field is a relaxed atomic, bumped from any thread. Counters
// only: nothing in the server reads them to decide anything.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "observe/component_state.hpp"

namespace switchboard::observe {

// What the two pages show beside the counters: state owned and acted on
// elsewhere (the plugins' states by PluginHost, the open connections by
// net::OpenConnections), read when a page is rendered.
struct LiveState {
  const ComponentState& transport;
  const ComponentState& store;
  size_t connections = 0;  // open WebSocket connections
};

struct Metrics {
  std::atomic<uint64_t> connections_total{0};
  std::atomic<uint64_t> connections_refused{0};  // origin, caps, store down
  std::atomic<uint64_t> tls_handshake_failures{0};  // server.tls_cert: handshakes that failed
  std::atomic<uint64_t> tls_reloads{0};             // SIGHUP reloads that took effect
  std::atomic<uint64_t> tls_reload_failures{0};     // SIGHUP reloads refused (bad files)
  std::atomic<uint64_t> events_published{0};     // handed to the transport
  std::atomic<uint64_t> events_delivered{0};     // frames queued to connections
  std::atomic<uint64_t> control_queue_full{0};  // refused: limits.control_queue
  std::atomic<uint64_t> loop_inbox_full{0};     // dropped: limits.loop_inbox
  std::atomic<uint64_t> events_dropped{0};       // refused by the transport
  std::atomic<uint64_t> bus_messages{0};         // received from the transport
  std::atomic<uint64_t> bus_malformed{0};        // received and dropped as invalid
  std::atomic<uint64_t> bus_expansion_refused{0};  // channel frames past max_bus_expansion_bytes
  std::atomic<uint64_t> rpc_calls{0};
  std::atomic<uint64_t> rpc_errors{0};
  std::atomic<uint64_t> rpc_rate_limited{0};
  std::atomic<uint64_t> slow_client_disconnects{0};
  std::atomic<uint64_t> bad_frames{0};
  std::atomic<uint64_t> sessions_created{0};  // session records created by upgrades
  std::atomic<uint64_t> sessions_refused{0};  // record creations refused by a cap

  std::string prometheus_text(const LiveState& live) const;
  // {"status":"ok"|"unavailable","transport":{...},"session_store":{...},"connections":N}
  std::string health_json(const LiveState& live, bool& healthy) const;
};

// Session-store completions ignored as duplicate or late (a plugin bug). Process-wide
// rather than a Metrics field: a plugin may complete an operation after the server
// (and its Metrics) that started it is gone. Bumped by plugin::CompletionRegistry.
std::atomic<uint64_t>& store_duplicate_completions();

inline void bump(std::atomic<uint64_t>& c, uint64_t n = 1) {
  c.fetch_add(n, std::memory_order_relaxed);
}

}  // namespace switchboard::observe
