#include "net/static_files.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace switchboard::net {
namespace fs = std::filesystem;

std::string_view mime_type(std::string_view path) {
  auto ends = [&](std::string_view ext) { return path.ends_with(ext); };
  if (ends(".html") || ends(".htm")) return "text/html; charset=utf-8";
  if (ends(".js") || ends(".mjs")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".json")) return "application/json";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  if (ends(".ico")) return "image/x-icon";
  if (ends(".txt")) return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

std::optional<StaticFile> read_static(const std::string& root, std::string_view target) {
  if (root.empty()) return std::nullopt;
  std::string_view path = target.substr(0, target.find_first_of("?#"));
  if (path.empty() || path.front() != '/') return std::nullopt;
  if (path.find("..") != std::string_view::npos || path.find('\\') != std::string_view::npos ||
      path.find('\0') != std::string_view::npos || path.find('%') != std::string_view::npos)
    return std::nullopt;
  std::string rel(path.substr(1));
  if (rel.empty() || rel.back() == '/') rel += "index.html";
  fs::path file = fs::path(root) / rel;
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) return std::nullopt;
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return StaticFile{ss.str(), std::string(mime_type(file.string()))};
}

}  // namespace switchboard::net
