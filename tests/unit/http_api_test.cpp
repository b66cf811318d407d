// api::HttpApi, the logic behind POST /api/publish (docs/http-api.md), on the real
// publish path: BusPublisher → PluginHost → the memory transport, whose bus
// hands every message back to the test. Admission (off, path, method, key, rate,
// media type, length) and the body's validation, all or nothing.
#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "api/http_api.hpp"
#include "plugin/plugin_host.hpp"
#include "publish/bus_publisher.hpp"
#include "session/session_service.hpp"
#include "switchboard/config.hpp"

using namespace switchboard;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

constexpr const char* kKey = "0123456789abcdef-key-one";
constexpr const char* kKey2 = "fedcba9876543210-key-two";

// The server's publish path around an HttpApi, with what came back from the bus.
struct ApiUnderTest {
  config::Settings settings;
  std::vector<std::string> plugin_dirs;
  observe::Metrics metrics;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> bus;  // messages back from the memory transport
  std::unique_ptr<plugin::PluginHost> host;
  std::unique_ptr<publish::BusPublisher> publisher;
  std::unique_ptr<session::SessionService> sessions;
  std::unique_ptr<api::HttpApi> api;

  explicit ApiUnderTest(const std::string& api_yaml) {
    settings = plugin::load_settings(
        Config::from_string(std::string("plugins: {dir: \"" SWITCHBOARD_PLUGIN_DIR "\"}\n") +
                                "api: " + api_yaml + "\n",
                            "test.yaml"),
        plugin_dirs);
    host = std::make_unique<plugin::PluginHost>(settings, plugin_dirs, metrics,
                                                [this](std::string_view b) {
                                                  std::lock_guard<std::mutex> lock(mu);
                                                  bus.emplace_back(b);
                                                  cv.notify_all();
                                                });
    host->start();
    publisher = std::make_unique<publish::BusPublisher>(settings, *host);
    sessions = std::make_unique<session::SessionService>(settings, *host);
    api = std::make_unique<api::HttpApi>(settings, *publisher, *sessions, host->transport_state());
  }
  ~ApiUnderTest() { host->stop(); }

  std::optional<api::Answer> admit(std::string_view auth, std::string_view path = "/api/publish",
                                   std::string_view method = "POST",
                                   std::string_view type = "application/json",
                                   std::optional<uint64_t> length = 10) {
    return api->admit(path, method, auth, type, length);
  }
  // The answer to an admitted body (which may come from another thread).
  api::Answer answer(std::string_view path, std::string_view body) {
    std::promise<api::Answer> p;
    auto f = p.get_future();
    api->answer(path, body, [&p](api::Answer a) { p.set_value(std::move(a)); });
    REQUIRE(f.wait_for(10s) == std::future_status::ready);
    return f.get();
  }
  // Waits for n messages from the bus (or 2 s), then returns what came.
  std::vector<std::string> wait_bus(size_t n) {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, 2s, [&] { return bus.size() >= n; });
    return bus;
  }
};

std::string bearer(const char* key) { return std::string("Bearer ") + key; }

json::value body_of(const api::Answer& a) { return json::parse(a.body); }
std::string error_code(const api::Answer& a) {
  return std::string(body_of(a).at("error").at("code").as_string());
}
std::string error_message(const api::Answer& a) {
  return std::string(body_of(a).at("error").at("message").as_string());
}

}  // namespace

TEST_CASE("without keys the API is off: every path answers 404", "[http_api]") {
  ApiUnderTest t("{}");
  auto a = t.admit(bearer(kKey));
  REQUIRE(a);
  CHECK(a->status == 404);
  CHECK(error_message(*a).find("api.keys") != std::string::npos);
}

TEST_CASE("admission checks path, method, key, rate, media type and length", "[http_api]") {
  ApiUnderTest t(std::string("{keys: [\"") + kKey + "\", \"" + kKey2 +
                 "\"], requests_per_second: 3, max_body_bytes: 4096}");
  SECTION("a good head is admitted, with either key, case-insensitive scheme") {
    CHECK_FALSE(t.admit(bearer(kKey)));
    CHECK_FALSE(t.admit(std::string("bearer  ") + kKey2));
    CHECK_FALSE(t.admit(bearer(kKey), "/api/publish", "POST", "application/JSON; charset=utf-8"));
    CHECK_FALSE(t.admit(bearer(kKey), "/api/publish", "POST", "application/json", std::nullopt));
  }
  SECTION("unknown endpoint 404, wrong method 405 with Allow") {
    CHECK(t.admit(bearer(kKey), "/api/other")->status == 404);
    CHECK(t.admit(bearer(kKey), "/api")->status == 404);
    auto a = t.admit(bearer(kKey), "/api/publish", "GET");
    CHECK(a->status == 405);
    CHECK(a->allow_post);
  }
  SECTION("a missing, wrong, truncated or extended key is 401 with a challenge") {
    const std::string key = kKey;
    for (const std::string& auth :
         {std::string(), std::string(kKey), "Basic " + key, std::string("Bearer"), "Bearer " + key.substr(1),
          "Bearer " + key + "x", "Bearer " + key.substr(0, key.size() - 1) + "X"}) {
      INFO(auth);
      auto a = t.admit(auth);
      REQUIRE(a);
      CHECK(a->status == 401);
      CHECK(a->challenge);
      CHECK(error_code(*a) == "unauthorized");
    }
  }
  SECTION("each key has its own rate; 429 with Retry-After beyond it") {
    for (int i = 0; i < 3; ++i) CHECK_FALSE(t.admit(bearer(kKey)));
    auto a = t.admit(bearer(kKey));
    REQUIRE(a);
    CHECK(a->status == 429);
    CHECK(a->retry_after_s == 1);
    CHECK(error_code(*a) == "rate_limited");
    CHECK_FALSE(t.admit(bearer(kKey2)));
  }
  SECTION("another media type is 415; a declared length over the limit 413") {
    CHECK(t.admit(bearer(kKey), "/api/publish", "POST", "text/plain")->status == 415);
    CHECK(t.admit(bearer(kKey), "/api/publish", "POST", "")->status == 415);
    CHECK(t.admit(bearer(kKey2), "/api/publish", "POST", "application/json", 4096) == std::nullopt);
    auto a = t.admit(bearer(kKey2), "/api/publish", "POST", "application/json", 4097);
    REQUIRE(a);
    CHECK(a->status == 413);
    CHECK(error_message(*a).find("4096") != std::string::npos);
  }
}

TEST_CASE("config refuses short keys and out-of-range bounds", "[http_api]") {
  CHECK_THROWS_WITH(ApiUnderTest("{keys: [\"short\"]}"), Catch::Contains("api.keys"));
  CHECK_THROWS_WITH(ApiUnderTest("{keys: [\"0123456789abcdef with space\"]}"),
                    Catch::Contains("api.keys"));
  CHECK_THROWS_WITH(ApiUnderTest("{max_body_bytes: 10}"), Catch::Contains("api.max_body_bytes"));
  CHECK_THROWS_WITH(ApiUnderTest("{max_messages: 0}"), Catch::Contains("api.max_messages"));
}

TEST_CASE("one message or an array is published through the bus as app.publish() would",
          "[http_api]") {
  ApiUnderTest t(std::string("{keys: [\"") + kKey + "\"]}");
  auto one = t.api->publish(R"({"t":"channel","channels":["disney"],"e":"chat","p":[{"a":1}]})");
  CHECK(one.status == 200);
  CHECK(one.body == R"({"published":1})");
  auto many = t.api->publish(
      R"([{"t":"all","e":"flash","p":["x\ud800"]},{"t":"user","users":"fred","e":"offer"},)"
      R"({"t":"socketId","socketId":"abc","e":"tab","extra":true}])");
  CHECK(many.status == 200);
  CHECK(many.body == R"({"published":3})");
  auto bus = t.wait_bus(4);
  REQUIRE(bus.size() == 4);
  // The same bytes BusPublisher writes for app.publish() (routing::encode_publish).
  CHECK(bus[0] == routing::encode_publish(routing::Target::kChannel, {"disney"}, "chat",
                                          json::array{json::object{{"a", 1}}}));
  CHECK(bus[1] == routing::encode_publish(routing::Target::kAll, {}, "flash",
                                          json::array{"x\xEF\xBF\xBD"}));
  CHECK(bus[2] == routing::encode_publish(routing::Target::kUser, {"fred"}, "offer", {}));
  CHECK(bus[3] == routing::encode_publish(routing::Target::kSocket, {"abc"}, "tab", {}));
}

TEST_CASE("a bad message fails the whole request, naming it, nothing is published",
          "[http_api]") {
  ApiUnderTest t(std::string("{keys: [\"") + kKey + "\"], max_messages: 2}");
  struct Case {
    const char* body;
    const char* says;
  };
  for (const Case& c : {
           Case{"not json", "not valid JSON"},
           Case{"42", "one message object or an array"},
           Case{"[]", "holds no message"},
           Case{R"([{"t":"all","e":"a"},{"t":"all","e":"b"},{"t":"all","e":"c"}])",
                "api.max_messages (2)"},
           Case{R"([{"t":"all","e":"ok"},7])", "message [1]: not a JSON object"},
           Case{R"([{"t":"all","e":"ok"},{"t":"channel","e":"x"}])", "message [1]: "},
           Case{R"({"t":"all","e":""})", "\"e\""},
           Case{R"({"t":"all","e":"x","p":{"not":"array"}})", "\"p\""},
           Case{R"({"t":"all","e":"x","p":[1e999]})", "finite"},
           Case{R"({"t":"_session","s":"k","u":null,"ch":[]})", "must be all, channel, user or socketId"},
           Case{R"({"t":"_future","e":"x"})", "must be all, channel, user or socketId"},
       }) {
    INFO(c.body);
    auto a = t.api->publish(c.body);
    CHECK(a.status == 400);
    CHECK(error_code(a) == "bad_request");
    CHECK(error_message(a).find(c.says) != std::string::npos);
  }
  CHECK(t.wait_bus(1).empty());
}

TEST_CASE("a transport that is not connected is 503 before anything is published",
          "[http_api]") {
  ApiUnderTest t(std::string("{keys: [\"") + kKey + "\"]}");
  observe::ComponentState down;
  down.set(SWITCHBOARD_STATE_RECONNECTING, "broker gone");
  api::HttpApi api(t.settings, *t.publisher, *t.sessions, down);
  auto a = api.publish(R"({"t":"all","e":"x"})");
  CHECK(a.status == 503);
  CHECK(error_code(a) == "transport_unavailable");
  CHECK(t.wait_bus(1).empty());
}

TEST_CASE("/api/disconnect puts one _disconnect order on the bus, checked as the bus would",
          "[http_api]") {
  ApiUnderTest t(std::string("{keys: [\"") + kKey + "\"]}");
  CHECK_FALSE(t.admit(bearer(kKey), "/api/disconnect"));
  auto by_user = t.answer("/api/disconnect", R"({"users":"fred"})");
  CHECK(by_user.status == 200);
  CHECK(by_user.body == R"({"published":1})");
  auto by_socket = t.answer("/api/disconnect", R"({"socketIds":["a","b"],"reconnect":false})");
  CHECK(by_socket.status == 200);
  auto bus = t.wait_bus(2);
  REQUIRE(bus.size() == 2);
  CHECK(bus[0] == routing::encode_disconnect(true, {"fred"}, true));
  CHECK(bus[1] == routing::encode_disconnect(false, {"a", "b"}, false));

  for (const char* bad : {"[]", "{}", R"({"users":"a","socketIds":"b"})", R"({"users":[]})",
                          R"({"users":"a","reconnect":1})", "nope", R"({"users":"a","x":1e999})"}) {
    INFO(bad);
    auto a = t.answer("/api/disconnect", bad);
    CHECK(a.status == 400);
    CHECK(error_code(a) == "bad_request");
  }
  CHECK(t.wait_bus(3).size() == 2);
}
