#include "session/session_checks.hpp"

#include "routing/envelope.hpp"

namespace switchboard::session {

uint64_t channel_bytes(const std::vector<std::string>& channels) {
  uint64_t n = 0;
  for (const auto& c : channels) n += c.size();
  return n;
}

bool valid_user_id(const config::Settings& s, std::string_view user) {
  return !user.empty() && user.size() <= s.limits.user_id_bytes;
}

Error user_id_error(const config::Settings& s) {
  return {"bad_args", "user ids must be 1.." + std::to_string(s.limits.user_id_bytes) + " bytes"};
}

std::optional<Error> check_channel_names(const config::Settings& s,
                                         const std::vector<std::string>& names) {
  const auto max = s.limits.channel_name_bytes;
  if (names.empty()) return Error{"invalid_channel", "no channel name given"};
  for (const auto& n : names)
    if (!routing::valid_channel_name(n, max))
      return Error{"invalid_channel", "channel names must be 1.." + std::to_string(max) +
                                          " bytes of UTF-8"};
  return std::nullopt;
}

}  // namespace switchboard::session
