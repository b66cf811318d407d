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
//   KafkaBroker  a real single-node Kafka 4 (KRaft) started by
//                tests/support/broker_ctl.sh kafka on a free loopback port, its
//                data in a temp dir (a restart keeps the topic): topic ss.event,
//                transport only. Kafka has no session store, so it owns a
//                companion RedisBroker and hands out that one's store settings
//                (session_store()). It cannot count the servers reading the
//                topic (each assign()s the partitions itself, no consumer group).
//
// Redis and NATS run as ThrowawayServers (throwaway_server.hpp: restarted on the
// same port, killed with the test), so switchboard processes configured with the
// broker's address reconnect to the new instance. Kafka runs in the background
// through broker_ctl.sh (its own pidfile and log in the temp dir), restarted on
// the same port too; it is not a child of the test, so only the destructor (not
// a crash of the test) kills it. Every wait is bounded; the destructor SIGKILLs
// a running broker and removes its temp dir.
// Thread-safety: none; one thread drives a broker.
//
// External publishers need no client library: Redis PUBLISH over RESP
// (redis_command), NATS `PUB` over the text protocol on a plain TCP socket
// (CONNECT, PUB, then PING: the PONG proves the server processed the PUB).
// Kafka's protocol is binary: kcat (Debian's package) produces the record, and
// its exit status says whether the broker acknowledged it.
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

  // "redis", "nats" or "kafka": the plugin name and the ctest label.
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
  // PUBLISH; for NATS (no CLI installed) the text protocol over bash's /dev/tcp;
  // for Kafka `echo PAYLOAD | kcat -P -b 127.0.0.1:PORT -t BUS`.
  virtual PublishResult publish_from_shell(std::string_view bus, std::string_view payload) const = 0;
  // How many client connections are subscribed to `bus`; -1 when it cannot tell
  // (the broker is down or paused, or it never can: counts_subscribers()).
  virtual int64_t subscribers(std::string_view bus) const = 0;
  // Whether subscribers() can tell how many servers read the bus (Redis, NATS).
  // Kafka cannot (no consumer group): tests then rely on /healthz alone, which
  // a Kafka server reports 200 only once it has assigned every partition.
  virtual bool counts_subscribers() const { return true; }

  // The broker holding the sessions that store_settings() points at: this one
  // (Redis, NATS), or a companion of another kind owned by this one (Kafka has
  // no store: Redis). Tests stop it to provoke a store outage.
  virtual Broker& session_store() { return *this; }
  // Whether the sessions live in another broker than the bus: an outage of this
  // broker then leaves the store available.
  bool store_is_separate() { return &session_store() != this; }

  // Whether sessions written before a kill9()/start() are still there after it
  // (for a separate store: the store is not restarted, so they are).
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

class KafkaBroker final : public Broker {
 public:
  // Starts the companion Redis, then Kafka (broker_ctl.sh kafka start) on a free
  // port in a temp dir (a few fresh ports when one was taken meanwhile).
  // log_path: where the broker's log is copied at the end (the companion's goes
  // beside it, *.redis.log); empty: not kept. Throws std::runtime_error when
  // Kafka cannot be started (java, kcat or the jars missing; no answer in time).
  explicit KafkaBroker(std::string log_path = {});
  ~KafkaBroker() override;
  KafkaBroker(const KafkaBroker&) = delete;
  KafkaBroker& operator=(const KafkaBroker&) = delete;

  // 127.0.0.1:PORT, what kafka.brokers lists.
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // Its data, config, log and pidfile (broker_ctl.sh's DIR): survives restarts.
  const std::string& dir() const { return dir_; }
  // The JVM's pid as broker_ctl.sh knows it; -1 when it is not running.
  pid_t pid() const;
  RedisBroker& store() { return store_; }

  std::string kind() const override { return "kafka"; }
  uint16_t port() const override { return port_; }
  std::string bus() const override { return "ss.event"; }
  void start(Millis timeout = Millis(15000)) override;
  void kill9(Millis timeout = Millis(5000)) override;
  void stop(Millis timeout = Millis(5000)) override;
  // SIGSTOP / SIGCONT on the pid in DIR/kafka-PORT.pid.
  void pause() override;
  void resume() override;
  bool running() override { return pid() > 0; }
  PublishResult publish(std::string_view bus, std::string_view payload) const override;
  PublishResult publish_from_shell(std::string_view bus, std::string_view payload) const override;
  int64_t subscribers(std::string_view) const override { return -1; }
  bool counts_subscribers() const override { return false; }
  Broker& session_store() override { return store_; }
  // The sessions are in the companion Redis, which a Kafka restart leaves alone.
  bool keeps_sessions_across_restart() const override { return true; }
  std::vector<BrokerSetting> transport_settings() const override;
  // The companion Redis's.
  std::vector<BrokerSetting> store_settings() const override { return store_.store_settings(); }
  // DIR/kafka-PORT.log (all starts: broker_ctl.sh appends).
  std::string output() const override;

 private:
  // broker_ctl.sh kafka CMD PORT DIR, its own waits `wait` (BROKER_WAIT, whole
  // seconds), the whole run bounded by wait plus slack.
  RunResult ctl(const std::string& cmd, Millis wait) const;

  RedisBroker store_;
  std::string log_path_;
  std::string dir_;  // removed by the destructor, after the broker is gone
  uint16_t port_ = 0;
};

// PUB subject payload over the NATS text protocol on a fresh connection to
// 127.0.0.1:port, bounded by `timeout`; accepted once the server's PONG to the
// PING after it arrives without an -ERR before it.
PublishResult nats_publish(uint16_t port, std::string_view subject, std::string_view payload,
                           Millis timeout = Millis(3000));

// Every broker kind the tests know, in run order: {"redis", "nats", "kafka"}.
const std::vector<std::string>& broker_kinds();
// The kinds broker-parameterised tests run on: all of broker_kinds() unless
// select_broker_kinds() narrowed them (integration_tests --broker nats).
const std::vector<std::string>& selected_broker_kinds();
// "nats" or "redis,kafka"; throws std::invalid_argument for an unknown or empty list.
void select_broker_kinds(std::string_view comma_separated);
// A running broker of that kind (throws std::invalid_argument for an unknown kind).
std::unique_ptr<Broker> start_broker(std::string_view kind, std::string log_path = {});

}  // namespace switchboard::test
