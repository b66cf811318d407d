#include "cli/effective_config.hpp"

#include <algorithm>
#include <cctype>

#include <boost/json.hpp>

namespace switchboard::cli {

namespace {

std::vector<std::string> words_of(std::string_view name) {
  std::vector<std::string> words(1);
  for (char c : name) {
    if (c == '_' || c == '.' || c == '-') {
      if (!words.back().empty()) words.emplace_back();
    } else {
      words.back() += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  if (words.back().empty()) words.pop_back();
  return words;
}

std::string quoted(std::string_view s) { return boost::json::serialize(boost::json::string(s)); }

std::string duration_text(const std::string& ms_text) {
  long long ms = std::stoll(ms_text);
  if (ms == 0) return "0s";
  struct Unit {
    long long ms;
    const char* name;
  };
  for (Unit u : {Unit{86400000, "d"}, Unit{3600000, "h"}, Unit{60000, "m"}, Unit{1000, "s"}})
    if (ms % u.ms == 0) return std::to_string(ms / u.ms) + u.name;
  return ms_text + "ms";
}

// scheme://user:password@host -> scheme://user:***@host (only the password part).
std::string mask_url_password(std::string value) {
  size_t scheme = value.find("://");
  if (scheme == std::string::npos) return value;
  size_t start = scheme + 3;
  size_t end = value.find_first_of("/?#", start);
  size_t at = value.rfind('@', end == std::string::npos ? std::string::npos : end);
  if (at == std::string::npos || at < start) return value;
  size_t colon = value.find(':', start);
  if (colon == std::string::npos || colon > at || colon + 1 == at) return value;
  return value.replace(colon + 1, at - colon - 1, "***");
}

}  // namespace

bool is_secret_name(std::string_view name) {
  auto words = words_of(name);
  if (words.empty()) return false;
  static const char* const kAnywhere[] = {"password", "passwd", "secret", "token", "passphrase", "jaas"};
  static const char* const kLast[] = {"key", "pem", "credentials"};
  for (const auto& w : words)
    for (const char* s : kAnywhere)
      if (w == s) return true;
  for (const char* s : kLast)
    if (words.back() == s) return true;
  return false;
}

std::string masked_value(std::string_view key, std::string_view value) {
  if (is_secret_name(key)) return value.empty() ? std::string() : "***";
  std::string v(value);
  if (auto eq = v.find('='); eq != std::string::npos && eq > 0 && is_secret_name(v.substr(0, eq)))
    return v.substr(0, eq + 1) + "***";
  return mask_url_password(std::move(v));
}

std::string format_effective(const std::vector<config::EffectiveValue>& values) {
  std::vector<std::pair<std::string, std::string>> lines;  // "key = value", origin
  size_t width = 0;
  for (const auto& ev : values) {
    const std::string& key = ev.spec.key;
    std::string text;
    switch (ev.spec.type) {
      case SWITCHBOARD_CONFIG_STRING_LIST: {
        text = "[";
        for (size_t i = 0; i < ev.values.size(); ++i)
          text += (i ? ", " : "") + quoted(masked_value(key, ev.values[i]));
        text += "]";
        break;
      }
      case SWITCHBOARD_CONFIG_DURATION: text = duration_text(ev.values.at(0)); break;
      case SWITCHBOARD_CONFIG_INT:
      case SWITCHBOARD_CONFIG_BOOL: text = ev.values.at(0); break;
      default: {
        std::string m = masked_value(key, ev.values.at(0));
        text = m == "***" ? m : quoted(m);
      }
    }
    lines.emplace_back(ev.section + "." + key + " = " + text, ev.origin);
    width = std::max(width, lines.back().first.size());
  }
  width = std::min<size_t>(width, 60);
  std::string out;
  for (const auto& [line, origin] : lines) {
    out += line;
    out += std::string(line.size() < width ? width - line.size() : 0, ' ');
    out += "  # " + origin + "\n";
  }
  return out;
}

}  // namespace switchboard::cli
