// tests/support/broker_process.hpp — the message broker of a multi-process test,
// behind one interface, so one test body runs on every broker the plugins support.
//
//   RedisBroker  a real redis-server (RedisServer, redis_process.hpp): pub/sub
//                channel ss:event, session store in keys. No persistence: a
//                restart forgets every session, as a crashed cache would.
//   NatsBroker   a real nats-server with JetStream on a free loopback port:
//
//                  nats-server -a 127.0.0.1 -p P -m M -js -sd <tmpdir>
//
//                core subject ss.event, session store in a JetStream KV bucket
//                with file storage: a restart (even after kill -9) keeps the
//                sessions, as a real deployment does. M is the monitoring port,
//                which subscribers() reads (/connz?subs=1).
//
// Both run as ThrowawayServers (throwaway_server.hpp: restarted on the same
// port, killed with the test), so switchboard processes configured with the
// broker's address reconnect to the new instance. Every wait is bounded; the
// destructor SIGKILLs a running broker and removes its temp dir.
// Thread-safety: none; one thread drives a broker.
//
// External publishers need no client library: Redis PUBLISH over RESP
// (redis_command), NATS `PUB` over the text protocol on a plain TCP socket
// (CONNECT, PUB, then PING: the PONG proves the server processed the PUB).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/redis_process.hpp"
#include "support/server_process.hpp"
#include "support/throwaway_server.hpp"
#include "support/ws_client.hpp"

namespace switchboard::test {

// The outcome of one publish by an outside client.
struct PublishResult {
  bool accepted = false;  // the broker took it (Redis: answered PUBLISH; NATS: PONG after PUB)
  // How many subscriptions got it, where the broker says (Redis); NATS does not tell.
  std::optional<int64_t> receivers;
  std::string detail;  // the broker's reply, or why there was none

  // Accepted and, where the broker counts receivers, received by exactly n.
  bool reached(int64_t n) const { return accepted && (!receivers || *receivers == n); }
  std::string describe() const;
};

// One config entry for a switchboard process: dotted key, YAML value text.
using BrokerSetting = std::pair<std::string, std::string>;

class Broker {
 public:
  virtual ~Broker() = default;

  // "redis" or "nats": the plugin name and the ctest label.
  virtual std::string kind() const = 0;
  virtual uint16_t port() const = 0;
  // The plugin's default bus name, where external systems publish.
  virtual std::string bus() const = 0;

  // Starts the broker on port() again (after kill9() or stop()) and waits until
  // it answers; no-op when it is running. Throws std::runtime_error on failure.
  virtual void start(Millis timeout = Millis(15000)) = 0;
  // SIGKILL by pid and wait (bounded) until it is gone: a crash.
  virtual void kill9(Millis timeout = Millis(5000)) = 0;
  // SIGTERM, wait (bounded); SIGKILL when it is still there after the wait.
  virtual void stop(Millis timeout = Millis(5000)) = 0;
  // SIGSTOP / SIGCONT: a broker that hangs (sockets stay open, nothing is
  // answered; the kernel still completes new TCP handshakes) and comes back.
  virtual void pause() = 0;
  virtual void resume() = 0;
  virtual bool running() = 0;

  // Publishes payload on `bus` the way an external system does, over the
  // broker's own protocol on a fresh connection.
  virtual PublishResult publish(std::string_view bus, std::string_view payload) const = 0;
  // The same from a shell one-liner, as an operator would type it: redis-cli
  // PUBLISH; for NATS (no CLI installed) the text protocol over bash's /dev/tcp.
  virtual PublishResult publish_from_shell(std::string_view bus, std::string_view payload) const = 0;
  // How many client connections are subscribed to `bus`; -1 when it cannot tell
  // (the broker is down or paused).
  virtual int64_t subscribers(std::string_view bus) const = 0;

  // Whether sessions written before a kill9()/start() are still there after it.
  virtual bool keeps_sessions_across_restart() const = 0;

  // What a switchboard process needs to use this broker as its transport
  // (transport.use and the plugin's section) or as its session store
  // (session.store and the plugin's section). Both may go into one config.
  virtual std::vector<BrokerSetting> transport_settings() const = 0;
  virtual std::vector<BrokerSetting> store_settings() const = 0;

  // What the broker printed (all starts).
  virtual std::string output() const = 0;
};

class RedisBroker final : public Broker {
 public:
  explicit RedisBroker(std::string log_path = {}) : redis_(std::move(log_path)) {}

  RedisServer& server() { return redis_; }
  std::string kind() const override { return "redis"; }
  uint16_t port() const override { return redis_.port(); }
  std::string bus() const override { return "ss:event"; }
  void start(Millis timeout) override { redis_.start(timeout); }
  void kill9(Millis timeout) override { redis_.kill9(timeout); }
  void stop(Millis timeout) override { redis_.stop(timeout); }
  void pause() override { redis_.pause(); }
  void resume() override { redis_.resume(); }
  bool running() override { return redis_.running(); }
  PublishResult publish(std::string_view bus, std::string_view payload) const override;
  PublishResult publish_from_shell(std::string_view bus, std::string_view payload) const override;
  int64_t subscribers(std::string_view bus) const override { return redis_.subscribers(bus); }
  bool keeps_sessions_across_restart() const override { return false; }  // --save "" --appendonly no
  std::vector<BrokerSetting> transport_settings() const override;
  std::vector<BrokerSetting> store_settings() const override;
  std::string output() const override { return redis_.output(); }

 private:
  RedisServer redis_;
};

class NatsBroker final : public Broker {
 public:
  // Picks free ports and starts the server (start()). log_path: a copy of its
  // output (empty: kept in memory only). Throws std::runtime_error when
  // nats-server cannot be started or does not send its INFO line in time.
  explicit NatsBroker(std::string log_path = {});
  NatsBroker(const NatsBroker&) = delete;
  NatsBroker& operator=(const NatsBroker&) = delete;

  // nats://127.0.0.1:PORT
  std::string url() const;
  uint16_t monitor_port() const { return monitor_port_; }
  // The JetStream store directory (-sd): survives restarts, removed at the end.
  const std::string& dir() const { return server_.dir(); }
  pid_t pid() const { return server_.pid(); }

  std::string kind() const override { return "nats"; }
  uint16_t port() const override { return server_.port(); }
  std::string bus() const override { return "ss.event"; }
  void start(Millis timeout = Millis(15000)) override { server_.start(timeout); }
  void kill9(Millis timeout = Millis(5000)) override { server_.kill9(timeout); }
  void stop(Millis timeout = Millis(5000)) override { server_.stop(timeout); }
  void pause() override { server_.pause(); }
  void resume() override { server_.resume(); }
  bool running() override { return server_.running(); }
  PublishResult publish(std::string_view bus, std::string_view payload) const override;
  PublishResult publish_from_shell(std::string_view bus, std::string_view payload) const override;
  int64_t subscribers(std::string_view bus) const override;
  bool keeps_sessions_across_restart() const override { return true; }  // file storage in dir()
  std::vector<BrokerSetting> transport_settings() const override;
  std::vector<BrokerSetting> store_settings() const override;
  std::string output() const override { return server_.output(); }

 private:
  uint16_t monitor_port_ = 0;
  ThrowawayServer server_;
};

// PUB subject payload over the NATS text protocol on a fresh connection to
// 127.0.0.1:port, bounded by `timeout`; accepted once the server's PONG to the
// PING after it arrives without an -ERR before it.
PublishResult nats_publish(uint16_t port, std::string_view subject, std::string_view payload,
                           Millis timeout = Millis(3000));

// Every broker kind the tests know, in run order: {"redis", "nats"}.
const std::vector<std::string>& broker_kinds();
// The kinds broker-parameterised tests run on: all of broker_kinds() unless
// select_broker_kinds() narrowed them (integration_tests --broker nats).
const std::vector<std::string>& selected_broker_kinds();
// "nats" or "redis,nats"; throws std::invalid_argument for an unknown or empty list.
void select_broker_kinds(std::string_view comma_separated);
// A running broker of that kind (throws std::invalid_argument for an unknown kind).
std::unique_ptr<Broker> start_broker(std::string_view kind, std::string log_path = {});

}  // namespace switchboard::test
