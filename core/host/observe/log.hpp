// Process-wide logging to stderr. Thread-safe; one line per call: control
// characters in the component and message (text that often came from outside: bus
// messages, client frames, headers) are escaped, so nobody can forge log lines or
// send escape sequences to an operator's terminal.
#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <string_view>

namespace switchboard::observe {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void set_log_level(Level level);
Level parse_log_level(std::string_view name);  // "debug" | "info" | "warn" | "error"
bool log_enabled(Level level);
void log(Level level, std::string_view component, std::string_view message);

// What log() prints for text: \n, \r and \t as those two-character escapes, every
// other C0 control character and DEL as \xNN; everything else unchanged.
std::string escape_log_text(std::string_view text);

inline void log_info(std::string_view c, std::string_view m) { log(Level::kInfo, c, m); }
inline void log_warn(std::string_view c, std::string_view m) { log(Level::kWarn, c, m); }
inline void log_error(std::string_view c, std::string_view m) { log(Level::kError, c, m); }

// Logs at most once per interval; counts what it swallowed and reports the count
// with the next line it lets through (for floods such as malformed bus messages).
class ThrottledLog {
 public:
  explicit ThrottledLog(std::chrono::seconds interval) : interval_ns_(interval.count() * 1000000000LL) {}
  void warn(std::string_view component, std::string_view message);

 private:
  const long long interval_ns_;
  std::atomic<long long> next_ns_{0};
  std::atomic<long long> suppressed_{0};
};

}  // namespace switchboard::observe
