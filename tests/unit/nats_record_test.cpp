// The NATS store's key and value encoding (plugins/nats/session_record.hpp).
#include <catch2/catch.hpp>

#include <cctype>
#include <set>

#include "session_record.hpp"

using nats_plugin::decode_session;
using nats_plugin::encode_session;
using nats_plugin::session_key;
using nats_plugin::StoredSession;

namespace {
bool key_alphabet(const std::string& k) {
  for (char c : k)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || c == '/' || c == '='))
      return false;
  return true;
}
}  // namespace

TEST_CASE("nats record: keys use only the KV alphabet and never collide", "[nats]") {
  CHECK(session_key("abc-DEF-019") == "s.abc-DEF-019");
  CHECK(session_key("") == "s.=");
  CHECK(session_key("a:b") == "s.a_3Ab");
  CHECK(session_key("a_b") == "s.a_5Fb");  // the escape character itself is escaped
  const std::vector<std::string> ids = {"",      "a",    "a_3Ab", "a:b", "a.b", "a b", "a/b", "a=b",
                                        "\xff\x00x", "ab",   "abc",   "a*",  "a>",  "\xc3\xa9", "_",  "=", "."};
  std::set<std::string> keys;
  for (const auto& id : ids) {
    auto k = session_key(id);
    INFO(k);
    CHECK(key_alphabet(k));
    CHECK(k.back() != '.');
    keys.insert(k);
  }
  CHECK(keys.size() == ids.size());
}

TEST_CASE("nats record: a stored session round-trips byte-exact", "[nats]") {
  StoredSession s;
  s.expires_ms = 1'790'000'000'123;
  s.record.user_id = "fr\xc3\xa9" "d";
  s.record.channels = {"news", "", "a\"b", "\xe6\x97\xa5"};
  s.record.data = {{"prefs", R"({"theme":"dark","n":[1,2]})"}, {"k\xc3\xa9", "\"\\u0000\""}, {"empty", "null"}};
  auto back = decode_session(encode_session(s));
  REQUIRE(back);
  CHECK(back->expires_ms == s.expires_ms);
  CHECK(back->record.user_id == s.record.user_id);
  CHECK(back->record.channels == s.record.channels);
  CHECK(back->record.data == s.record.data);

  StoredSession anonymous;
  anonymous.expires_ms = 5;
  auto a = decode_session(encode_session(anonymous));
  REQUIRE(a);
  CHECK_FALSE(a->record.user_id);
  CHECK(a->record.channels.empty());
  CHECK(a->record.data.empty());
}

TEST_CASE("nats record: a value this store did not write is refused, never half-read", "[nats]") {
  for (const char* bad : {"", "x", "[]", "{}", R"({"e":1,"c":[]})", R"({"e":"1","c":[],"d":{}})",
                          R"({"e":1,"c":[1],"d":{}})", R"({"e":1,"c":[],"d":{"k":1}})",
                          R"({"e":1,"c":[],"d":{},"u":7})", R"({"e":1,"c":{},"d":{}})"}) {
    INFO(bad);
    CHECK_FALSE(decode_session(bad));
  }
  CHECK(decode_session(R"({"e":1,"c":[],"d":{}})"));
}
