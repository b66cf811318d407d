// Transport cases (docs/conformance-spec.md, section T).
#include <algorithm>
#include <exception>
#include <functional>
#include <map>
#include <tuple>

#include "spec.hpp"

namespace switchboard::conformance {
namespace {

// Messages of one case carry a unique tag, so traffic of other cases (or other
// users of a shared broker) never counts.
struct Tagged {
  std::string prefix = unique_id("kit-") + "|";
  std::string msg(const std::string& body) const { return prefix + body; }
  size_t count(const std::vector<std::string>& got) const {
    return std::count_if(got.begin(), got.end(), [&](const std::string& m) { return mine(m); });
  }
  bool mine(std::string_view m) const { return m.starts_with(prefix); }
  std::vector<std::string> bodies(const std::vector<std::string>& got) const {
    std::vector<std::string> out;
    for (const auto& m : got)
      if (mine(m)) out.push_back(m.substr(prefix.size()));
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

// Which of one publisher's messages ("<publisher>:<n>") arrived, in arrival order.
std::vector<int> sequence_of(const std::vector<std::string>& bodies, const std::string& publisher) {
  std::vector<int> seen;
  for (const auto& b : bodies) {
    auto colon = b.find(':');
    if (colon == std::string::npos || b.compare(0, colon, publisher) != 0 || colon != publisher.size()) continue;
    seen.push_back(std::stoi(b.substr(colon + 1)));
  }
  return seen;
}

// Checks one publisher's sequence: only accepted messages, each once, in order.
void check_sequence(const std::vector<std::string>& bodies, const std::string& publisher,
                    const std::vector<int>& accepted, const std::string& where) {
  std::vector<int> seen = sequence_of(bodies, publisher);
  for (size_t i = 1; i < seen.size(); ++i) {
    expect(seen[i] != seen[i - 1], where + ": message " + publisher + ":" + std::to_string(seen[i]) + " delivered twice");
    expect(seen[i] > seen[i - 1], where + ": publisher " + publisher + "'s messages out of order (" +
                                      std::to_string(seen[i - 1]) + " then " + std::to_string(seen[i]) + ")");
  }
  if (seen.size() == accepted.size()) return;
  // Name the first accepted message that never came.
  std::string missing;
  for (size_t i = 0, j = 0; i < accepted.size(); ++i) {
    while (j < seen.size() && seen[j] < accepted[i]) ++j;
    if (j == seen.size() || seen[j] != accepted[i]) {
      missing = ", the first missing is " + publisher + ":" + std::to_string(accepted[i]);
      break;
    }
  }
  expect(false, where + ": " + std::to_string(accepted.size()) + " messages of publisher " + publisher +
                    " were accepted (OK), " + std::to_string(seen.size()) + " delivered" + missing);
}

// Waits until every accepted message of each publisher reached t, or the last
// accepted one of each did: per-publisher order is a MUST, so once the last has
// come any earlier one still missing is lost (decided without waiting out limit).
// Also decided when deliveries stall: nothing new of this case for 3 s (scaled)
// while some are missing (the last accepted may be the one lost).
void wait_delivered(TransportUnderTest& t, const Tagged& tag,
                    const std::vector<std::pair<std::string, const std::vector<int>*>>& publishers,
                    std::chrono::milliseconds limit) {
  auto complete = [&](const std::vector<std::string>& got) {
    auto bodies = tag.bodies(got);
    for (const auto& [name, accepted] : publishers) {
      if (accepted->empty()) continue;
      auto seen = sequence_of(bodies, name);
      if (seen.size() < accepted->size() && std::find(seen.begin(), seen.end(), accepted->back()) == seen.end())
        return false;
    }
    return true;
  };
  constexpr auto kStep = 500ms;
  constexpr int kStalledSteps = 6;  // 3 s without progress
  size_t last_count = tag.count(t.messages());
  int stalled = 0;
  for (auto waited = 0ms; waited < limit; waited += kStep) {
    if (t.wait_for(kStep, complete)) break;
    size_t now = tag.count(t.messages());
    stalled = now == last_count ? stalled + 1 : 0;
    last_count = now;
    if (stalled == kStalledSteps) break;
  }
  // Anything past the last (a duplicate) shows within a short while.
  t.wait_for(200ms, [](const std::vector<std::string>&) { return false; });
}

// Publishes n messages "<publisher>:<i>" as fast as the control thread takes them;
// returns the numbers accepted (OK). BACKPRESSURE drops are allowed; any other
// status fails the case.
std::vector<int> publish_burst(TransportUnderTest& t, const Tagged& tag, const std::string& publisher, int n) {
  std::vector<int> accepted;
  for (int i = 0; i < n; ++i) {
    Status s = t.publish(tag.msg(publisher + ":" + std::to_string(i)));
    if (s.is_ok()) accepted.push_back(i);
    else expect(s.code() == StatusCode::kBackpressure,
                "publish() returned " + std::string(status_name(s.code())) + ": " + s.message());
  }
  return accepted;
}

// Runs each body on its own thread and joins them all before rethrowing the
// first failure (a thread that ends by an exception would end the kit).
void run_concurrently(const std::vector<std::function<void()>>& bodies) {
  std::vector<std::exception_ptr> failed(bodies.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < bodies.size(); ++i)
    threads.emplace_back([&, i] {
      try {
        bodies[i]();
      } catch (...) {
        failed[i] = std::current_exception();
      }
    });
  for (auto& th : threads) th.join();
  for (const auto& f : failed)
    if (f) std::rethrow_exception(f);
}

std::string ms_text(std::chrono::nanoseconds d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

}  // namespace

std::vector<Case> transport_cases() {
  std::vector<Case> c;
  c.push_back({"T1.01", "start_reports_connected", Level::kMust, Needs::kTransport,
               "start() returns OK without blocking and the instance reports CONNECTED",
               [](const KitContext& kit) {
                 TransportUnderTest t(kit);
                 start_connected(t, "instance");
               },
               30s});
  c.push_back({"T1.02", "publish_returns_promptly", Level::kMust, Needs::kTransport,
               "publish() only queues: none of 5,000 calls takes over 250 ms, and all of them "
               "together under 2.5 s (every case also fails a call over 1 s)",
               [](const KitContext& kit) {
                 Tagged tag;
                 TransportUnderTest a(kit), b(kit);
                 start_connected(a, "A");
                 start_connected(b, "B");
                 constexpr int kCalls = 5000;
                 const auto per_call = kit.scaled(250ms), in_all = kit.scaled(2500ms);
                 std::chrono::nanoseconds total{};
                 for (int i = 1; i <= kCalls; ++i) {
                   std::chrono::nanoseconds took{};
                   Status s = a.publish_timed(tag.msg(numbered("A:", i)), took);
                   expect(s.is_ok() || s.code() == StatusCode::kBackpressure,
                          "publish() returned " + std::string(status_name(s.code())) + ": " + s.message());
                   total += took;
                   expect(took <= per_call, "publish() call #" + std::to_string(i) + " took " + ms_text(took) +
                                                " (limit " + ms_text(per_call) + "): publish() must only queue, "
                                                "never wait for the broker or a peer");
                   expect(total <= in_all, std::to_string(i) + " publish() calls took " + ms_text(total) +
                                               " in all, over the " + ms_text(in_all) + " allowed for " +
                                               std::to_string(kCalls) + ": publish() must only queue");
                 }
               },
               30s});
  c.push_back({"T1.03", "no_callback_after_stop", Level::kMust, Needs::kTransport,
               "stop() of an instance that is inside deliver() with a backlog behind it waits for that "
               "deliver() to return and delivers nothing after it returns (threads joined, backlog dropped)",
               [](const KitContext& kit) {
                 Tagged tag;
                 // B's first delivery of this case is held until stop() has been called.
                 std::promise<void> entered, release;
                 std::shared_future<void> released = release.get_future().share();
                 std::atomic<bool> first{true};
                 TransportUnderTest a(kit), b(kit);
                 b.set_deliver_hook([&](std::string_view m) {
                   if (!tag.mine(m) || !first.exchange(false)) return;
                   entered.set_value();
                   released.wait_for(10s);
                 });
                 start_connected(a, "A");
                 start_connected(b, "B");
                 publish_ok(a, tag.msg("first"));
                 expect(entered.get_future().wait_for(kit.scaled(10s)) == std::future_status::ready,
                        "B received nothing within 10 s, so stop() of a busy instance could not be tested "
                        "(see T2.02)");
                 publish_burst(a, tag, "A", 500);  // B's backlog
                 auto stopped = b.stop_async();
                 // stop() has been running a while when the held deliver() returns.
                 std::this_thread::sleep_for(kit.scaled(200ms));
                 release.set_value();
                 expect(stopped.wait_for(30s) == std::future_status::ready, "B's stop() did not return within 30 s");
                 std::this_thread::sleep_for(kit.scaled(300ms));
                 const bool in_flight = b.in_flight_at_stop() > 0;
                 const uint64_t after = b.deliveries_after_stop();
                 std::string what;
                 if (in_flight) what = "stop() returned while B's deliver() was still running";
                 if (after > 0)
                   what += (what.empty() ? "" : ", and ") + std::to_string(after) +
                           " deliveries reached B after its stop() returned (its backlog kept draining)";
                 expect(what.empty(), what + ": stop() must join the threads that call deliver() and drop "
                                             "what is still queued");
               },
               30s});
  c.push_back({"T1.04", "restart", Level::kMust, Needs::kTransport,
               "a new instance started after another was stopped and destroyed works",
               [](const KitContext& kit) {
                 for (int round = 0; round < 3; ++round) {
                   Tagged tag;
                   TransportUnderTest t(kit);
                   start_connected(t, "instance");
                   publish_ok(t, tag.msg("x"));
                   expect(t.wait_for(10s, [&](auto& got) { return tag.count(got) == 1; }),
                          "round " + std::to_string(round) + ": no delivery within 10 s");
                 }
               },
               60s});
  c.push_back({"T1.05", "stop_is_idempotent", Level::kMust, Needs::kTransport,
               "stop() without start(), and stop() twice, are harmless",
               [](const KitContext& kit) {
                 { TransportUnderTest never(kit); never.stop(); }
                 TransportUnderTest t(kit);
                 start_connected(t, "instance");
                 t.stop();
                 t.stop();
               },
               30s});
  c.push_back({"T1.06", "publish_after_stop_refused", Level::kShould, Needs::kTransport,
               "publish() after stop() returns an error status instead of crashing or queueing",
               [](const KitContext& kit) {
                 TransportUnderTest t(kit);
                 start_connected(t, "instance");
                 t.stop();
                 expect(!t.publish("late").is_ok(), "publish() after stop() returned OK");
               },
               30s});
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
               },
               30s});
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
               },
               30s});
  c.push_back({"T2.03", "one_deliver_at_a_time", Level::kMust, Needs::kTransport,
               "an instance never runs two deliver() calls at once, also while it publishes and "
               "receives at the same time (the core's per-topic dispatch is not reentrant)",
               [](const KitContext& kit) {
                 Tagged tag;
                 constexpr int kEach = 1000;
                 auto slow = [&](std::string_view m) {
                   if (tag.mine(m)) std::this_thread::sleep_for(100us);
                 };
                 TransportUnderTest a(kit), b(kit);
                 a.set_deliver_hook(slow);
                 b.set_deliver_hook(slow);
                 start_connected(a, "A");
                 start_connected(b, "B");
                 std::vector<int> from_a, from_b;
                 run_concurrently({[&] { from_a = publish_burst(a, tag, "A", kEach); },
                                   [&] { from_b = publish_burst(b, tag, "B", kEach); }});
                 for (auto* t : {&a, &b}) {
                   wait_delivered(*t, tag, {{"A", &from_a}, {"B", &from_b}}, 20s);
                   const char* who = t == &a ? "A" : "B";
                   expect(t->max_concurrent_deliveries() <= 1,
                          std::string(who) + ": " + std::to_string(t->max_concurrent_deliveries()) +
                              " deliver() calls ran at once: deliver() must be called from one thread at a "
                              "time per instance (the self-echo included)");
                 }
               },
               60s});
  c.push_back({"T2.04", "slow_consumer_loses_nothing_accepted", Level::kMust, Needs::kTransport,
               "10,000 messages to an instance that takes 0.25 ms per deliver(): every one accepted (OK) "
               "is delivered, in order; a transport that cannot queue more says BACKPRESSURE",
               [](const KitContext& kit) {
                 Tagged tag;
                 TransportUnderTest a(kit), b(kit);
                 b.set_deliver_hook([&](std::string_view m) {
                   if (tag.mine(m)) std::this_thread::sleep_for(250us);
                 });
                 start_connected(a, "A");
                 start_connected(b, "B");
                 auto accepted = publish_burst(a, tag, "A", 10000);
                 expect(!accepted.empty(), "none of 10,000 publishes accepted");
                 wait_delivered(b, tag, {{"A", &accepted}}, 40s);
                 check_sequence(tag.bodies(b.messages()), "A", accepted, "B (the slow consumer)");
               },
               90s});
  c.push_back({"T2.05", "order_per_publisher_under_load", Level::kMust, Needs::kTransport,
               "10,000 messages: every accepted one delivered once, in publish order",
               [](const KitContext& kit) {
                 Tagged tag;
                 TransportUnderTest a(kit), b(kit);
                 start_connected(a, "A");
                 start_connected(b, "B");
                 auto accepted = publish_burst(a, tag, "A", 10000);
                 expect(accepted.size() >= 1000, "fewer than 10% of 10,000 publishes accepted");
                 wait_delivered(b, tag, {{"A", &accepted}}, 30s);
                 wait_delivered(a, tag, {{"A", &accepted}}, 5s);
                 check_sequence(tag.bodies(b.messages()), "A", accepted, "B");
                 check_sequence(tag.bodies(a.messages()), "A", accepted, "A (self-echo)");
               },
               90s});
  c.push_back({"T2.06", "payloads_byte_exact", Level::kMust, Needs::kTransport,
               "payloads of 0 B, 1 MiB, all 256 byte values and non-ASCII UTF-8 arrive byte-exact, "
               "at another instance and in the publisher's own echo",
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
                 Tagged tag;
                 for (const auto& [what, p] : payloads) {
                   size_t before_a = a.count(), before_b = b.count();
                   publish_ok(a, p);
                   // Order per publisher is a MUST: once this marker has come, so has p.
                   const std::string marker = tag.msg("after " + what);
                   publish_ok(a, marker);
                   for (auto [t, before, who] : {std::tuple{&b, before_b, "another instance"},
                                                 std::tuple{&a, before_a, "the publisher's own echo"}}) {
                     auto from = [&](auto& got) { return got.begin() + static_cast<long>(before); };
                     t->wait_for(15s, [&](auto& got) {
                       return std::find(from(got), got.end(), marker) != got.end();
                     });
                     auto got = t->messages();
                     auto end = std::find(from(got), got.end(), marker);
                     if (std::find(from(got), end, p) != end) continue;
                     // Say what came instead, when something did.
                     const std::string head = "the " + what + " payload did not arrive intact at " + who;
                     expect(end != got.end(), head + " within 15 s, nor the message published after it");
                     expect(end == from(got), head + ": " + std::to_string(end - from(got)) +
                                                  " other message(s) came in its place, the first " +
                                                  std::to_string(got[before].size()) + " B where " +
                                                  std::to_string(p.size()) + " B were sent");
                     expect(false, head + ": nothing came in its place, though the message published "
                                          "after it did");
                   }
                 }
               },
               90s});
  c.push_back({"T2.07", "concurrent_publishers", Level::kMust, Needs::kTransport,
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
                 std::vector<std::function<void()>> publishers_run;
                 for (int p = 0; p < 4; ++p)
                   publishers_run.push_back([&, p] { accepted[p] = publish_burst(*ts[p], tag, numbered("P", p), 2000); });
                 run_concurrently(publishers_run);
                 std::vector<std::pair<std::string, const std::vector<int>*>> publishers;
                 for (int p = 0; p < 4; ++p) publishers.emplace_back(numbered("P", p), &accepted[p]);
                 for (int r = 0; r < 4; ++r) {
                   wait_delivered(*ts[r], tag, publishers, 30s);
                   auto bodies = tag.bodies(ts[r]->messages());
                   for (int p = 0; p < 4; ++p)
                     check_sequence(bodies, numbered("P", p), accepted[p], numbered("instance ", r));
                 }
               },
               90s});
  c.push_back({"T2.08", "publish_from_any_thread", Level::kMust, Needs::kTransportAnyThread,
               "declaring SWITCHBOARD_CAP_PUBLISH_ANY_THREAD, it takes publish() from 4 threads at once "
               "(none the control thread): every message accepted reaches both instances once, each "
               "thread's in order",
               [](const KitContext& kit) {
                 Tagged tag;
                 constexpr int kThreads = 4, kEach = 1000;
                 TransportUnderTest a(kit), b(kit);
                 start_connected(a, "A");
                 start_connected(b, "B");
                 std::vector<int> accepted[kThreads];
                 std::vector<std::function<void()>> bodies;
                 for (int t = 0; t < kThreads; ++t)
                   bodies.push_back([&, t] {
                     const std::string name = "P" + std::to_string(t);
                     for (int i = 0; i < kEach; ++i) {
                       Status st = a.publish_here(tag.msg(name + ":" + std::to_string(i)));
                       if (st.is_ok()) accepted[t].push_back(i);
                       else expect(st.code() == StatusCode::kBackpressure,
                                   "publish() from thread " + name + " returned " +
                                       status_name(st.code()) + ": " + st.message());
                     }
                   });
                 run_concurrently(bodies);
                 std::vector<std::pair<std::string, const std::vector<int>*>> publishers;
                 for (int t = 0; t < kThreads; ++t) publishers.push_back({"P" + std::to_string(t), &accepted[t]});
                 for (auto* inst : {&a, &b}) {
                   const std::string who = inst == &a ? "A (the publisher)" : "B";
                   wait_delivered(*inst, tag, publishers, 30s);
                   auto bodies_got = tag.bodies(inst->messages());
                   for (const auto& [name, acc] : publishers) check_sequence(bodies_got, name, *acc, who);
                 }
               },
               60s});
  c.push_back({"T3.01", "state_after_stop", Level::kShould, Needs::kTransport,
               "after stop() the instance no longer reports CONNECTED (STOPPED expected)",
               [](const KitContext& kit) {
                 TransportUnderTest t(kit);
                 start_connected(t, "instance");
                 t.stop();
                 expect(t.state() != SWITCHBOARD_STATE_CONNECTED, "still reports CONNECTED after stop()");
               },
               30s});
  c.push_back({"T4.01", "broker_away_publish_never_blocks", Level::kMust, Needs::kTransportBroker,
               "with the broker stopped, the state leaves CONNECTED within 15 s and publish() "
               "returns at once (any status), never crashing",
               [](const KitContext& kit) {
                 TransportUnderTest t(kit);
                 start_connected(t, "instance");
                 BrokerGuard restart{kit};
                 kit.stop_broker();
                 auto t0 = Clock::now(), deadline = t0 + kit.scaled(15s);
                 while (t.state() == SWITCHBOARD_STATE_CONNECTED && Clock::now() < deadline) {
                   (void)t.publish("probe");  // some clients notice the loss only on write
                   std::this_thread::sleep_for(100ms);
                 }
                 expect(t.state() != SWITCHBOARD_STATE_CONNECTED,
                        "still reports CONNECTED " + ms_text(Clock::now() - t0) + " after the broker stopped");
                 for (int i = 0; i < 20; ++i) {
                   std::chrono::nanoseconds took{};
                   (void)t.publish_timed("while-away", took);
                   expect(took < kit.scaled(1s), "publish() took " + ms_text(took) + " while the broker was away");
                 }
               },
               60s});
  c.push_back({"T4.02", "reconnect_after_broker_restart", Level::kMust, Needs::kTransportBroker,
               "after the broker comes back, the instance reports CONNECTED again by itself within "
               "30 s and delivery (echo and between instances) resumes within 30 s more",
               [](const KitContext& kit) {
                 TransportUnderTest a(kit), b(kit);
                 start_connected(a, "A");
                 start_connected(b, "B");
                 {
                   BrokerGuard restart{kit};
                   kit.stop_broker();
                   std::this_thread::sleep_for(kit.scaled(1s));
                 }
                 // Both instances against one deadline, so the message states the real wait.
                 auto back = Clock::now(), deadline = back + kit.scaled(30s);
                 bool a_up = false, b_up = false;
                 while (!(a_up && b_up) && Clock::now() < deadline) {
                   a_up = a.state() == SWITCHBOARD_STATE_CONNECTED;
                   b_up = b.state() == SWITCHBOARD_STATE_CONNECTED;
                   if (!(a_up && b_up)) std::this_thread::sleep_for(20ms);
                 }
                 expect(a_up && b_up, std::string(!a_up && !b_up ? "A and B" : !a_up ? "A" : "B") +
                                          " did not report CONNECTED again within " +
                                          ms_text(Clock::now() - back) + " of the broker's return");
                 // Subscriptions may lag the connection: retry a few publishes.
                 Tagged tag;
                 bool ok = false;
                 auto resumed = Clock::now();
                 for (int i = 0; i < 30 && !ok; ++i) {
                   (void)a.publish(tag.msg(std::to_string(i)));
                   ok = b.wait_for(500ms, [&](auto& got) { return tag.count(got) >= 1; }) &&
                        a.wait_for(500ms, [&](auto& got) { return tag.count(got) >= 1; });
                 }
                 expect(ok, "no delivery (echo and between instances) within " + ms_text(Clock::now() - resumed) +
                                " after both reported CONNECTED again");
               },
               120s});
  return c;
}

}  // namespace switchboard::conformance
