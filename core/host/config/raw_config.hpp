// Config's tree — the unvalidated YAML and where it came from — and the core's
// one way to read it (config/validate.cpp).
#pragma once

#include <string>

#include <yaml-cpp/yaml.h>

#include "switchboard/config.hpp"

namespace switchboard {

struct Config::Tree {
  YAML::Node root;  // a map (possibly empty)
  std::string source;
};

namespace detail {
struct ConfigAccess {
  using Tree = Config::Tree;
  static const Tree& tree(const Config& c) { return *c.tree_; }
};
}  // namespace detail

}  // namespace switchboard
