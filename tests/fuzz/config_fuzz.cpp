// Fuzz target: the config loader (Config::from_string + config::plugin_choice +
// config::validate, core schema only). Oracle: the only exception that may leave
// is ConfigError (what the server prints as "<file>: key '...': ..."); a yaml-cpp
// exception, std::invalid_argument/out_of_range from a number conversion or any
// other escape is a finding, and so is a crash. Accepted settings must respect
// the documented bounds (durations within kMaxDurationMs, 1..256 threads).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "config/validate.hpp"

using namespace switchboard;

namespace {

[[noreturn]] void finding(const char* what, const char* detail = "") {
  std::fprintf(stderr, "config oracle: %s %s\n", what, detail);
  std::abort();
}

void check_duration(config::Millis d, const char* key) {
  if (d.count() < 0 || d.count() > config::kMaxDurationMs) finding("duration out of bounds:", key);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view yaml(reinterpret_cast<const char*>(data), size);
  try {
    Config c = Config::from_string(yaml, "fuzz.yaml");
    config::plugin_choice(c);
    config::Settings st = config::validate(c, {});
    if (st.server.threads < 1 || st.server.threads > 256) finding("threads out of bounds");
    check_duration(st.server.handshake_timeout, "handshake_timeout");
    check_duration(st.server.idle_timeout, "idle_timeout");
    check_duration(st.server.shutdown_timeout, "shutdown_timeout");
    check_duration(st.session.ttl, "ttl");
  } catch (const ConfigError& e) {
    if (std::string_view(e.what()).find("fuzz.yaml") == std::string_view::npos &&
        std::string_view(e.what()).find("SWITCHBOARD_") == std::string_view::npos)
      finding("a ConfigError that names neither the file nor the variable:", e.what());
  } catch (const std::exception& e) {
    finding("an exception other than ConfigError escaped:", e.what());
  } catch (...) {
    finding("a non-std exception escaped");
  }
  return 0;
}
