#include <catch2/catch.hpp>

#include <thread>

#include "switchboard/future.hpp"

using namespace switchboard;

TEST_CASE("ready values, failures and chaining", "[future]") {
  Future f = 42;
  Outcome got;
  f.on_complete([&](const Outcome& o) { got = o; });
  CHECK(std::get<Json>(got) == Json(42));

  Future g = Future::failed({"x", "y"}).then([](const Json&) -> Future { FAIL("ran"); return 1; });
  g.on_complete([&](const Outcome& o) { got = o; });
  CHECK(std::get<Error>(got).code == "x");

  Future h = Future(1).then([](const Json&) -> Future { throw RpcError("nope", "no"); });
  h.on_complete([&](const Outcome& o) { got = o; });
  CHECK(std::get<Error>(got).code == "nope");
}

TEST_CASE("a promise completed on another thread, once", "[future]") {
  Promise p;
  std::atomic<int> calls{0};
  Json value;
  p.future().then([](const Json& v) -> Future { return v.as_int64() + 1; }).on_complete([&](const Outcome& o) {
    value = std::get<Json>(o);
    ++calls;
  });
  std::thread t([p] {
    p.resolve(1);
    p.resolve(5);  // ignored
  });
  t.join();
  CHECK(calls == 1);
  CHECK(value == Json(2));
}
