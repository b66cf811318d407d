// The `broken_completion` plugin: a session store that breaks the completion
// contract (exactly once per operation, never after stop() returns), to prove the
// host survives it and the conformance kit fails the case that provoked it. It is
// the memory store with one fault on top, chosen by `mode`:
//   blunt:  every operation completes twice;
//   subtle: the second set_data of an instance completes and then throws (the SDK
//           must not complete it again), and the instance completes that operation
//           once more from its destructor, i.e. after stop() returned.
// Built with the public SDK only, like a third-party plugin.
#include <stdexcept>

#include "../../plugins/memory/memory_store.hpp"
#include "switchboard/plugin.hpp"

namespace {
using switchboard::SessionRecord;
using switchboard::Status;
using switchboard::StatusCode;
using switchboard::StoreCallback;

class BrokenCompletionStore final : public switchboard::SessionStore {
 public:
  BrokenCompletionStore(const switchboard::PluginConfig& c, switchboard::Host host)
      : inner_(c, host), blunt_(c.get_string("mode") == "blunt") {
    if (!blunt_ && c.get_string("mode") != "subtle")
      throw std::invalid_argument("broken_completion.mode must be blunt or subtle");
  }
  // destroy() runs after stop() returned: the subtle mode's late completion.
  ~BrokenCompletionStore() override {
    if (kept_) kept_(Status(StatusCode::kUnavailable, "late on purpose"), nullptr);
  }

  Status start() override { return inner_.start(); }
  void stop() override { inner_.stop(); }
  void create_session(std::string_view id, int64_t ttl, StoreCallback done) override {
    inner_.create_session(id, ttl, fault(std::move(done)));
  }
  void load(std::string_view id, int64_t ttl, StoreCallback done) override {
    inner_.load(id, ttl, fault(std::move(done)));
  }
  void add_channels(std::string_view id, const std::vector<std::string>& names, uint32_t max,
                    int64_t ttl, StoreCallback done) override {
    inner_.add_channels(id, names, max, ttl, fault(std::move(done)));
  }
  void remove_channels(std::string_view id, const std::vector<std::string>& names, int64_t ttl,
                       StoreCallback done) override {
    inner_.remove_channels(id, names, ttl, fault(std::move(done)));
  }
  void clear_channels(std::string_view id, int64_t ttl, StoreCallback done) override {
    inner_.clear_channels(id, ttl, fault(std::move(done)));
  }
  void set_user(std::string_view id, const std::optional<std::string>& user, int64_t ttl,
                StoreCallback done) override {
    inner_.set_user(id, user, ttl, fault(std::move(done)));
  }
  void set_data(std::string_view id, std::string_view key, const std::optional<std::string>& value,
                int64_t ttl, StoreCallback done) override {
    if (!blunt_ && ++set_data_calls_ == 2) {
      kept_ = done;
      inner_.set_data(id, key, value, ttl, done);  // the memory store completes inline
      throw std::runtime_error("broken_completion: set_data threw after completing");
    }
    inner_.set_data(id, key, value, ttl, fault(std::move(done)));
  }
  void remove(std::string_view id, StoreCallback done) override {
    inner_.remove(id, fault(std::move(done)));
  }

 private:
  StoreCallback fault(StoreCallback done) const {
    if (!blunt_) return done;
    return [done](Status s, const SessionRecord* r) {
      done(s, r);
      done(s, r);  // the fault
    };
  }

  memory_plugin::MemoryStore inner_;
  const bool blunt_;
  int set_data_calls_ = 0;  // control thread only
  StoreCallback kept_;      // subtle: the operation completed again after stop()
};

const switchboard::ConfigKey kKeys[] = {
    {"mode", SWITCHBOARD_CONFIG_STRING, "blunt",
     "blunt (every operation completes twice) or subtle (one set_data completes, throws, "
     "and completes again after stop())."},
    {"max_sessions", SWITCHBOARD_CONFIG_INT, "100000", "As for the memory store."},
    {"store", SWITCHBOARD_CONFIG_STRING, "default", "As for the memory store."},
    {"sweep_interval", SWITCHBOARD_CONFIG_DURATION, "60s", "As for the memory store."},
};
}  // namespace

SWITCHBOARD_PLUGIN("broken_completion", "0.0.1", kKeys, void, BrokenCompletionStore)
