// Config::Impl — the unvalidated YAML tree and where it came from.
#pragma once

#include <string>

#include <yaml-cpp/yaml.h>

#include "switchboard/config.hpp"

namespace switchboard {

struct Config::Impl {
  YAML::Node root;  // a map (possibly empty)
  std::string source;
};

}  // namespace switchboard
