// A minimal well-formed transport plugin built with the SDK macro.
#include <thread>

#include "switchboard/plugin.hpp"

namespace {
class EchoTransport final : public switchboard::Transport {
 public:
  EchoTransport(const switchboard::PluginConfig& config, switchboard::Host host)
      : host_(host), prefix_(config.get_string("prefix")) {}
  switchboard::Status start() override { return {}; }
  switchboard::Status publish(std::string_view b) override {
    if (b == "throw") throw std::runtime_error("publish threw");
    // Delivered from a thread of its own (threading.md rule 4: never inline from
    // inside publish), joined before returning so the test sees it at once.
    std::thread([this, m = prefix_ + std::string(b)] { host_.deliver(m); }).join();
    return {};
  }
  void stop() override {}

 private:
  switchboard::Host host_;
  std::string prefix_;
};
const switchboard::ConfigKey kKeys[] = {
    {"prefix", SWITCHBOARD_CONFIG_STRING, nullptr, "Required: prepended to every message."}};
}  // namespace

SWITCHBOARD_PLUGIN("fixture", "1.2.3", kKeys, EchoTransport, void)
