// routing::Inbox: one post per burst, batches, the bound and its exemption.
#include <catch2/catch.hpp>

#include "routing/inbox.hpp"

using namespace switchboard::routing;

namespace {
std::shared_ptr<const Delivery> event(int n) {
  auto d = std::make_shared<Delivery>();
  d->kind = Delivery::Kind::kAll;
  d->targets = {std::to_string(n)};
  return d;
}
std::shared_ptr<const Delivery> session_change() {
  auto d = std::make_shared<Delivery>();
  d->kind = Delivery::Kind::kSession;
  d->session_key = "k";
  return d;
}
}  // namespace

TEST_CASE("an inbox asks for one drain per burst and hands deliveries out in batches, in order",
          "[unit][inbox]") {
  Inbox in(100);
  CHECK(in.push(event(0)) == Inbox::Push::kPostDrain);
  for (int i = 1; i < 10; ++i) CHECK(in.push(event(i)) == Inbox::Push::kQueued);
  std::vector<std::shared_ptr<const Delivery>> out;
  CHECK(in.take(out, 4));  // more wait: the drain stays pending
  REQUIRE(out.size() == 4);
  CHECK(out[0]->targets[0] == "0");
  CHECK(out[3]->targets[0] == "3");
  CHECK(in.push(event(10)) == Inbox::Push::kQueued);  // the pending drain takes it
  CHECK(in.take(out, 4));
  CHECK(out.front()->targets[0] == "4");
  CHECK_FALSE(in.take(out, 4));  // the last 3: nothing pending any more
  REQUIRE(out.size() == 3);
  CHECK(out.back()->targets[0] == "10");
  CHECK(in.push(event(11)) == Inbox::Push::kPostDrain);  // a new burst asks again
}

TEST_CASE("a full inbox refuses events but never a session change", "[unit][inbox]") {
  Inbox in(3);
  CHECK(in.push(event(0)) == Inbox::Push::kPostDrain);
  CHECK(in.push(event(1)) == Inbox::Push::kQueued);
  CHECK(in.push(event(2)) == Inbox::Push::kQueued);
  CHECK(in.push(event(3)) == Inbox::Push::kFull);
  CHECK(in.push(session_change()) == Inbox::Push::kQueued);
  CHECK(in.push(event(4)) == Inbox::Push::kFull);
  std::vector<std::shared_ptr<const Delivery>> out;
  CHECK_FALSE(in.take(out, 100));
  REQUIRE(out.size() == 4);
  CHECK(out[3]->kind == Delivery::Kind::kSession);
  CHECK(in.push(event(5)) == Inbox::Push::kPostDrain);  // room again
}
