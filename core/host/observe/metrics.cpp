#include "observe/metrics.hpp"

#include <boost/json.hpp>
#include <utility>

#include "switchboard/status.hpp"
#include "sync/mutex.hpp"

namespace switchboard::observe {
namespace {
// One metric family: HELP, TYPE and a single sample.
void family(std::string& out, const char* type, const char* name, const char* help,
            const std::string& labels, const std::string& value) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
  out.append(name).append(labels).append(" ").append(value).append("\n");
}
void counter(std::string& out, const char* name, const char* help, uint64_t v) {
  family(out, "counter", name, help, "", std::to_string(v));
}
void gauge(std::string& out, const char* name, const char* help, const std::string& labels,
           int64_t v) {
  family(out, "gauge", name, help, labels, std::to_string(v));
}
}  // namespace

void ComponentState::count(std::string_view event, uint64_t delta) {
  if (event.empty() || event.size() > 64) return;
  for (char c : event)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return;
  sync::Lock lock(mu);
  auto it = events.find(event);
  if (it == events.end()) {
    if (events.size() >= kMaxEvents) return;
    it = events.emplace(std::string(event), 0).first;
  }
  it->second += delta;
}

std::atomic<uint64_t>& store_duplicate_completions() {
  static std::atomic<uint64_t> count{0};
  return count;
}

std::string Metrics::prometheus_text(const LiveState& live) const {
  const ComponentState& transport = live.transport;
  const ComponentState& store = live.store;
  std::string o;
  o.reserve(2048);
  gauge(o, "switchboard_connections", "Open WebSocket connections.", "",
        static_cast<int64_t>(live.connections));
  counter(o, "switchboard_connections_total", "WebSocket connections accepted.",
          connections_total.load());
  counter(o, "switchboard_connections_refused_total",
          "Upgrades refused (origin, connection caps, session store down).",
          connections_refused.load());
  counter(o, "switchboard_tls_handshake_failures_total",
          "TLS handshakes that failed or timed out (a TLS listener only).",
          tls_handshake_failures.load());
  counter(o, "switchboard_tls_reloads_total", "SIGHUP reloads of the TLS certificate and key.",
          tls_reloads.load());
  counter(o, "switchboard_tls_reload_failures_total",
          "SIGHUP reloads refused (a bad file); the previous certificate stays in use.",
          tls_reload_failures.load());
  counter(o, "switchboard_events_published_total", "Messages handed to the transport.",
          events_published.load());
  counter(o, "switchboard_events_delivered_total", "Event frames queued to connections.",
          events_delivered.load());
  counter(o, "switchboard_events_dropped_total",
          "Messages not published: refused by the transport (backpressure, broker down) or "
          "before it (transport not connected, control queue full).",
          events_dropped.load());
  family(o, "counter", "switchboard_backpressure_total",
         "Work refused because a bounded queue was full: control (publishes and session-store "
         "calls, limits.control_queue), loop (bus deliveries to one event loop, limits.loop_inbox).",
         "{queue=\"control\"}", std::to_string(control_queue_full.load()));
  o.append("switchboard_backpressure_total{queue=\"loop\"} ")
      .append(std::to_string(loop_inbox_full.load()))
      .append("\n");
  counter(o, "switchboard_bus_messages_total", "Messages received from the bus.",
          bus_messages.load());
  counter(o, "switchboard_bus_malformed_total", "Bus messages dropped as malformed.",
          bus_malformed.load());
  counter(o, "switchboard_bus_expansion_refused_total",
          "Channel frames not built because their bus message passed "
          "limits.max_bus_expansion_bytes (those channels' subscribers missed it).",
          bus_expansion_refused.load());
  counter(o, "switchboard_rpc_calls_total", "RPC calls received.", rpc_calls.load());
  counter(o, "switchboard_rpc_errors_total", "RPC calls answered with an error.",
          rpc_errors.load());
  counter(o, "switchboard_rpc_rate_limited_total", "RPC calls refused by the rate limit.",
          rpc_rate_limited.load());
  counter(o, "switchboard_slow_client_disconnects_total",
          "Connections cut off because their send queue passed its bound.",
          slow_client_disconnects.load());
  counter(o, "switchboard_bad_frames_total", "Client frames rejected as malformed.",
          bad_frames.load());
  counter(o, "switchboard_sessions_created_total",
          "Session records created (a WebSocket upgrade without a known session).",
          sessions_created.load());
  counter(o, "switchboard_sessions_refused_total",
          "Session record creations refused by new_sessions_per_ip, new_sessions_per_second "
          "or a full store (the upgrade got 429 or 503).",
          sessions_refused.load());
  counter(o, "switchboard_store_duplicate_completions_total",
          "Session-store completions ignored: a second completion of one operation, or one "
          "after the store's stop() returned (a plugin bug; see the log).",
          store_duplicate_completions().load());
  gauge(o, "switchboard_transport_state",
        "Transport state: 0 starting, 1 connected, 2 reconnecting, 3 failed, 4 stopped.",
        "{plugin=\"" + transport.name + "\"}", transport.state.load());
  gauge(o, "switchboard_session_store_state", "Session store state (same values).",
        "{plugin=\"" + store.name + "\"}", store.state.load());
  // Counters a plugin keeps itself (Host::count): one family, a sample per event.
  bool headed = false;
  for (auto [c, component] : {std::pair{&transport, "transport"}, std::pair{&store, "session_store"}}) {
    for (const auto& [event, n] : c->get_events()) {
      if (!headed) {
        o.append("# HELP switchboard_plugin_events_total Events a plugin counted (for example messages "
                 "a slow consumer dropped).\n# TYPE switchboard_plugin_events_total counter\n");
        headed = true;
      }
      o.append("switchboard_plugin_events_total{plugin=\"")
          .append(c->name)
          .append("\",component=\"")
          .append(component)
          .append("\",event=\"")
          .append(event)
          .append("\"} ")
          .append(std::to_string(n))
          .append("\n");
    }
  }
  return o;
}

std::string Metrics::health_json(const LiveState& live, bool& healthy) const {
  auto component = [](const ComponentState& c) {
    boost::json::object o;
    o["plugin"] = c.name;
    o["state"] = state_name(static_cast<switchboard_state>(c.state.load()));
    auto d = c.get_detail();
    if (!d.empty()) o["detail"] = d;
    return o;
  };
  healthy = live.transport.state.load() == SWITCHBOARD_STATE_CONNECTED;
  boost::json::object o;
  o["status"] = healthy ? "ok" : "unavailable";
  o["transport"] = component(live.transport);
  o["session_store"] = component(live.store);
  o["connections"] = live.connections;
  return boost::json::serialize(o);
}

}  // namespace switchboard::observe
