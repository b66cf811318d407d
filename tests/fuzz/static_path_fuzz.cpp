// Fuzz target: static-file path resolution (net::resolve_static_path) on request
// targets. A small tree is built once in a temp dir: files and a subfolder in
// the root, a sibling folder "www2" (a prefix of nothing, but "www" is a prefix
// of it) and "outside" with secrets, and symlinks in the root pointing outside,
// at the sibling, and inside. Oracle, for any returned path: it is a regular
// file, canonical, strictly inside the canonical root (compared by components,
// independently of the code under test), never one of the secrets; with
// follow_symlinks off it is exactly root + the percent-decoded target, and no
// component of that path below the root is a symlink.
//
// Input: byte 0 bit 0 = follow_symlinks, bit 1 = the root given with a trailing
// '/'; the rest is the request target.
#include <unistd.h>

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "net/static_files.hpp"

namespace fs = std::filesystem;

namespace {

[[noreturn]] void finding(const char* what, const std::string& detail = {}) {
  std::fprintf(stderr, "static_path oracle: %s %s\n", what, detail.c_str());
  std::abort();
}

struct Tree {
  fs::path base;  // canonical temp dir holding www/, www2/, outside/
  fs::path root;  // base/www, canonical

  Tree() {
    std::string tmpl = (fs::temp_directory_path() / "sb-fuzz-static-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) finding("mkdtemp failed");
    base = fs::canonical(tmpl);
    root = base / "www";
    auto file = [](const fs::path& p) { std::ofstream(p) << p.filename().string(); };
    fs::create_directories(root / "sub" / "deeper");
    fs::create_directories(root / "empty");
    fs::create_directories(base / "outside");
    fs::create_directories(base / "www2");
    file(root / "index.html");
    file(root / "a.txt");
    file(root / "sp ace.txt");
    file(root / "%41.txt");
    file(root / "sub" / "index.html");
    file(root / "sub" / "b.js");
    file(root / "sub" / "deeper" / "c.css");
    file(base / "outside" / "secret.txt");
    file(base / "outside" / "index.html");
    file(base / "www2" / "secret.txt");
    file(base / "secret.txt");
    fs::create_directory_symlink("../outside", root / "link_out");
    fs::create_symlink("../outside/secret.txt", root / "link_secret");
    fs::create_directory_symlink("../www2", root / "link_www2");
    fs::create_symlink("a.txt", root / "link_in");
    fs::create_directory_symlink("..", root / "sub" / "up");           // back to the root
    fs::create_directory_symlink("../..", root / "sub" / "deeper" / "out2");  // to base
    fs::create_symlink(base / "secret.txt", root / "abs_secret");
  }
  ~Tree() {
    std::error_code ec;
    fs::remove_all(base, ec);
  }
};

// One percent-decoding of the path part, as the resolver documents it.
std::string decode(std::string_view target) {
  target = target.substr(0, target.find_first_of("?#"));
  std::string out;
  for (size_t i = 0; i < target.size(); ++i) {
    if (target[i] == '%' && i + 2 < target.size() &&
        std::isxdigit(static_cast<unsigned char>(target[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(target[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(target.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += target[i];
    }
  }
  return out;
}

// p strictly below root, component by component, both absolute.
bool strictly_below(const fs::path& root, const fs::path& p) {
  auto rel = p.lexically_relative(root);
  if (rel.empty() || rel == ".") return false;
  for (const auto& c : rel)
    if (c == "..") return false;
  return p.is_absolute();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Tree tree;
  if (size < 1) return 0;
  const bool follow = data[0] & 1;
  const std::string root = tree.root.string() + ((data[0] & 2) ? "/" : "");
  std::string_view target(reinterpret_cast<const char*>(data + 1), size - 1);

  auto got = switchboard::net::resolve_static_path(root, target, follow);
  if (!got) return 0;
  const fs::path& p = *got;
  std::error_code ec;
  if (!strictly_below(tree.root, p)) finding("outside the root:", p.string());
  fs::path real = fs::canonical(p, ec);
  if (ec || real != p) finding("not canonical:", p.string());
  if (!fs::is_regular_file(fs::symlink_status(p, ec))) finding("not a regular file:", p.string());
  if (p.filename() == "secret.txt") finding("served a secret:", p.string());
  if (!follow) {
    std::string rel = decode(target).substr(1);
    if (rel.empty() || rel.back() == '/') rel += "index.html";
    fs::path named = tree.root / rel;
    if (named != p) finding("with symlinks off, the path is not the one the target names:",
                            named.string() + " vs " + p.string());
    fs::path walk = tree.root;
    for (const auto& c : fs::path(rel)) {
      walk /= c;
      if (fs::is_symlink(fs::symlink_status(walk, ec))) finding("went through a symlink:", walk.string());
    }
  }
  return 0;
}
