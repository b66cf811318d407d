// `switchboard check-config`: the effective settings as text, secrets masked.
// Pure; any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/validate.hpp"

namespace switchboard::cli {

// A name that holds a secret: split on '_', '.' and '-', one of its words is
// password, passwd, secret, token, passphrase or jaas, or its last word is key,
// pem or credentials (session.secret, nats.password, nats.token, an api_key;
// not key_prefix or tls_key_file, whose values are a prefix and a path).
bool is_secret_name(std::string_view name);

// The value as check-config shows it: "***" for a non-empty value of a secret
// key; otherwise the value with secrets inside it masked: the password of a URL
// (scheme://user:***@host) and, for an entry of the form name=value (Kafka
// properties), the value when the name is a secret one (sasl.password=***).
std::string masked_value(std::string_view key, std::string_view value);

// One line per key, core sections first, in schema order:
//   section.key = value   # where it came from
// Strings and list elements are JSON strings; ints and bools bare; durations
// in the largest unit that is exact (7d, 250ms).
std::string format_effective(const std::vector<config::EffectiveValue>& values);

}  // namespace switchboard::cli
