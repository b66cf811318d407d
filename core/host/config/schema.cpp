#include "config/schema.hpp"

namespace switchboard::config {

const std::vector<SectionSpec>& core_schema() {
  using T = switchboard_config_type;
  static const std::vector<SectionSpec> schema = {
      {"server",
       "The HTTP/WebSocket listener.",
       {
           {"listen", T::SWITCHBOARD_CONFIG_STRING, "0.0.0.0:8080", false,
            "Address and port to listen on (HOST:PORT; port 0 picks a free port)."},
           {"threads", T::SWITCHBOARD_CONFIG_STRING, "auto", false,
            "Event-loop threads; `auto` = one per core."},
           {"allowed_origins", T::SWITCHBOARD_CONFIG_STRING_LIST, "[]", false,
            "Origins allowed to open a WebSocket, e.g. `http://localhost:8080`; `*` allows any. "
            "Same-origin (Origin host equals Host) and requests without Origin are always allowed."},
           {"static_dir", T::SWITCHBOARD_CONFIG_STRING, "", false,
            "Folder served as static files at `/` (empty: none): GET/HEAD of regular files "
            "inside it only (the canonical path must stay below the canonical folder), "
            "`index.html` for a path ending in `/`, streamed with ETag, Last-Modified and "
            "single byte ranges."},
           {"static_follow_symlinks", T::SWITCHBOARD_CONFIG_BOOL, "false", false,
            "Serve symlinks below `static_dir` whose target is inside it too; a symlink out "
            "of it is refused either way. Off: any symlink below the folder is a 404, so a "
            "link planted in the folder cannot reach other files."},
           {"handshake_timeout", T::SWITCHBOARD_CONFIG_DURATION, "10s", false,
            "Deadline for an HTTP request's headers and the WebSocket upgrade (slowloris guard)."},
           {"idle_timeout", T::SWITCHBOARD_CONFIG_DURATION, "30s", false,
            "A silent WebSocket is pinged after half this and closed when nothing arrives by it "
            "(checked by a sweep every quarter of it, at least every second)."},
           {"shutdown_timeout", T::SWITCHBOARD_CONFIG_DURATION, "5s", false,
            "On SIGINT/SIGTERM, how long to wait for clients to take the 1001 close."},
           {"write_interval", T::SWITCHBOARD_CONFIG_DURATION, "0ms", false,
            "Write coalescing floor: the shortest time between the starts of two write passes "
            "of one event loop; events queued meanwhile leave in one write per connection. "
            "Coalescing is adaptive without it (a pass waits, after the previous one ended, as "
            "long as that one took, at most 5 ms); an idle loop writes at once."},
           {"keepalive_requests", T::SWITCHBOARD_CONFIG_INT, "100", false,
            "HTTP requests answered on one keep-alive connection; the last answer carries "
            "`Connection: close` (bounds what one connection can take)."},
           {"keepalive_timeout", T::SWITCHBOARD_CONFIG_DURATION, "5s", false,
            "How long a keep-alive HTTP connection may sit idle between requests before it is "
            "closed (the first request has server.handshake_timeout)."},
           {"tls_cert", T::SWITCHBOARD_CONFIG_STRING, "", false,
            "PEM file of the certificate chain (leaf first). Set with `tls_key`, the listener "
            "speaks TLS only (https, wss: TLS 1.2 and 1.3, forward-secret AEAD ciphers) and the "
            "session cookie gets `Secure`; SIGHUP reloads both files without dropping "
            "connections (docs/operations.md \"TLS\"). Empty: plain HTTP."},
           {"tls_key", T::SWITCHBOARD_CONFIG_STRING, "", false,
            "PEM file of the private key of `tls_cert` (unencrypted; keep it readable by the "
            "server's user only)."},
       }},
      {"session",
       "Sessions: the cookie and the store that keeps userId, channels and data.",
       {
           {"store", T::SWITCHBOARD_CONFIG_STRING, "memory", false,
            "Session store plugin name (`memory`, or any plugin in plugins.dir)."},
           {"cookie", T::SWITCHBOARD_CONFIG_STRING, "sb.sid", false, "Session cookie name."},
           {"ttl", T::SWITCHBOARD_CONFIG_DURATION, "7d", false,
            "Sliding lifetime of an unused session."},
           {"secret", T::SWITCHBOARD_CONFIG_STRING, "", false,
            "Key for the session routing hash on the bus; every server on one bus needs the "
            "same. Empty: random per process, allowed only with an unshared transport (memory); "
            "a shared one (redis) refuses to start without it."},
           {"cookie_secure", T::SWITCHBOARD_CONFIG_BOOL, "false", false,
            "Add `Secure` to the session cookie (set it when clients reach the server over "
            "HTTPS through a TLS proxy; with server.tls_cert it is always on)."},
           {"cookie_max_age", T::SWITCHBOARD_CONFIG_DURATION, "0s", false,
            "`Max-Age` of the session cookie; 0: none, the cookie ends with the browser session."},
           {"claim_ttl", T::SWITCHBOARD_CONFIG_DURATION, "60s", false,
            "How long the claim token for a new session cookie (sent when a sign-in rotates the "
            "session id) stays redeemable: long enough for a slow page, short to bound replay."},
       }},
      {"transport",
       "The bus between server processes.",
       {
           {"use", T::SWITCHBOARD_CONFIG_STRING, "memory", false,
            "Transport plugin name (`memory`, or any plugin in plugins.dir)."},
       }},
      {"plugins",
       "Where plugins are found.",
       {
           {"dir", T::SWITCHBOARD_CONFIG_STRING, "", false,
            "Plugins directory. Set: that folder alone. Empty: `plugins/` beside the "
            "executable, then `../lib/switchboard/plugins` from it, then "
            "`<prefix>/lib/switchboard/plugins` of the installation the program was built "
            "against. A missing plugin's error names every folder searched."},
       }},
      {"limits",
       "Bounds on everything that can grow (each exceeded bound is an error the client sees).",
       {
           {"max_message_bytes", T::SWITCHBOARD_CONFIG_INT, "65536", false,
            "Largest client WebSocket message, fragments included (close 1009)."},
           {"send_queue_bytes", T::SWITCHBOARD_CONFIG_INT, "1048576", false,
            "Per-connection outbound queue bound; a slower reader is disconnected (1013)."},
           {"channels_per_session", T::SWITCHBOARD_CONFIG_INT, "1024", false,
            "Most channels one session may be in (`limit_exceeded`)."},
           {"channel_name_bytes", T::SWITCHBOARD_CONFIG_INT, "1024", false,
            "Longest channel name in bytes (`invalid_channel`)."},
           {"user_id_bytes", T::SWITCHBOARD_CONFIG_INT, "256", false, "Longest user id in bytes."},
           {"sessions_per_user", T::SWITCHBOARD_CONFIG_INT, "100", false,
            "Most signed-in sessions one user may have (1..10000): signing in on one more "
            "signs the least recently used one out. Bounds the user's session index that "
            "the HTTP API's session operations read."},
           {"rpc_per_second", T::SWITCHBOARD_CONFIG_INT, "100", false,
            "RPC calls per second per connection (token bucket, burst of one second)."},
           {"max_connections", T::SWITCHBOARD_CONFIG_INT, "10000", false,
            "Open TCP connections per process, plain HTTP and WebSocket alike (503 beyond)."},
           {"max_connections_per_ip", T::SWITCHBOARD_CONFIG_INT, "1000", false,
            "Open TCP connections per client IP, plain HTTP and WebSocket alike (503 beyond)."},
           {"json_max_depth", T::SWITCHBOARD_CONFIG_INT, "32", false,
            "Deepest JSON nesting accepted from clients and the bus."},
           {"max_bus_message_bytes", T::SWITCHBOARD_CONFIG_INT, "1048576", false,
            "Largest message taken from the bus; larger ones are counted and dropped."},
           {"max_bus_targets", T::SWITCHBOARD_CONFIG_INT, "1024", false,
            "Most channels or users one bus message may name; a message from the bus naming "
            "more is counted as malformed and dropped, an app publish naming more is refused."},
           {"max_bus_expansion_bytes", T::SWITCHBOARD_CONFIG_INT, "16777216", false,
            "Most bytes of client frames one bus message may be turned into (one frame per "
            "channel with local subscribers); frames past it are not built, and are counted."},
           {"new_sessions_per_ip", T::SWITCHBOARD_CONFIG_INT, "120", false,
            "Session records one client IP may create per minute (burst of one minute's worth; "
            "429 beyond). Records are created on a WebSocket upgrade without a known session."},
           {"new_sessions_per_second", T::SWITCHBOARD_CONFIG_INT, "200", false,
            "Session records this process creates per second from all clients (burst of 10 "
            "seconds' worth; 429 beyond)."},
           {"session_channel_bytes", T::SWITCHBOARD_CONFIG_INT, "65536", false,
            "Sum of the channel-name bytes of one session (`limit_exceeded`); with the user id "
            "it bounds the session announcement, which must fit max_bus_message_bytes."},
           {"session_data_bytes", T::SWITCHBOARD_CONFIG_INT, "65536", false,
            "Sum of the key and JSON value bytes of one session's data (`limit_exceeded`)."},
           {"control_queue", T::SWITCHBOARD_CONFIG_INT, "100000", false,
            "Publishes and session-store calls waiting for the control thread (which alone "
            "calls the plugins); past it a publish is refused and a session call fails with "
            "`store_unavailable`, counted in switchboard_backpressure_total{queue=\"control\"}."},
           {"loop_inbox", T::SWITCHBOARD_CONFIG_INT, "100000", false,
            "Bus deliveries waiting for one event loop (a loop stalled by a blocking handler); "
            "past it events for that loop's connections are dropped, counted in "
            "switchboard_backpressure_total{queue=\"loop\"}. Session changes are never dropped."},
       }},
      {"api",
       "The HTTP API for backends (docs/http-api.md): `POST /api/publish` and "
       "`POST /api/disconnect`.",
       {
           {"keys", T::SWITCHBOARD_CONFIG_STRING_LIST, "[]", false,
            "Keys a backend sends as `Authorization: Bearer <key>`; each at least 16 "
            "characters (keep them out of the file: `[\"${SB_API_KEY}\"]`). Empty: the API "
            "is off and every `/api/` path answers 404."},
           {"max_body_bytes", T::SWITCHBOARD_CONFIG_INT, "1048576", false,
            "Largest request body (413 beyond); each message in it must also fit "
            "limits.max_bus_message_bytes."},
           {"max_messages", T::SWITCHBOARD_CONFIG_INT, "1000", false,
            "Most messages one request may carry as an array (400 beyond)."},
           {"requests_per_second", T::SWITCHBOARD_CONFIG_INT, "1000", false,
            "Requests per second per key (token bucket, burst of one second; 429 beyond)."},
       }},
      {"token",
       "Signed tokens (JWT) for clients without the session cookie: mobile apps, services, "
       "other origins (docs/protocol.md \"Token authentication\"). Off until a key is set.",
       {
           {"hs256_secrets", T::SWITCHBOARD_CONFIG_STRING_LIST, "[]", false,
            "Keys for HS256 tokens, each at least 32 bytes (keep them out of the file: "
            "`[\"${SB_TOKEN_SECRET}\"]`); a token verifies when one of them signed it, so a "
            "new key can be added before the old one is dropped. At most 8."},
           {"public_keys", T::SWITCHBOARD_CONFIG_STRING_LIST, "[]", false,
            "PEM files of public keys for RS256 (RSA, at least 2048 bits) and ES256 (EC "
            "P-256) tokens, read at start; a token verifies when one key of its `alg` "
            "signed it. At most 8."},
           {"issuer", T::SWITCHBOARD_CONFIG_STRING, "", false,
            "When set, a token's `iss` must equal it."},
           {"audience", T::SWITCHBOARD_CONFIG_STRING, "", false,
            "When set, a token's `aud` (a string or a list) must contain it."},
           {"leeway", T::SWITCHBOARD_CONFIG_DURATION, "30s", false,
            "Clock skew allowed when checking `exp` and `nbf` (at most 5m)."},
       }},
      {"log",
       "Logging to stderr.",
       {
           {"level", T::SWITCHBOARD_CONFIG_STRING, "info", false, "`debug`, `info`, `warn` or `error`."},
       }},
  };
  return schema;
}

SectionSpec plugin_section(const switchboard_plugin& plugin) {
  std::string doc = std::string("Settings of the `") + plugin.name + "` plugin";
  doc += plugin.description ? std::string(": ") + plugin.description : std::string(".");
  SectionSpec s{plugin.name, doc, {}};
  for (size_t i = 0; i < plugin.config_key_count; ++i) {
    const auto& k = plugin.config_keys[i];
    KeySpec spec;
    spec.key = k.key ? k.key : "";
    spec.type = static_cast<switchboard_config_type>(k.type);
    spec.required = k.default_value == nullptr;
    spec.default_value = k.default_value ? k.default_value : "";
    spec.doc = k.doc ? k.doc : "";
    s.keys.push_back(std::move(spec));
  }
  return s;
}

const char* type_name(switchboard_config_type t) {
  switch (t) {
    case SWITCHBOARD_CONFIG_STRING: return "string";
    case SWITCHBOARD_CONFIG_INT: return "integer";
    case SWITCHBOARD_CONFIG_BOOL: return "boolean";
    case SWITCHBOARD_CONFIG_DURATION: return "duration";
    case SWITCHBOARD_CONFIG_STRING_LIST: return "list of strings";
  }
  return "?";
}

std::string reference_markdown(const std::vector<SectionSpec>& sections) {
  std::string out;
  for (const auto& s : sections) {
    out += "## `" + s.name + "`\n\n" + s.doc + "\n\n";
    out += "| key | type | default | env override | meaning |\n|---|---|---|---|---|\n";
    for (const auto& k : s.keys) {
      std::string env = "SWITCHBOARD_";
      for (char c : s.name + "_" + k.key) env += (c == '.' || c == '-') ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      out += "| `" + s.name + "." + k.key + "` | " + type_name(k.type) + " | " +
             (k.required ? "*required*" : "`" + (k.default_value.empty() ? std::string("\"\"") : k.default_value) + "`") +
             " | `" + env + "` | " + k.doc + " |\n";
    }
    out += "\n";
  }
  return out;
}

}  // namespace switchboard::config
