#include "observe/log.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <mutex>

#include "sync/mutex.hpp"

namespace switchboard::observe {
namespace {
std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
sync::Mutex g_mu;

const char* level_name(Level l) {
  switch (l) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
  }
  return "?";
}
}  // namespace

std::string escape_log_text(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size() + 16);
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c != 0x7f) {
      out += ch;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

void set_log_level(Level level) { g_level = static_cast<int>(level); }

Level parse_log_level(std::string_view n) {
  if (n == "debug") return Level::kDebug;
  if (n == "warn") return Level::kWarn;
  if (n == "error") return Level::kError;
  return Level::kInfo;
}

bool log_enabled(Level level) { return static_cast<int>(level) >= g_level.load(); }

void log(Level level, std::string_view component, std::string_view message) {
  if (!log_enabled(level)) return;
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char ts[32];
  std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
  auto clean = [](std::string_view s) {
    return std::none_of(s.begin(), s.end(), [](char ch) {
      auto c = static_cast<unsigned char>(ch);
      return c < 0x20 || c == 0x7f;
    });
  };
  std::string escaped_component, escaped_message;
  if (!clean(component)) component = escaped_component = escape_log_text(component);
  if (!clean(message)) message = escaped_message = escape_log_text(message);
  sync::Lock lock(g_mu);
  std::fprintf(stderr, "%s %-5s [%.*s] %.*s\n", ts, level_name(level),
               static_cast<int>(component.size()), component.data(),
               static_cast<int>(message.size()), message.data());
}

void ThrottledLog::warn(std::string_view component, std::string_view message) {
  long long now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count();
  long long next = next_ns_.load();
  if (now < next || !next_ns_.compare_exchange_strong(next, now + interval_ns_)) {
    ++suppressed_;
    return;
  }
  long long n = suppressed_.exchange(0);
  if (n == 0) {
    log(Level::kWarn, component, message);
  } else {
    log(Level::kWarn, component,
        std::string(message) + " (and " + std::to_string(n) + " more since the last report)");
  }
}

}  // namespace switchboard::observe
