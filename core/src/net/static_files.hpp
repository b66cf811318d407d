// Static files for examples and apps (server.static_dir). Only GET/HEAD of
// regular files below the root; no directory listings; `..` never escapes.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace switchboard::net {

struct StaticFile {
  std::string body;
  std::string content_type;
};

// The file for a request target ("/", "/app.js?x=1"); nullopt when absent or unsafe.
std::optional<StaticFile> read_static(const std::string& root, std::string_view target);

std::string_view mime_type(std::string_view path);

}  // namespace switchboard::net
