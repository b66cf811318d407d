// What the network layer needs from the rest of the server, by reference.
#pragma once

#include <atomic>
#include <memory>
#include <string_view>

#include "api/http_api.hpp"
#include "auth/token_verifier.hpp"
#include "config/settings.hpp"
#include "net/connection_limiter.hpp"
#include "net/open_connections.hpp"
#include "net/tls_context.hpp"
#include "observe/metrics.hpp"
#include "rpc/rpc_router.hpp"
#include "session/session_service.hpp"
#include "switchboard/publisher.hpp"

namespace switchboard::net {

struct NetContext {
  const config::Settings& settings;
  observe::Metrics& metrics;
  const observe::ComponentState& transport_state;  // the PluginHost's
  const observe::ComponentState& store_state;
  session::SessionService& sessions;
  const auth::TokenVerifier& tokens;  // token connections (docs/protocol.md)
  TlsContext* tls;                    // server.tls_cert set: the listener is TLS; else nullptr
  const rpc::RpcRouter& rpc;
  Publisher& publisher;
  api::HttpApi& api;  // /api/…
  std::shared_ptr<ConnectionLimiter> limiter;
  std::string_view client_js;  // served at /switchboard.js
  std::atomic<bool> shutting_down{false};
  OpenConnections open;  // upgraded WebSocket connections not yet ended

  // For /healthz and /metrics.
  observe::LiveState live_state() const { return {transport_state, store_state, open.count()}; }
};

}  // namespace switchboard::net
