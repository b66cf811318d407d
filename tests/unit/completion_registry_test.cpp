// Store completions on the host side: a duplicate or late completion is counted and
// ignored, never runs a callback twice and never touches freed memory; the SDK
// never adds a completion of its own to one the plugin already made.
#include <catch2/catch.hpp>

#include <stdexcept>

#include "observe/metrics.hpp"
#include "plugin/completion_registry.hpp"
#include "plugin/proxies.hpp"
#include "switchboard/plugin.hpp"

using namespace switchboard;
using namespace switchboard::plugin;

namespace {
StoreCallback counting(int& calls, Status* last = nullptr) {
  return [&calls, last](Status s, const SessionRecord*) {
    ++calls;
    if (last) *last = s;
  };
}
}  // namespace

TEST_CASE("completion registry: the first completion runs, a second is counted and named",
          "[completion]") {
  CompletionRegistry reg;
  auto scope = std::make_shared<CompletionScope>("store:t");
  int calls = 0;
  void* ctx = reg.add(scope, "add_channels", counting(calls));
  CHECK(reg.pending() == 1);
  auto first = reg.take(ctx);
  REQUIRE(first);
  first(Status::ok(), nullptr);
  auto process_before = observe::store_duplicate_completions().load();
  CHECK_FALSE(reg.take(ctx));
  CHECK(calls == 1);
  CHECK(reg.ignored() == 1);
  CHECK(scope->ignored() == 1);
  CHECK(observe::store_duplicate_completions().load() == process_before + 1);
  observe::Metrics metrics;
  observe::ComponentState transport, store;
  CHECK(metrics.prometheus_text({transport, store}).find("\nswitchboard_store_duplicate_completions_total " +
                                       std::to_string(process_before + 1) + "\n") !=
        std::string::npos);
  CHECK(reg.describe_ignored() == "store completed add_channels twice");
  CHECK(reg.pending() == 0);
}

TEST_CASE("completion registry: op_ctx values are never reused", "[completion]") {
  CompletionRegistry reg;
  auto scope = std::make_shared<CompletionScope>("store:t");
  int calls = 0;
  void* a = reg.add(scope, "load", counting(calls));
  reg.take(a)(Status::ok(), nullptr);
  void* b = reg.add(scope, "load", counting(calls));
  CHECK(a != b);
  CHECK(a != nullptr);
  CHECK_FALSE(reg.take(a));  // the old id does not complete the new operation
  REQUIRE(reg.take(b));
  CHECK(reg.ignored() == 1);
}

TEST_CASE("completion registry: close hands back what is pending, later completions are late",
          "[completion]") {
  CompletionRegistry reg;
  auto stopped = std::make_shared<CompletionScope>("store:a");
  auto other = std::make_shared<CompletionScope>("store:b");
  int calls = 0;
  void* done_before = reg.add(stopped, "load", counting(calls));
  reg.take(done_before)(Status::ok(), nullptr);
  void* left = reg.add(stopped, "set_data", counting(calls));
  void* other_op = reg.add(other, "remove", counting(calls));
  auto pending = reg.close(*stopped);
  CHECK(stopped->stopped());
  REQUIRE(pending.size() == 1);
  CHECK(std::string(pending[0].first) == "set_data");
  CHECK_FALSE(reg.take(left));
  CHECK(reg.describe_ignored() == "store completed set_data after stop() returned");
  CHECK_FALSE(reg.take(done_before));
  CHECK(reg.describe_ignored(1) == "store completed load after stop() returned");
  CHECK(stopped->ignored() == 2);
  CHECK(other->ignored() == 0);
  REQUIRE(reg.take(other_op));  // another instance is untouched
}

TEST_CASE("completion registry: unknown and long-finished op_ctx values are only counted",
          "[completion]") {
  CompletionRegistry reg;
  auto scope = std::make_shared<CompletionScope>("store:t");
  int calls = 0;
  void* oldest = reg.add(scope, "load", counting(calls));
  reg.take(oldest)(Status::ok(), nullptr);
  for (size_t i = 0; i < CompletionRegistry::kRecentFinished; ++i)
    reg.take(reg.add(scope, "load", counting(calls)))(Status::ok(), nullptr);
  CHECK_FALSE(reg.take(oldest));  // forgotten by the bounded ring: still safe, still counted
  CHECK_FALSE(reg.take(reinterpret_cast<void*>(uintptr_t{0xdeadbeef})));
  CHECK(reg.ignored() == 2);
  CHECK(reg.describe_ignored().find("not given or finished long ago") != std::string::npos);
  CHECK(scope->ignored() == 0);  // nothing to attribute them to
}

namespace {
// A store whose set_data completes and then throws; every other operation throws
// before completing.
class ThrowingStore final : public SessionStore {
 public:
  ThrowingStore(const PluginConfig&, Host) {}
  Status start() override { return {}; }
  void stop() override {}
  void create_session(std::string_view, int64_t, StoreCallback) override { fail(); }
  void load(std::string_view, int64_t, StoreCallback) override { fail(); }
  void add_channels(std::string_view, const std::vector<std::string>&, uint32_t, int64_t,
                    StoreCallback) override { fail(); }
  void remove_channels(std::string_view, const std::vector<std::string>&, int64_t,
                       StoreCallback) override { fail(); }
  void clear_channels(std::string_view, int64_t, StoreCallback) override { fail(); }
  void set_user(std::string_view, const std::optional<std::string>&, int64_t,
                StoreCallback) override { fail(); }
  void set_data(std::string_view, std::string_view, const std::optional<std::string>&, int64_t,
                StoreCallback done) override {
    SessionRecord r;
    done({}, &r);
    throw std::runtime_error("after completing");
  }
  void remove(std::string_view, StoreCallback) override { fail(); }

 private:
  static void fail() { throw std::runtime_error("before completing"); }
};

struct Seen {
  int completions = 0;
  uint32_t status = 0;
  int logs = 0;
  std::string log;
};
void seen_done(void* ctx, uint32_t status, const switchboard_session_record*, const char*) {
  auto* s = static_cast<Seen*>(ctx);
  ++s->completions;
  s->status = status;
}
void seen_log(void* ctx, uint32_t, const char* message) {
  auto* s = static_cast<Seen*>(ctx);
  ++s->logs;
  s->log = message;
}
void no_deliver(void*, const uint8_t*, size_t) {}
void no_state(void*, uint32_t, const char*) {}
}  // namespace

TEST_CASE("SDK: an operation that completes and then throws completes once", "[completion]") {
  Seen seen;
  switchboard_host host{};
  host.struct_size = sizeof host;
  host.ctx = &seen;
  host.deliver = &no_deliver;
  host.log = &seen_log;
  host.report_state = &no_state;
  const auto* vt = detail::StoreTable<ThrowingStore>::table();
  void* instance = nullptr;
  char err[128] = {};
  REQUIRE(vt->create(nullptr, 0, &host, &instance, err, sizeof err) == SWITCHBOARD_OK);

  switchboard_str id{"s", 1}, key{"k", 1}, value{"1", 1};
  vt->set_data(instance, id, key, &value, 1000, &seen_done, &seen);
  CHECK(seen.completions == 1);
  CHECK(seen.status == SWITCHBOARD_OK);
  CHECK(seen.logs == 1);
  CHECK(seen.log.find("set_data threw after completing") != std::string::npos);

  vt->load(instance, id, 1000, &seen_done, &seen);  // throws first: completed with ERROR
  CHECK(seen.completions == 2);
  CHECK(seen.status == SWITCHBOARD_ERROR);
  vt->destroy(instance);
}

TEST_CASE("PluginStore: a store completing twice or late leaves every callback run once",
          "[completion]") {
  auto p = load_plugin({SWITCHBOARD_PLUGIN_DIR}, "broken_completion");
  auto config = [](const char* mode) {
    return ConfigEntries{{"mode", mode}, {"store", "completion_test"}, {"sweep_interval", "60000"},
                         {"max_sessions", "100"}};
  };
  auto& reg = CompletionRegistry::process();
  observe::ComponentState st;
  {
    PluginStore s(p, config("blunt"), std::make_unique<HostBridge>("s", &st, nullptr));
    REQUIRE(s.start().is_ok());
    int calls = 0;
    Status last;
    auto before = reg.ignored();
    s.create_session("blunt1", 1000, counting(calls, &last));
    CHECK(calls == 1);
    CHECK(last.is_ok());
    CHECK(s.ignored_completions() == 1);
    CHECK(reg.ignored() == before + 1);
    CHECK(reg.describe_ignored(before) == "store completed create_session twice");
  }
  auto before = reg.ignored();
  int calls = 0;
  {
    PluginStore s(p, config("subtle"), std::make_unique<HostBridge>("s", &st, nullptr));
    REQUIRE(s.start().is_ok());
    s.create_session("subtle1", 1000, counting(calls));
    s.set_data("subtle1", "a", std::string("1"), 1000, counting(calls));
    s.set_data("subtle1", "b", std::string("2"), 1000, counting(calls));  // completes, throws
    CHECK(calls == 3);
    CHECK(reg.ignored() == before);  // the SDK did not complete it a second time
  }  // destroyed: the plugin completes set_data again, after stop()
  CHECK(calls == 3);
  CHECK(reg.ignored() == before + 1);
  CHECK(reg.describe_ignored(before) == "store completed set_data after stop() returned");
}
