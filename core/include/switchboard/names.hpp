// switchboard/names.hpp — one name or several: what publish.channel, publish.user
// and session.channel().subscribe accept ("disney", {"a","b"}, a vector).
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard {

class Names {
 public:
  Names(const char* one) : names_{std::string(one)} {}  // NOLINT: implicit on purpose
  Names(std::string_view one) : names_{std::string(one)} {}  // NOLINT
  Names(const std::string& one) : names_{one} {}  // NOLINT
  Names(std::vector<std::string> many) : names_(std::move(many)) {}  // NOLINT
  Names(std::initializer_list<std::string_view> many) {
    for (auto n : many) names_.emplace_back(n);
  }
  const std::vector<std::string>& get() const { return names_; }

 private:
  std::vector<std::string> names_;
};

}  // namespace switchboard
