// The public Config: loading YAML from a file, a string or the embedded defaults.
#include <cstring>
#include <fstream>
#include <sstream>

#include "config/raw_config.hpp"

namespace switchboard {
namespace {
std::shared_ptr<detail::ConfigAccess::Tree> parse(std::string_view text, std::string source) {
  auto impl = std::make_shared<detail::ConfigAccess::Tree>();
  impl->source = std::move(source);
  try {
    impl->root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    throw ConfigError(impl->source + ": invalid YAML: " + e.what());
  }
  if (impl->root.IsNull()) impl->root = YAML::Node(YAML::NodeType::Map);
  if (!impl->root.IsMap())
    throw ConfigError(impl->source + ": the top level must be a mapping of sections");
  return impl;
}
}  // namespace

Config Config::from_string(std::string_view yaml, std::string source) {
  return Config(parse(yaml, std::move(source)));
}

Config Config::from_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path + ": cannot open config file: " + std::strerror(errno));
  std::stringstream ss;
  ss << in.rdbuf();
  return Config(parse(ss.str(), path));
}

Config Config::defaults() { return from_string("", "<defaults>"); }

Config Config::load(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if ((a == "--config" || a == "-c")) {
      if (i + 1 >= argc) throw ConfigError("--config needs a file name");
      return from_file(argv[i + 1]);
    }
    if (a.starts_with("--config=")) return from_file(std::string(a.substr(9)));
  }
  return defaults();
}

Config& Config::set(std::string_view dotted_key, std::string_view yaml_value) {
  auto dot = dotted_key.find('.');
  if (dot == std::string_view::npos)
    throw ConfigError("Config::set: key '" + std::string(dotted_key) + "' needs section.key");
  std::string section(dotted_key.substr(0, dot)), key(dotted_key.substr(dot + 1));
  YAML::Node value;
  try {
    value = YAML::Load(std::string(yaml_value));
  } catch (const YAML::Exception& e) {
    throw ConfigError("Config::set(" + std::string(dotted_key) + "): " + e.what());
  }
  // Copy-on-write: configs are values.
  auto copy = std::make_shared<Tree>();
  copy->source = tree_->source;
  copy->root = YAML::Clone(tree_->root);
  if (!copy->root[section]) copy->root[section] = YAML::Node(YAML::NodeType::Map);
  // Subscripting a scalar or a list throws yaml-cpp's bare BadSubscript: name the key.
  if (!copy->root[section].IsMap()) {
    if (!copy->root[section].IsNull())
      throw ConfigError("Config::set(" + std::string(dotted_key) + "): section '" + section +
                        "' in " + tree_->source + " is not a mapping of keys");
    copy->root[section] = YAML::Node(YAML::NodeType::Map);
  }
  copy->root[section][key] = value;
  tree_ = std::move(copy);
  return *this;
}

const std::string& Config::source() const { return tree_->source; }

}  // namespace switchboard
