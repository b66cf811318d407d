// The validated, typed configuration the core runs on. Built by
// config/validate.cpp from a Config (YAML + env overrides); every field here has a
// row in the core schema (config/schema.cpp) with its default and reason.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace switchboard::config {

using Millis = std::chrono::milliseconds;

struct Settings {
  struct Server {
    std::string listen_host;
    uint16_t listen_port = 8080;
    int threads = 0;  // resolved: >= 1
    std::vector<std::string> allowed_origins;
    std::string static_dir;
    bool static_follow_symlinks = false;
    Millis handshake_timeout{10000};
    Millis idle_timeout{30000};
    Millis shutdown_timeout{5000};
    Millis write_interval{0};
    uint32_t keepalive_requests = 100;  // HTTP requests per connection
    Millis keepalive_timeout{5000};     // idle time between HTTP requests
    std::string tls_cert;  // PEM certificate chain; with tls_key: the listener is TLS only
    std::string tls_key;   // PEM private key
    bool tls() const { return !tls_cert.empty(); }
  } server;
  struct Session {
    std::string store;
    std::string cookie;
    Millis ttl{7LL * 24 * 3600 * 1000};
    std::string secret;  // empty: random per process
    bool cookie_secure = false;  // add Secure to the cookie
    Millis cookie_max_age{0};    // 0: a browser-session cookie (no Max-Age)
    Millis claim_ttl{60000};     // how long a rotation's claim token is redeemable
  } session;
  struct Transport {
    std::string use;
  } transport;
  struct Plugins {
    std::string dir;
  } plugins;
  struct Limits {
    uint64_t max_message_bytes = 65536;
    uint64_t send_queue_bytes = 1048576;
    uint32_t channels_per_session = 1024;
    uint32_t channel_name_bytes = 1024;
    uint32_t user_id_bytes = 256;
    uint32_t sessions_per_user = 100;  // entries in a user's session index
    uint32_t rpc_per_second = 100;
    uint32_t max_connections = 10000;
    uint32_t max_connections_per_ip = 1000;
    uint32_t json_max_depth = 32;
    uint64_t max_bus_message_bytes = 1048576;
    uint32_t max_bus_targets = 1024;                // channels/users named by one bus message
    uint64_t max_bus_expansion_bytes = 16777216;    // client-frame bytes one bus message may become
    uint32_t new_sessions_per_ip = 120;       // session records per client IP per minute
    uint32_t new_sessions_per_second = 200;   // session records per second, whole process
    uint32_t session_channel_bytes = 65536;   // sum of a session's channel-name bytes
    uint32_t session_data_bytes = 65536;      // sum of a session's data keys + values
    uint32_t control_queue = 100000;          // tasks waiting for the control thread
    uint32_t loop_inbox = 100000;             // deliveries waiting for one event loop
  } limits;
  struct Api {
    std::vector<std::string> keys;  // empty: the HTTP API is off
    uint64_t max_body_bytes = 1048576;
    uint32_t max_messages = 1000;  // per request (array form)
    uint32_t requests_per_second = 1000;  // per key
  } api;
  struct Token {  // signed tokens at connect (docs/protocol.md "Token authentication")
    std::vector<std::string> hs256_secrets;  // HS256 keys; empty with no public keys: off
    std::vector<std::string> public_keys;    // PEM files: RSA (RS256) or EC P-256 (ES256)
    std::string issuer;                      // required `iss` (empty: not checked)
    std::string audience;                    // required in `aud` (empty: not checked)
    Millis leeway{30000};                    // clock skew allowed on exp / nbf
    bool enabled() const { return !hs256_secrets.empty() || !public_keys.empty(); }
  } token;
  std::string log_level = "info";

  // Each used plugin's validated subtree as (key, value) entries for the C ABI.
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> plugin_config;
};

}  // namespace switchboard::config
