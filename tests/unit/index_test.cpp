#include <catch2/catch.hpp>

#include "fake_connection.hpp"

#include "routing/index.hpp"

using namespace switchboard::routing;

namespace {
using switchboard::test::FakeConn;
Frame frame(std::string s) { return std::make_shared<const std::string>(std::move(s)); }

Delivery make(Delivery::Kind k, std::vector<std::string> targets, std::vector<Frame> frames) {
  Delivery d{};
  d.kind = k;
  d.targets = std::move(targets);
  d.frames = std::move(frames);
  return d;
}
}  // namespace

TEST_CASE("each target kind reaches exactly its connections", "[index]") {
  IndexShard shard;
  FakeConn a1("s1", "A"), a2("s2", "A"), b1("s3", "B");
  shard.add(&a1, "alice", {"disney"});
  shard.add(&a2, "alice", {"disney"});
  shard.add(&b1, "bob", {"kids"});

  CHECK(shard.dispatch(make(Delivery::Kind::kAll, {}, {frame("all")})) == 3);
  CHECK(shard.dispatch(make(Delivery::Kind::kChannel, {"disney"}, {frame("ch")})) == 2);
  CHECK(shard.dispatch(make(Delivery::Kind::kUser, {"bob"}, {frame("u")})) == 1);
  CHECK(shard.dispatch(make(Delivery::Kind::kSocket, {"s2"}, {frame("s")})) == 1);
  CHECK(a1.got == std::vector<std::string>{"all", "ch"});
  CHECK(a2.got == std::vector<std::string>{"all", "ch", "s"});
  CHECK(b1.got == std::vector<std::string>{"all", "u"});
}

TEST_CASE("a connection in two named channels gets one frame per channel", "[index]") {
  IndexShard shard;
  FakeConn c("s", "S");
  shard.add(&c, std::nullopt, {"a", "b"});
  shard.dispatch(make(Delivery::Kind::kChannel, {"a", "b", "z"}, {frame("A"), frame("B"), frame("Z")}));
  CHECK(c.got == std::vector<std::string>{"A", "B"});
}

TEST_CASE("a session sync rebinds every connection of that session only", "[index]") {
  IndexShard shard;
  FakeConn a1("s1", "A"), a2("s2", "A"), b("s3", "B");
  shard.add(&a1, "alice", {"x"});
  shard.add(&a2, "alice", {"x"});
  shard.add(&b, "alice", {"x"});
  Delivery sync{};
  sync.kind = Delivery::Kind::kSession;
  sync.session_key = "A";
  sync.user = std::nullopt;  // sign out
  sync.channels = {"y"};
  shard.dispatch(sync);
  CHECK(shard.dispatch(make(Delivery::Kind::kUser, {"alice"}, {frame("u")})) == 1);  // b only
  CHECK(shard.dispatch(make(Delivery::Kind::kChannel, {"x"}, {frame("x")})) == 1);
  CHECK(shard.dispatch(make(Delivery::Kind::kChannel, {"y"}, {frame("y")})) == 2);
  CHECK(b.got == std::vector<std::string>{"u", "x"});
}

TEST_CASE("per-channel and per-user state is freed with its last connection", "[index]") {
  IndexShard shard;
  FakeConn a("s1", "A"), b("s2", "B");
  shard.add(&a, "u", {"c1", "c2"});
  shard.add(&b, "u", {"c2"});
  CHECK(shard.channel_count() == 2);
  shard.bind(&a, "u", {"c2"});
  CHECK(shard.channel_count() == 1);
  shard.remove(&a);
  shard.remove(&b);
  CHECK(shard.channel_count() == 0);
  CHECK(shard.user_count() == 0);
  CHECK(shard.connection_count() == 0);
  CHECK(shard.dispatch(make(Delivery::Kind::kSocket, {"s1"}, {frame("s")})) == 0);
}

TEST_CASE("a disconnect order closes the named sockets or every connection of the users",
          "[index]") {
  IndexShard shard;
  FakeConn a1("s1", "A"), a2("s2", "A"), b1("s3", "B"), n1("s4", "N");
  shard.add(&a1, "alice", {});
  shard.add(&a2, "alice", {});
  shard.add(&b1, "bob", {});
  shard.add(&n1, std::nullopt, {});

  Delivery by_user = make(Delivery::Kind::kDisconnect, {"alice", "nobody"}, {});
  by_user.by_user = true;
  CHECK(shard.dispatch(by_user) == 0);  // no frame queued
  CHECK(a1.requested == std::vector<bool>{true});
  CHECK(a2.requested == std::vector<bool>{true});
  CHECK(b1.requested.empty());
  CHECK(n1.requested.empty());

  Delivery by_socket = make(Delivery::Kind::kDisconnect, {"s3", "s4", "gone"}, {});
  by_socket.reconnect = false;
  shard.dispatch(by_socket);
  CHECK(b1.requested == std::vector<bool>{false});
  CHECK(n1.requested == std::vector<bool>{false});
  CHECK(a1.requested.size() == 1);
  // A user id that equals a socketId is not taken for one (and the reverse).
  Delivery user_named_like_socket = make(Delivery::Kind::kDisconnect, {"s1"}, {});
  user_named_like_socket.by_user = true;
  shard.dispatch(user_named_like_socket);
  CHECK(a1.requested.size() == 1);
}
