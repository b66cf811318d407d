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

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

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

  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  explicit Config(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

}  // namespace switchboard
