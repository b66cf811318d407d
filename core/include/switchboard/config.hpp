// switchboard/config.hpp — the server configuration: a YAML file (or the embedded
// defaults) plus SWITCHBOARD_… environment overrides. Validation (types, unknown
// keys, each plugin's subtree against its declared schema) happens when a Server
// is built from it, with errors naming the key and the file. docs/config-reference.md
// lists every key.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace switchboard {
namespace detail {
struct ConfigAccess;  // the core's validation reads the tree (core/host/config/raw_config.hpp)
}

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A value type: cheap to copy, and copies are independent (set() copies the
// tree before changing it). Not synchronised: use one object from one thread at
// a time; a Server keeps what it needs from it.
class Config {
 public:
  // Reads `--config FILE` (or `-c FILE`, `--config=FILE`) from the command line;
  // without one, the embedded defaults. Throws ConfigError.
  static Config load(int argc, char** argv);
  static Config from_file(const std::string& path);
  static Config from_string(std::string_view yaml, std::string source = "<string>");
  static Config defaults();

  // Overrides one key programmatically, e.g. set("server.listen", "127.0.0.1:0").
  // The value is YAML scalar or flow text ("[a, b]" for lists).
  Config& set(std::string_view dotted_key, std::string_view yaml_value);

  // Where the config came from (file path or "<defaults>").
  const std::string& source() const;


 private:
  friend struct detail::ConfigAccess;
  struct Tree;
  explicit Config(std::shared_ptr<Tree> tree) : tree_(std::move(tree)) {}
  std::shared_ptr<Tree> tree_;
};

}  // namespace switchboard
