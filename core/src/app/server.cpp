// Server::Impl — wires the pieces together and owns start-up and shutdown order.
#include "switchboard/server.hpp"

#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <mutex>

#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "app/client_js.hpp"
#include "net/event_loop.hpp"
#include "net/listener.hpp"
#include "net/net_context.hpp"
#include "net/ws_connection.hpp"
#include "observe/log.hpp"
#include "observe/metrics.hpp"
#include "plugin/loader.hpp"
#include "plugin/plugin_host.hpp"
#include "publish/bus_publisher.hpp"
#include "routing/dispatcher.hpp"
#include "routing/inbox.hpp"
#include "rpc/rpc_router.hpp"
#include "session/session_service.hpp"

namespace switchboard {
namespace asio = boost::asio;

struct Server::Impl {
  std::string plugins_dir;  // before settings: load_settings() fills it
  config::Settings settings;
  observe::Metrics metrics;
  rpc::RpcRouter rpc;
  std::vector<std::unique_ptr<routing::Inbox>> inboxes;  // one per loop; outlives them
  std::vector<std::unique_ptr<net::EventLoop>> loops;
  std::unique_ptr<routing::Dispatcher> dispatcher;
  std::unique_ptr<plugin::PluginHost> host;
  std::unique_ptr<session::SessionService> sessions;
  std::unique_ptr<publish::BusPublisher> publisher;
  std::unique_ptr<net::NetContext> net;
  std::shared_ptr<net::Listener> listener;
  std::unique_ptr<asio::signal_set> signals;

  std::mutex mu;
  std::condition_variable cv;
  bool started = false;         // guarded by mu
  bool stop_requested = false;  // guarded by mu
  bool stopped = false;         // guarded by mu

  explicit Impl(const Config& config) : settings(plugin::load_settings(config, plugins_dir)) {
    // Client libraries (hiredis among them) write to sockets without
    // MSG_NOSIGNAL: a peer that vanished must be an error, not a dead process.
    std::signal(SIGPIPE, SIG_IGN);
    observe::set_log_level(observe::parse_log_level(settings.log_level));
    for (int i = 0; i < settings.server.threads; ++i) {
      loops.push_back(std::make_unique<net::EventLoop>(i, settings.server.write_interval));
      inboxes.push_back(std::make_unique<routing::Inbox>(settings.limits.loop_inbox));
    }
    routing::DecodeLimits limits{settings.limits.max_bus_message_bytes,
                                 settings.limits.json_max_depth, settings.limits.channel_name_bytes,
                                 settings.limits.user_id_bytes, settings.limits.max_bus_targets};
    dispatcher = std::make_unique<routing::Dispatcher>(
        limits, settings.limits.max_bus_expansion_bytes, metrics, [this](std::shared_ptr<const routing::Delivery> d) {
          for (size_t i = 0; i < loops.size(); ++i) {
            switch (inboxes[i]->push(d)) {
              case routing::Inbox::Push::kPostDrain: post_drain(i); break;
              case routing::Inbox::Push::kQueued: break;  // a drain is already on its way
              case routing::Inbox::Push::kFull: observe::bump(metrics.loop_inbox_full); break;
            }
          }
        });
    host = std::make_unique<plugin::PluginHost>(
        settings, plugins_dir, metrics, [d = dispatcher.get()](std::string_view b) { d->deliver(b); });
    sessions = std::make_unique<session::SessionService>(settings, *host);
    dispatcher->on_session_applied(
        [s = sessions.get()](const std::string& nonce) { s->announcement_applied(nonce); });
    publisher = std::make_unique<publish::BusPublisher>(settings, *host);
    net = std::unique_ptr<net::NetContext>(new net::NetContext{
        settings, metrics, *sessions, rpc, *publisher,
        std::make_shared<net::ConnectionLimiter>(settings.limits.max_connections,
                                                 settings.limits.max_connections_per_ip),
        client_js(), {}});
  }

  ~Impl() { shutdown(); }

  // Runs on loop i: dispatches a batch of its inbox, and posts itself again while
  // more wait, so the loop's own I/O runs between batches.
  void post_drain(size_t i) {
    asio::post(loops[i]->ioc(), [this, i] {
      static constexpr size_t kBatch = 256;
      thread_local std::vector<std::shared_ptr<const routing::Delivery>> batch;
      const bool more = inboxes[i]->take(batch, kBatch);
      for (const auto& delivery : batch)
        observe::bump(metrics.events_delivered, loops[i]->shard().dispatch(*delivery));
      batch.clear();  // releases the deliveries (a session change's completion)
      if (more) post_drain(i);
    });
  }

  void start() {
    {
      std::lock_guard lock(mu);
      if (started) return;
      started = true;
    }
    for (auto& l : loops) l->start();
    host->start();
    std::vector<net::EventLoop*> raw;
    for (auto& l : loops) raw.push_back(l.get());
    listener = std::make_shared<net::Listener>(*net, raw, settings.server.listen_host,
                                               settings.server.listen_port);
    listener->start();
    std::string host_name = settings.server.listen_host;
    if (host_name.empty() || host_name == "0.0.0.0" || host_name == "::") host_name = "localhost";
    if (host_name.find(':') != std::string::npos) host_name = "[" + host_name + "]";
    std::printf("switchboard listening on http://%s:%u\n", host_name.c_str(),
                static_cast<unsigned>(listener->port()));
    std::fflush(stdout);
    observe::log_info("server", "transport=" + settings.transport.use + " store=" +
                                    settings.session.store + " threads=" +
                                    std::to_string(settings.server.threads));
  }

  void request_stop() {
    std::lock_guard lock(mu);
    stop_requested = true;
    cv.notify_all();
  }

  int wait() {
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [this] { return stop_requested || stopped; });
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
      std::lock_guard lock(mu);
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
          for (auto* s : loop->shard().connections())
            static_cast<net::WsConnection*>(s)->close_going_away();
        });
      }
      auto deadline = std::chrono::steady_clock::now() + settings.server.shutdown_timeout;
      while (metrics.connections.load() > 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
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

void Server::start() { impl_->start(); }
void Server::stop() { impl_->request_stop(); }
int Server::wait() { return impl_->wait(); }
uint16_t Server::port() const { return impl_->listener ? impl_->listener->port() : 0; }

int Server::run() {
  // Handle signals before anything is printed: a supervisor may send SIGTERM as
  // soon as it reads the listening line.
  impl_->signals = std::make_unique<asio::signal_set>(impl_->loops[0]->ioc(), SIGINT, SIGTERM);
  impl_->signals->async_wait([impl = impl_.get()](boost::system::error_code ec, int sig) {
    if (ec) return;
    observe::log_info("server", std::string("received ") + (sig == SIGINT ? "SIGINT" : "SIGTERM"));
    impl->request_stop();
  });
  impl_->start();
  return impl_->wait();
}

}  // namespace switchboard
