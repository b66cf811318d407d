// Server::Impl — wires the pieces together and owns start-up and shutdown order.
#include "switchboard/server.hpp"

#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <mutex>

#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "api/http_api.hpp"
#include "app/client_js.hpp"
#include "auth/token_verifier.hpp"
#include "net/event_loop.hpp"
#include "net/listener.hpp"
#include "net/net_context.hpp"
#include "observe/log.hpp"
#include "observe/metrics.hpp"
#include "plugin/loader.hpp"
#include "plugin/plugin_host.hpp"
#include "publish/bus_message.hpp"
#include "publish/bus_publisher.hpp"
#include "routing/fanout.hpp"
#include "rpc/rpc_router.hpp"
#include "session/session_service.hpp"
#include "session/user_ops.hpp"
#include "sync/mutex.hpp"

namespace switchboard {
namespace asio = boost::asio;

struct Server::Impl {
  std::vector<std::string> plugin_dirs;  // before settings: load_settings() fills it
  config::Settings settings;
  auth::TokenVerifier tokens{settings};  // reads token.public_keys: fails before any plugin loads
  // server.tls_cert / tls_key read likewise; null for plain HTTP.
  std::unique_ptr<net::TlsContext> tls =
      settings.server.tls() ? std::make_unique<net::TlsContext>(settings.server) : nullptr;
  observe::Metrics metrics;
  rpc::RpcRouter rpc;
  std::unique_ptr<routing::Fanout> fanout;  // outlives the loops (pending drains)
  std::vector<std::unique_ptr<net::EventLoop>> loops;
  std::unique_ptr<plugin::PluginHost> host;
  std::unique_ptr<session::SessionService> sessions;
  std::unique_ptr<publish::BusPublisher> publisher;
  std::unique_ptr<Users> users;
  std::unique_ptr<api::HttpApi> http_api;
  std::unique_ptr<net::NetContext> net;
  std::unique_ptr<net::Listener> listener;
  std::unique_ptr<asio::signal_set> signals;

  sync::Mutex mu;
  std::condition_variable_any cv;
  bool started SB_GUARDED_BY(mu) = false;
  bool stop_requested SB_GUARDED_BY(mu) = false;
  bool stopped SB_GUARDED_BY(mu) = false;

  explicit Impl(const Config& config) : settings(plugin::load_settings(config, plugin_dirs)) {
    // Client libraries (hiredis among them) write to sockets without
    // MSG_NOSIGNAL: a peer that vanished must be an error, not a dead process.
    std::signal(SIGPIPE, SIG_IGN);
    observe::set_log_level(observe::parse_log_level(settings.log_level));
    std::vector<routing::Fanout::Loop> fanout_loops;
    for (int i = 0; i < settings.server.threads; ++i) {
      loops.push_back(std::make_unique<net::EventLoop>(i, settings.server.write_interval));
      fanout_loops.push_back({&loops.back()->ioc(), &loops.back()->shard()});
    }
    const auto& l = settings.limits;
    fanout = std::make_unique<routing::Fanout>(
        routing::Fanout::Limits{publish::bus_decode_limits(l), l.max_bus_expansion_bytes,
                                l.loop_inbox},
        metrics, std::move(fanout_loops));
    host = std::make_unique<plugin::PluginHost>(
        settings, plugin_dirs, metrics, [f = fanout.get()](std::string_view b) { f->deliver(b); });
    sessions = std::make_unique<session::SessionService>(settings, *host);
    fanout->on_session_applied(
        [s = sessions.get()](const std::string& nonce) { s->announcement_applied(nonce); });
    publisher = std::make_unique<publish::BusPublisher>(settings, *host);
    users = session::make_users(*sessions);
    http_api = std::make_unique<api::HttpApi>(settings, *publisher, *sessions, host->transport_state());
    net = std::unique_ptr<net::NetContext>(new net::NetContext{
        settings, metrics, host->transport_state(), host->store_state(), *sessions, tokens, tls.get(), rpc,
        *publisher, *http_api,
        std::make_shared<net::ConnectionLimiter>(settings.limits.max_connections,
                                                 settings.limits.max_connections_per_ip),
        client_js(), {}, {}});
  }

  ~Impl() { shutdown(); }

  // SIGINT / SIGTERM stop the server; SIGHUP reloads the TLS files (and is
  // otherwise only logged), then the next signal is awaited.
  void wait_signal() {
    signals->async_wait([this](boost::system::error_code ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        reload_tls();
        return wait_signal();
      }
      observe::log_info("server", std::string("received ") + (sig == SIGINT ? "SIGINT" : "SIGTERM"));
      request_stop();
    });
  }

  void reload_tls() {
    if (!tls) {
      observe::log_info("server", "received SIGHUP: nothing to reload (no server.tls_cert)");
      return;
    }
    Status s = tls->reload();
    if (s.is_ok()) {
      observe::bump(metrics.tls_reloads);
      observe::log_info("server", "received SIGHUP: TLS certificate and key reloaded (" +
                                      settings.server.tls_cert + "); open connections keep theirs");
    } else {
      observe::bump(metrics.tls_reload_failures);
      observe::log_error("server", "received SIGHUP: TLS reload failed, still serving the "
                                   "previous certificate: " + s.message());
    }
  }

  void start() {
    {
      sync::Lock lock(mu);
      if (started) return;
      started = true;
    }
    for (auto& l : loops) l->start();
    host->start();
    std::vector<net::EventLoop*> raw;
    for (auto& l : loops) raw.push_back(l.get());
    listener = std::make_unique<net::Listener>(*net, raw, settings.server.listen_host,
                                               settings.server.listen_port);
    listener->start();
    std::string host_name = settings.server.listen_host;
    if (host_name.empty() || host_name == "0.0.0.0" || host_name == "::") host_name = "localhost";
    if (host_name.find(':') != std::string::npos) host_name = "[" + host_name + "]";
    std::printf("switchboard listening on %s://%s:%u\n", tls ? "https" : "http", host_name.c_str(),
                static_cast<unsigned>(listener->port()));
    std::fflush(stdout);
    observe::log_info("server", "transport=" + settings.transport.use + " store=" +
                                    settings.session.store + " threads=" +
                                    std::to_string(settings.server.threads));
  }

  void request_stop() {
    sync::Lock lock(mu);
    stop_requested = true;
    cv.notify_all();
  }

  int wait() {
    {
      sync::Lock lock(mu);
      while (!stop_requested && !stopped) cv.wait(lock);
    }
    shutdown();
    return 0;
  }

  // Close clients with 1001 and wait (bounded) for them; meanwhile keep accepting
  // and answer every new request 503 (HttpSession), so clients and balancers see
  // an answer rather than a refused connection. Then stop accepting, stop the
  // plugins (no more deliveries) and the loops.
  void shutdown() {
    {
      sync::Lock lock(mu);
      if (stopped) return;
      stopped = true;
      cv.notify_all();
    }
    if (signals) {
      asio::post(loops[0]->ioc(), [s = signals.get()] {
        boost::system::error_code ignored;
        s->cancel(ignored);
      });
    }
    if (listener) {
      observe::log_info("server", "shutting down: closing connections with 1001");
      net->shutting_down = true;
      for (auto& l : loops) {
        asio::post(l->ioc(), [loop = l.get()] {
          for (auto* c : loop->shard().connections()) c->close_going_away();
        });
      }
      net->open.wait_none(std::chrono::steady_clock::now() + settings.server.shutdown_timeout);
      listener->stop();
    }
    host->stop();
    for (auto& l : loops) l->stop();
    // Everything bound to a loop's io_context goes before the loops do.
    signals.reset();
    listener.reset();
    loops.clear();
  }
};

Server::Server(const Config& config) : impl_(std::make_unique<Impl>(config)) {}
Server::~Server() = default;

void Server::rpc(const std::string& method, RpcHandler handler) {
  impl_->rpc.add(method, std::move(handler));
}

Publisher& Server::publish() { return *impl_->publisher; }
Users& Server::users() { return *impl_->users; }

void Server::start() { impl_->start(); }
void Server::stop() { impl_->request_stop(); }
int Server::wait() { return impl_->wait(); }
uint16_t Server::port() const { return impl_->listener ? impl_->listener->port() : 0; }

int Server::run() {
  // Handle signals before anything is printed: a supervisor may send SIGTERM as
  // soon as it reads the listening line.
  impl_->signals =
      std::make_unique<asio::signal_set>(impl_->loops[0]->ioc(), SIGINT, SIGTERM, SIGHUP);
  impl_->wait_signal();
  impl_->start();
  return impl_->wait();
}

}  // namespace switchboard
