#include "nats_connection.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace nats_plugin {

namespace {

// A subject a server publishes to and subscribes to: tokens separated by '.',
// none empty, no wildcard, no whitespace, not the reserved '$' prefix.
void check_subject(const std::string& s) {
  auto bad = [&](const std::string& why) {
    throw std::invalid_argument("nats.subject '" + s + "' " + why);
  };
  if (s.empty()) bad("is empty");
  if (s.size() > 256) bad("is longer than 256 characters");
  if (s[0] == '$') bad("starts with '$' (reserved for the server's own subjects)");
  if (s.front() == '.' || s.back() == '.' || s.find("..") != std::string::npos) bad("has an empty token");
  for (char ch : s) {
    if (ch == '*' || ch == '>') bad("has a wildcard ('*' or '>'): a publish names one subject");
    if (static_cast<unsigned char>(ch) <= ' ' || ch == 127) bad("has whitespace or a control character");
  }
}

// A JetStream bucket name: [A-Za-z0-9_-], 1 to 64 characters.
void check_bucket(const std::string& b) {
  if (b.empty() || b.size() > 64)
    throw std::invalid_argument("nats.bucket must be 1 to 64 characters, got '" + b + "'");
  for (char ch : b)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-'))
      throw std::invalid_argument("nats.bucket '" + b + "' may hold only letters, digits, '_' and '-'");
}

}  // namespace

NatsSettings NatsSettings::from(const switchboard::PluginConfig& c) {
  using ms = std::chrono::milliseconds;
  NatsSettings s;
  s.servers = c.get_list("servers");
  if (s.servers.empty()) throw std::invalid_argument("nats.servers must name at least one server");
  for (const auto& url : s.servers)
    if (url.empty() || url.find_first_of(" \t\r\n") != std::string::npos)
      throw std::invalid_argument("nats.servers: '" + url + "' is not a server URL (nats://host:port)");
  s.user = c.get_string("user");
  s.password = c.get_string("password");
  s.token = c.get_string("token");
  s.credentials_file = c.get_string("credentials_file");
  s.nkey = c.get_string("nkey");
  s.nkey_seed_file = c.get_string("nkey_seed_file");
  s.tls_ca_file = c.get_string("tls_ca_file");
  s.tls_cert_file = c.get_string("tls_cert_file");
  s.tls_key_file = c.get_string("tls_key_file");
  if (!s.password.empty() && s.user.empty()) throw std::invalid_argument("nats.password needs nats.user");
  int auth = !s.user.empty() + !s.token.empty() + !s.credentials_file.empty() + !s.nkey.empty();
  if (auth > 1)
    throw std::invalid_argument("nats: give one of user/password, token, credentials_file or nkey, not several");
  if (s.nkey.empty() != s.nkey_seed_file.empty())
    throw std::invalid_argument("nats.nkey and nats.nkey_seed_file go together");
  if (s.tls_cert_file.empty() != s.tls_key_file.empty())
    throw std::invalid_argument("nats.tls_cert_file and nats.tls_key_file go together");
  if (!s.tls_cert_file.empty() && s.tls_ca_file.empty())
    throw std::invalid_argument("nats.tls_cert_file needs nats.tls_ca_file (the server's certificate is verified)");
  s.subject = c.get_string("subject");
  check_subject(s.subject);
  s.bucket = c.get_string("bucket");
  check_bucket(s.bucket);
  s.replicas = static_cast<int>(c.get_int_in("replicas", 1, 5));
  const auto& storage = c.get_string("storage");
  if (storage != "file" && storage != "memory")
    throw std::invalid_argument("nats.storage must be 'file' or 'memory', got '" + storage + "'");
  s.memory_storage = storage == "memory";
  s.bucket_max_age = c.get_duration_in("bucket_max_age", ms(1000), ms(int64_t{3650} * 86'400'000));
  s.connect_timeout = c.get_duration_in("connect_timeout", ms(1), ms(300'000));
  s.request_timeout = c.get_duration_in("request_timeout", ms(1), ms(300'000));
  s.reconnect_wait = c.get_duration_in("reconnect_wait", ms(10), ms(3'600'000));
  s.ping_interval = c.get_duration_in("ping_interval", ms(100), ms(3'600'000));
  s.send_asap = c.get_bool("send_asap");
  s.pending_messages = static_cast<int>(c.get_int_in("pending_messages", 1, 10'000'000));
  s.pending_bytes = c.get_int_in("pending_bytes", 1024, (int64_t{1} << 31) - 1);
  s.reconnect_buffer = c.get_int_in("reconnect_buffer", 0, int64_t{1} << 30);
  s.max_pending = static_cast<size_t>(c.get_int_in("max_pending", 1, 10'000'000));
  s.store_workers = static_cast<int>(c.get_int_in("store_workers", 1, 64));
  return s;
}

std::string nats_error(const std::string& what, natsStatus s) {
  natsStatus last = NATS_OK;
  const char* text = nats_GetLastError(&last);
  std::string out = "nats: " + what + ": " + natsStatus_GetText(s);
  if (text && *text && last == s) out += " (" + std::string(text) + ")";
  return out;
}

NatsConnection::NatsConnection(const NatsSettings& settings, std::string name, Events events)
    : settings_(settings), name_(std::move(name)), events_(std::move(events)) {
  auto check = [](const char* what, natsStatus s) {
    if (s != NATS_OK) throw std::invalid_argument(nats_error(what, s));
  };
  check("options", natsOptions_Create(&opts_));
  try {
    std::vector<const char*> urls;
    for (const auto& u : settings_.servers) urls.push_back(u.c_str());
    check("nats.servers", natsOptions_SetServers(opts_, urls.data(), static_cast<int>(urls.size())));
    check("name", natsOptions_SetName(opts_, name_.c_str()));
    if (!settings_.user.empty())
      check("nats.user", natsOptions_SetUserInfo(opts_, settings_.user.c_str(), settings_.password.c_str()));
    if (!settings_.token.empty()) check("nats.token", natsOptions_SetToken(opts_, settings_.token.c_str()));
    if (!settings_.credentials_file.empty())
      check("nats.credentials_file",
            natsOptions_SetUserCredentialsFromFiles(opts_, settings_.credentials_file.c_str(), nullptr));
    if (!settings_.nkey.empty())
      check("nats.nkey_seed_file",
            natsOptions_SetNKeyFromSeed(opts_, settings_.nkey.c_str(), settings_.nkey_seed_file.c_str()));
    if (!settings_.tls_ca_file.empty()) {
      check("TLS", natsOptions_SetSecure(opts_, true));
      check("nats.tls_ca_file", natsOptions_LoadCATrustedCertificates(opts_, settings_.tls_ca_file.c_str()));
      if (!settings_.tls_cert_file.empty())
        check("nats.tls_cert_file", natsOptions_LoadCertificatesChain(opts_, settings_.tls_cert_file.c_str(),
                                                                      settings_.tls_key_file.c_str()));
    }
    check("nats.connect_timeout", natsOptions_SetTimeout(opts_, settings_.connect_timeout.count()));
    check("reconnect", natsOptions_SetMaxReconnect(opts_, -1));  // forever (the default gives up after 60)
    check("nats.reconnect_wait", natsOptions_SetReconnectWait(opts_, settings_.reconnect_wait.count()));
    check("reconnect jitter", natsOptions_SetReconnectJitter(opts_, settings_.reconnect_wait.count() / 2,
                                                              settings_.reconnect_wait.count()));
    check("nats.ping_interval", natsOptions_SetPingInterval(opts_, settings_.ping_interval.count()));
    check("pings", natsOptions_SetMaxPingsOut(opts_, 2));
    check("nats.pending_messages", natsOptions_SetMaxPendingMsgs(opts_, settings_.pending_messages));
    // 0 would mean the library's 8 MB default; 1 byte is the smallest it keeps.
    check("nats.reconnect_buffer",
          natsOptions_SetReconnectBufSize(opts_, static_cast<int>(std::max<int64_t>(settings_.reconnect_buffer, 1))));
    check("requests", natsOptions_SetFailRequestsOnDisconnect(opts_, true));
    // A publish that cannot be written within this fails instead of blocking the
    // control thread behind a server that stopped reading.
    check("write deadline", natsOptions_SetWriteDeadline(opts_, 500));
    check("nats.send_asap", natsOptions_SetSendAsap(opts_, settings_.send_asap));
    check("callbacks", natsOptions_SetDisconnectedCB(opts_, &NatsConnection::on_disconnected, this));
    check("callbacks", natsOptions_SetReconnectedCB(opts_, &NatsConnection::on_reconnected, this));
    check("callbacks", natsOptions_SetClosedCB(opts_, &NatsConnection::on_closed, this));
    check("callbacks", natsOptions_SetErrorHandler(opts_, &NatsConnection::on_error, this));
    check("retry", natsOptions_SetRetryOnFailedConnect(opts_, true, &NatsConnection::on_connected, this));
  } catch (...) {
    natsOptions_Destroy(opts_);
    throw;
  }
}

NatsConnection::~NatsConnection() {
  close();
  natsOptions_Destroy(opts_);
}

void NatsConnection::start(ReadyFn on_ready) {
  set(State::kConnecting, "connecting to " + where());
  thread_ = std::thread([this, on_ready = std::move(on_ready)] {
    natsConnection* nc = nullptr;
    natsStatus s = natsConnection_Connect(&nc, opts_);
    if (s == NATS_OK) {
      conn_ = nc;
      set(State::kConnected, "");
    } else if (s == NATS_NOT_YET_CONNECTED) {
      conn_ = nc;  // retrying in the background; on_connected reports the connection
      set(State::kReconnecting, "no server reachable yet at " + where() + ", retrying");
    } else {
      set(State::kClosed, nats_error("connect", s));
      return;
    }
    if (!closing_) on_ready(nc);
  });
}

void NatsConnection::close() {
  {
    std::lock_guard lock(mu_);
    if (closing_.exchange(true)) return;
  }
  cv_.notify_all();  // wait_connected() gives up
  if (thread_.joinable()) thread_.join();
  if (natsConnection* nc = conn_.exchange(nullptr)) {
    natsConnection_Close(nc);
    // The closed callback is the library's last call for this connection (it runs
    // on a library thread): wait for it before `this` may go away.
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(5), [&] { return closed_seen_; });
    lock.unlock();
    natsConnection_Destroy(nc);
  }
}

bool NatsConnection::wait_connected(std::chrono::milliseconds limit) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, limit, [&] { return state_.load() == State::kConnected || closing_; }) &&
         state_.load() == State::kConnected;
}

std::string NatsConnection::where() const {
  std::string out;
  for (const auto& s : settings_.servers) out += (out.empty() ? "" : ",") + s;
  return out;
}

void NatsConnection::set(State s, const std::string& detail) {
  {
    std::lock_guard lock(mu_);
    if (s == State::kConnected && state_ != State::kConnected) ++connects_;
    state_ = s;
  }
  cv_.notify_all();
  if (!closing_ && events_.state) events_.state(s, detail);
}

void NatsConnection::on_connected(natsConnection*, void* self) {
  static_cast<NatsConnection*>(self)->set(State::kConnected, "");
}
void NatsConnection::on_reconnected(natsConnection*, void* self) {
  static_cast<NatsConnection*>(self)->set(State::kConnected, "");
}
void NatsConnection::on_disconnected(natsConnection*, void* self) {
  auto* c = static_cast<NatsConnection*>(self);
  c->set(State::kReconnecting, "disconnected from " + c->where() + ", reconnecting");
}
void NatsConnection::on_closed(natsConnection*, void* self) {
  auto* c = static_cast<NatsConnection*>(self);
  c->set(State::kClosed, "connection closed");
  // The last touch of `c`: close() may destroy it as soon as the lock is free.
  std::lock_guard lock(c->mu_);
  c->closed_seen_ = true;
  c->cv_.notify_all();
}
void NatsConnection::on_error(natsConnection*, natsSubscription* sub, natsStatus err, void* self) {
  auto* c = static_cast<NatsConnection*>(self);
  if (!c->closing_ && c->events_.error) c->events_.error(sub, err);
}

}  // namespace nats_plugin
