// The checks of every session change, worded once: user ids and channel names
// against the limits, for RPCs, app.users(), the HTTP API and signed tokens.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/settings.hpp"
#include "switchboard/future.hpp"

namespace switchboard::session {

// What limits.session_channel_bytes counts: the sum of the names' bytes.
uint64_t channel_bytes(const std::vector<std::string>& channels);

// The checks of every session change, worded once. A user id is
// 1..limits.user_id_bytes bytes (bad_args otherwise).
bool valid_user_id(const config::Settings& s, std::string_view user);
Error user_id_error(const config::Settings& s);
// Channel names: at least one, each 1..limits.channel_name_bytes bytes
// (invalid_channel otherwise).
std::optional<Error> check_channel_names(const config::Settings& s,
                                         const std::vector<std::string>& names);

}  // namespace switchboard::session
