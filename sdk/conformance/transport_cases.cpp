// Transport cases (docs/conformance-spec.md, section T).
#include <algorithm>
#include <map>

#include "spec.hpp"

namespace switchboard::conformance {
namespace {

// Messages of one case carry a unique tag, so traffic of other cases (or other
// users of a shared broker) never counts.
struct Tagged {
  std::string tag = unique_id("kit-");
  std::string msg(const std::string& body) const { return tag + "|" + body; }
  size_t count(const std::vector<std::string>& got) const {
    return std::count_if(got.begin(), got.end(), [&](const std::string& m) { return mine(m); });
  }
  bool mine(const std::string& m) const { return m.rfind(tag + "|", 0) == 0; }
  std::vector<std::string> bodies(const std::vector<std::string>& got) const {
    std::vector<std::string> out;
    for (const auto& m : got)
      if (mine(m)) out.push_back(m.substr(tag.size() + 1));
    return out;
  }
};

void start_connected(TransportUnderTest& t, const char* who) {
  Status s = t.start();
  expect(s.is_ok(), std::string(who) + ": start() returned " + status_name(s.code()) + ": " + s.message());
  expect(t.wait_state(SWITCHBOARD_STATE_CONNECTED, 15s),
         std::string(who) + ": did not report CONNECTED within 15 s of start()");
}

// Publishes until accepted (the bus may push back briefly after start).
void publish_ok(TransportUnderTest& t, const std::string& m) {
  for (int i = 0; i < 100; ++i) {
    Status s = t.publish(m);
    if (s.is_ok()) return;
    expect(s.code() == StatusCode::kBackpressure,
           "publish() returned " + std::string(status_name(s.code())) + ": " + s.message());
    std::this_thread::sleep_for(10ms);
  }
  throw CaseFailure("publish() kept returning BACKPRESSURE for 1 s on an idle bus");
}

// Checks one publisher's sequence: only accepted messages, each once, in order.
void check_sequence(const std::vector<std::string>& bodies, const std::string& publisher,
                    const std::vector<int>& accepted, const std::string& where) {
  std::vector<int> seen;
  for (const auto& b : bodies) {
    auto colon = b.find(':');
    if (colon == std::string::npos || b.substr(0, colon) != publisher) continue;
    seen.push_back(std::stoi(b.substr(colon + 1)));
  }
  for (size_t i = 1; i < seen.size(); ++i) {
    expect(seen[i] != seen[i - 1], where + ": message " + publisher + ":" + std::to_string(seen[i]) + " delivered twice");
    expect(seen[i] > seen[i - 1], where + ": publisher " + publisher + "'s messages out of order (" +
                                      std::to_string(seen[i - 1]) + " then " + std::to_string(seen[i]) + ")");
  }
  expect(seen.size() == accepted.size(),
         where + ": " + std::to_string(accepted.size()) + " messages of publisher " + publisher +
             " were accepted (OK), " + std::to_string(seen.size()) + " delivered");
}


}  // namespace

std::vector<Case> transport_cases() {
  std::vector<Case> c;
  c.push_back({"T1.01", "start_reports_connected", Level::kMust, Needs::kTransport,
               "start() returns OK without blocking and the instance reports CONNECTED",
               [](const KitContext& kit) {
                 TransportUnderTest t(kit);
                 start_connected(t, "instance");
               }});
  c.push_back({"T1.02", "no_callback_after_stop", Level::kMust, Needs::kTransport,
               "after stop() returns, no deliver() arrives (threads joined)",
               [](const KitContext& kit) {
                 Tagged tag;
                 TransportUnderTest a(kit), b(kit);
                 start_connected(a, "A");
                 start_connected(b, "B");
                 b.stop();
                 for (int i = 0; i < 200; ++i) publish_ok(a, tag.msg(std::to_string(i)));
                 expect(a.wait_for(10s, [&](auto& got) { return tag.count(got) >= 200; }),
                        "A did not receive its own 200 messages");
                 expect(b.deliveries_after_stop() == 0,
                        std::to_string(b.deliveries_after_stop()) + " deliveries reached B after its stop() returned");
               }});
  c.push_back({"T1.03", "restart", Level::kMust, Needs::kTransport,
               "a new instance started after another was stopped and destroyed works",
               [](const KitContext& kit) {
                 for (int round = 0; round < 3; ++round) {
                   Tagged tag;
                   TransportUnderTest t(kit);
                   start_connected(t, "instance");
                   publish_ok(t, tag.msg("x"));
                   expect(t.wait_for(10s, [&](auto& got) { return tag.count(got) == 1; }),
                          "round " + std::to_string(round) + ": no delivery");
                 }
               }});
  c.push_back({"T1.04", "stop_is_idempotent", Level::kMust, Needs::kTransport,
               "stop() without start(), and stop() twice, are harmless",
               [](const KitContext& kit) {
                 { TransportUnderTest never(kit); never.stop(); }
                 TransportUnderTest t(kit);
                 start_connected(t, "instance");
                 t.stop();
                 t.stop();
               }});
  c.push_back({"T1.05", "publish_after_stop_refused", Level::kShould, Needs::kTransport,
               "publish() after stop() returns an error status instead of crashing or queueing",
               [](const KitContext& kit) {
                 TransportUnderTest t(kit);
                 start_connected(t, "instance");
                 t.stop();
                 expect(!t.publish("late").is_ok(), "publish() after stop() returned OK");
               }});
  c.push_back({"T2.01", "self_echo", Level::kMust, Needs::kTransport,
               "an instance delivers its own publishes (the core relies on the echo for one order)",
               [](const KitContext& kit) {
                 Tagged tag;
                 TransportUnderTest t(kit);
                 start_connected(t, "instance");
                 publish_ok(t, tag.msg("echo"));
                 expect(t.wait_for(10s, [&](auto& got) { return tag.count(got) >= 1; }),
                        "no self-echo within 10 s");
                 expect(t.wait_for(200ms, [&](auto& got) { return tag.count(got) > 1; }) == false,
                        "the echo arrived more than once");
               }});
  c.push_back({"T2.02", "delivery_between_instances", Level::kMust, Needs::kTransport,
               "a message published by one instance is delivered once by every other instance",
               [](const KitContext& kit) {
                 Tagged tag;
                 TransportUnderTest a(kit), b(kit), d(kit);
                 start_connected(a, "A");
                 start_connected(b, "B");
                 start_connected(d, "C");
                 publish_ok(a, tag.msg("hello"));
                 for (auto* t : {&b, &d})
                   expect(t->wait_for(10s, [&](auto& got) { return tag.count(got) >= 1; }),
                          "another instance did not receive the message within 10 s");
                 expect(!b.wait_for(200ms, [&](auto& got) { return tag.count(got) > 1; }),
                        "delivered more than once");
               }});
  c.push_back({"T2.03", "order_per_publisher_under_load", Level::kMust, Needs::kTransport,
               "10,000 messages: every accepted one delivered once, in publish order",
               [](const KitContext& kit) {
                 Tagged tag;
                 TransportUnderTest a(kit), b(kit);
                 start_connected(a, "A");
                 start_connected(b, "B");
                 std::vector<int> accepted;
                 for (int i = 0; i < 10000; ++i) {
                   Status s = a.publish(tag.msg("A:" + std::to_string(i)));
                   if (s.is_ok()) accepted.push_back(i);
                   else expect(s.code() == StatusCode::kBackpressure,
                               "publish() returned " + std::string(status_name(s.code())));
                 }
                 expect(accepted.size() >= 1000, "fewer than 10% of 10,000 publishes accepted");
                 b.wait_for(30s, [&](auto& got) { return tag.count(got) >= accepted.size(); });
                 b.wait_for(200ms, [&](auto& got) { return tag.count(got) > accepted.size(); });
                 check_sequence(tag.bodies(b.messages()), "A", accepted, "B");
                 check_sequence(tag.bodies(a.messages()), "A", accepted, "A (self-echo)");
               },
               std::chrono::seconds(120)});
  c.push_back({"T2.04", "payloads_byte_exact", Level::kMust, Needs::kTransport,
               "payloads of 0 B, 1 MiB, all 256 byte values and non-ASCII UTF-8 arrive byte-exact",
               [](const KitContext& kit) {
                 TransportUnderTest a(kit), b(kit);
                 start_connected(a, "A");
                 start_connected(b, "B");
                 std::string binary;
                 for (int r = 0; r < 4; ++r)
                   for (int i = 0; i < 256; ++i) binary.push_back(static_cast<char>(i));
                 const std::vector<std::pair<std::string, std::string>> payloads = {
                     {"0 B", ""},
                     {"1 MiB", std::string(1 << 20, 'x')},
                     {"binary", binary},
                     {"UTF-8", "h\xc3\xa9llo \xf0\x9f\x8c\x8d \xe6\x97\xa5\xe6\x9c\xac \xd8\xb9\xd8\xb1\xd8\xa8\xd9\x8a"}};
                 for (const auto& [what, p] : payloads) {
                   size_t before = b.count();
                   publish_ok(a, p);
                   expect(b.wait_for(15s, [&](auto& got) {
                            return std::find(got.begin() + static_cast<long>(before), got.end(), p) != got.end();
                          }),
                          "the " + what + " payload did not arrive intact within 15 s");
                 }
               }});
  c.push_back({"T2.05", "concurrent_publishers", Level::kMust, Needs::kTransport,
               "4 instances publishing 2,000 messages each at once: every instance gets every "
               "accepted message, per-publisher order kept",
               [](const KitContext& kit) {
                 Tagged tag;
                 std::vector<std::unique_ptr<TransportUnderTest>> ts;
                 for (int i = 0; i < 4; ++i) {
                   ts.push_back(std::make_unique<TransportUnderTest>(kit));
                   start_connected(*ts.back(), "instance");
                 }
                 std::vector<std::vector<int>> accepted(4);
                 std::vector<std::thread> threads;
                 for (int p = 0; p < 4; ++p)
                   threads.emplace_back([&, p] {
                     for (int i = 0; i < 2000; ++i)
                       if (ts[p]->publish(tag.msg(numbered("P", p) + ":" + std::to_string(i))).is_ok())
                         accepted[p].push_back(i);
                   });
                 for (auto& th : threads) th.join();
                 size_t total = 0;
                 for (auto& a : accepted) total += a.size();
                 for (int r = 0; r < 4; ++r) {
                   ts[r]->wait_for(30s, [&](auto& got) { return tag.count(got) >= total; });
                   auto bodies = tag.bodies(ts[r]->messages());
                   for (int p = 0; p < 4; ++p)
                     check_sequence(bodies, numbered("P", p), accepted[p],
                                    numbered("instance ", r));
                 }
               },
               std::chrono::seconds(120)});
  c.push_back({"T3.01", "state_after_stop", Level::kShould, Needs::kTransport,
               "after stop() the instance no longer reports CONNECTED (STOPPED expected)",
               [](const KitContext& kit) {
                 TransportUnderTest t(kit);
                 start_connected(t, "instance");
                 t.stop();
                 expect(t.state() != SWITCHBOARD_STATE_CONNECTED, "still reports CONNECTED after stop()");
               }});
  c.push_back({"T4.01", "broker_away_publish_never_blocks", Level::kMust, Needs::kTransportBroker,
               "with the broker stopped, the state leaves CONNECTED within 15 s and publish() "
               "returns at once (any status), never crashing",
               [](const KitContext& kit) {
                 TransportUnderTest t(kit);
                 start_connected(t, "instance");
                 BrokerGuard restart{kit};
                 kit.run_command(kit.broker_stop);
                 auto deadline = Clock::now() + kit.scaled(15s);
                 while (t.state() == SWITCHBOARD_STATE_CONNECTED && Clock::now() < deadline) {
                   (void)t.publish("probe");  // some clients notice the loss only on write
                   std::this_thread::sleep_for(100ms);
                 }
                 expect(t.state() != SWITCHBOARD_STATE_CONNECTED,
                        "still reports CONNECTED 15 s after the broker stopped");
                 for (int i = 0; i < 20; ++i) {
                   auto t0 = Clock::now();
                   (void)t.publish("while-away");
                   expect(Clock::now() - t0 < 1s, "publish() blocked for over 1 s while the broker was away");
                 }
               },
               std::chrono::seconds(90)});
  c.push_back({"T4.02", "reconnect_after_broker_restart", Level::kMust, Needs::kTransportBroker,
               "after the broker comes back, the instance reports CONNECTED again by itself and "
               "delivery (echo and between instances) resumes",
               [](const KitContext& kit) {
                 TransportUnderTest a(kit), b(kit);
                 start_connected(a, "A");
                 start_connected(b, "B");
                 {
                   BrokerGuard restart{kit};
                   kit.run_command(kit.broker_stop);
                   std::this_thread::sleep_for(kit.scaled(1s));
                 }
                 expect(a.wait_state(SWITCHBOARD_STATE_CONNECTED, 30s) &&
                            b.wait_state(SWITCHBOARD_STATE_CONNECTED, 30s),
                        "did not report CONNECTED within 30 s of the broker's return");
                 // Subscriptions may lag the connection: retry a few publishes.
                 Tagged tag;
                 bool ok = false;
                 for (int i = 0; i < 30 && !ok; ++i) {
                   (void)a.publish(tag.msg(std::to_string(i)));
                   ok = b.wait_for(500ms, [&](auto& got) { return tag.count(got) >= 1; }) &&
                        a.wait_for(500ms, [&](auto& got) { return tag.count(got) >= 1; });
                 }
                 expect(ok, "no delivery (echo and between instances) within 30 s after reconnecting");
               },
               std::chrono::seconds(120)});
  return c;
}

}  // namespace switchboard::conformance
