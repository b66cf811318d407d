// resolve_static_path, parse_range and the static response headers (issue 9,
// items 1 and 2): every traversal form resolves to nothing; files inside the
// root resolve to their canonical path.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "net/static_files.hpp"

using namespace switchboard::net;
namespace fs = std::filesystem;

namespace {

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

// <tmp>/www (the root), <tmp>/www2 (a sibling whose name the root's is a
// prefix of) and <tmp>/secret.txt (outside both).
struct Tree {
  fs::path top;
  fs::path root;
  Tree() {
    std::string tmpl = (fs::temp_directory_path() / "sb-static-XXXXXX").string();
    top = fs::path(mkdtemp(tmpl.data()));
    root = top / "www";
    fs::create_directories(root / "sub");
    fs::create_directories(top / "www2");
    write_file(root / "index.html", "<h1>home</h1>");
    write_file(root / "a.txt", "aaa");
    write_file(root / "sub" / "index.html", "sub home");
    write_file(root / "sub" / "b.js", "b()");
    write_file(root / "caf\xc3\xa9.txt", "utf8 name");
    write_file(root / "x y.txt", "space");
    write_file(top / "www2" / "f.txt", "sibling");
    write_file(top / "secret.txt", "secret");
    fs::create_symlink(top / "secret.txt", root / "out.txt");
    fs::create_symlink(root / "a.txt", root / "in.txt");
    fs::create_symlink("../www2/f.txt", root / "sibling.txt");
    fs::create_symlink(root / "sub", root / "sublink");
    fs::create_symlink(top, root / "uplink");
    mkfifo((root / "pipe").c_str(), 0600);
  }
  ~Tree() {
    std::error_code ec;
    fs::remove_all(top, ec);
  }
  std::optional<fs::path> get(std::string_view target, bool follow = false) const {
    return resolve_static_path(root.string(), target, follow);
  }
};

}  // namespace

TEST_CASE("static paths inside the root resolve to the canonical file", "[static]") {
  Tree t;
  CHECK(t.get("/") == t.root / "index.html");
  CHECK(t.get("/index.html") == t.root / "index.html");
  CHECK(t.get("/a.txt") == t.root / "a.txt");
  CHECK(t.get("/a.txt?v=1#frag") == t.root / "a.txt");
  CHECK(t.get("/sub/") == t.root / "sub" / "index.html");
  CHECK(t.get("/sub/b.js") == t.root / "sub" / "b.js");
  CHECK(t.get("/x%20y.txt") == t.root / "x y.txt");
  CHECK(t.get("/caf%C3%A9.txt") == t.root / "caf\xc3\xa9.txt");
  CHECK(t.get("/sub%2fb.js") == t.root / "sub" / "b.js");  // decoded once, then split
  // A root given with a trailing slash works the same.
  CHECK(resolve_static_path(t.root.string() + "/", "/a.txt", false) == t.root / "a.txt");
}

TEST_CASE("absent, non-regular and directory targets resolve to nothing", "[static]") {
  Tree t;
  CHECK_FALSE(t.get("/missing.txt"));
  CHECK_FALSE(t.get("/sub"));       // a folder without the trailing slash
  CHECK_FALSE(t.get("/a.txt/"));    // a file is no folder
  CHECK_FALSE(t.get("/pipe"));      // a FIFO would block the reader
  CHECK_FALSE(t.get("/pipe", true));
  CHECK_FALSE(resolve_static_path("", "/a.txt", false));
  CHECK_FALSE(resolve_static_path((t.top / "nope").string(), "/a.txt", false));
}

TEST_CASE("every traversal form is refused", "[static][security]") {
  Tree t;
  for (bool follow : {false, true}) {
    INFO("follow_symlinks " << follow);
    for (const char* target : {
             "//etc/passwd",                // absolute right-hand side replaced the root
             "//proc/self/environ",
             "///etc/passwd",
             "/%2fetc/passwd",              // encoded slash making it absolute again
             "/%2f%2fetc/passwd",
             "/%2F%2Fetc/passwd",
             "/sub//b.js",                  // empty segment
             "/sub/b.js//",
             "/../secret.txt",
             "/../www/a.txt",               // even when it lands back inside
             "/sub/../a.txt",
             "/%2e%2e/secret.txt",
             "/%2E%2E/secret.txt",
             "/.%2e/secret.txt",
             "/%2e./secret.txt",
             "/sub/%2e%2e/%2e%2e/secret.txt",
             "/./a.txt",
             "/sub/./b.js",
             "/%2e/a.txt",
             "/.",
             "/..",
             "/%252e%252e/secret.txt",      // double encoding: '%' left after one decode
             "/%25%32%65%25%32%65/secret.txt",
             "/a%25.txt",
             "/%c0%ae%c0%ae/secret.txt",    // overlong UTF-8 for '.'
             "/%c0%af..%c0%afsecret.txt",   // overlong '/'
             "/%e0%80%ae%e0%80%ae/secret.txt",
             "/%c1%9c..%c1%9csecret.txt",   // overlong '\'
             "/%ed%a0%80.txt",              // a surrogate
             "/%ff.txt",
             "/\\..\\secret.txt",           // Windows separators
             "/..%5c..%5csecret.txt",
             "/..%5Csecret.txt",
             "/sub\\b.js",
             "/a.txt%00.html",              // NUL cuts a C path
             "/a.txt%00",
             "/a%0a.txt",                   // control characters
             "/a%7f.txt",
             "/a%1.txt",                    // malformed escapes
             "/a%zz.txt",
             "/a.txt%",
             "/a.txt%4",
             "a.txt",                       // not origin-form
             "http://host/a.txt",
             "*",
             "",
         }) {
      INFO("target " << target);
      CHECK_FALSE(t.get(target, follow));
    }
  }
}

TEST_CASE("symlinks are refused by default and never lead out of the root", "[static][security]") {
  Tree t;
  // Off (the default): every symlink below the root is refused.
  CHECK_FALSE(t.get("/out.txt"));
  CHECK_FALSE(t.get("/in.txt"));
  CHECK_FALSE(t.get("/sibling.txt"));
  CHECK_FALSE(t.get("/sublink/b.js"));
  CHECK_FALSE(t.get("/uplink/secret.txt"));
  // On: a link resolving inside the root is served, one leaving it never is;
  // www2 is outside www although its name starts with it.
  CHECK(t.get("/in.txt", true) == t.root / "a.txt");
  CHECK(t.get("/sublink/b.js", true) == t.root / "sub" / "b.js");
  CHECK_FALSE(t.get("/out.txt", true));
  CHECK_FALSE(t.get("/sibling.txt", true));
  CHECK_FALSE(t.get("/uplink/secret.txt", true));
  CHECK_FALSE(t.get("/uplink/www2/f.txt", true));
}

TEST_CASE("open_static refuses what resolve refuses and opens what it accepts", "[static]") {
  Tree t;
  auto f = open_static(t.root.string(), "/a.txt", false);
  REQUIRE(f);
  CHECK(f->size == 3);
  CHECK(f->content_type == "text/plain; charset=utf-8");
  CHECK(f->etag.front() == '"');
  CHECK(f->etag.back() == '"');
  CHECK(f->last_modified.ends_with(" GMT"));
  CHECK_FALSE(open_static(t.root.string(), "/out.txt", false));
  CHECK_FALSE(open_static(t.root.string(), "/in.txt", false));
  CHECK(open_static(t.root.string(), "/in.txt", true));
}

TEST_CASE("Range headers: one range served, the rest ignored or unsatisfiable", "[static]") {
  using K = ByteRange::Kind;
  auto r = parse_range("bytes=0-9", 100);
  CHECK((r.kind == K::kPart && r.offset == 0 && r.length == 10));
  r = parse_range("bytes=90-", 100);
  CHECK((r.kind == K::kPart && r.offset == 90 && r.length == 10));
  r = parse_range("bytes=90-500", 100);
  CHECK((r.kind == K::kPart && r.offset == 90 && r.length == 10));
  r = parse_range("bytes=-5", 100);
  CHECK((r.kind == K::kPart && r.offset == 95 && r.length == 5));
  r = parse_range("bytes=-500", 100);
  CHECK((r.kind == K::kPart && r.offset == 0 && r.length == 100));
  CHECK(parse_range("bytes=100-", 100).kind == K::kUnsatisfiable);
  CHECK(parse_range("bytes=100-200", 100).kind == K::kUnsatisfiable);
  CHECK(parse_range("bytes=-0", 100).kind == K::kUnsatisfiable);
  CHECK(parse_range("bytes=0-", 0).kind == K::kUnsatisfiable);
  // Several ranges, other units and malformed specs: the whole body.
  for (const char* h : {"bytes=0-1,5-6", "items=0-1", "bytes=5-1", "bytes=a-b", "bytes=", "bytes=-",
                        "bytes=1", "bytes=18446744073709551616-", "bytes=0x1-2"})
    CHECK(parse_range(h, 100).kind == K::kWhole);
}

TEST_CASE("HTTP dates round-trip and only IMF-fixdate parses", "[static]") {
  CHECK(http_date(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT");
  CHECK(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == std::optional<std::time_t>(784111777));
  CHECK_FALSE(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"));
  CHECK_FALSE(parse_http_date("Sun Nov  6 08:49:37 1994"));
  CHECK_FALSE(parse_http_date("Sun, 06 Foo 1994 08:49:37 GMT"));
  CHECK_FALSE(parse_http_date(""));
}

TEST_CASE("static responses: validators, 304, 206, 416 and HEAD", "[static]") {
  Tree t;
  std::string root = t.root.string();
  auto open = [&] {
    auto f = open_static(root, "/a.txt", false);
    REQUIRE(f);
    return std::move(*f);
  };
  http::request<http::empty_body> req{http::verb::get, "/a.txt", 11};

  auto res = static_response(req, open());
  CHECK(res.result() == http::status::ok);
  CHECK(res[http::field::content_length] == "3");
  CHECK(res[http::field::cache_control] == "no-cache");
  CHECK(res[http::field::accept_ranges] == "bytes");
  std::string etag(res[http::field::etag]);
  std::string last_modified(res[http::field::last_modified]);
  CHECK(res.body().length == 3);

  req.set(http::field::if_none_match, "\"other\", " + etag);
  CHECK(static_response(req, open()).result() == http::status::not_modified);
  req.set(http::field::if_none_match, "W/" + etag);
  CHECK(static_response(req, open()).result() == http::status::not_modified);
  req.set(http::field::if_none_match, "\"other\"");
  req.set(http::field::if_modified_since, last_modified);  // If-None-Match wins
  CHECK(static_response(req, open()).result() == http::status::ok);
  req.erase(http::field::if_none_match);
  CHECK(static_response(req, open()).result() == http::status::not_modified);
  req.set(http::field::if_modified_since, "Sun, 06 Nov 1994 08:49:37 GMT");
  CHECK(static_response(req, open()).result() == http::status::ok);
  req.erase(http::field::if_modified_since);

  req.set(http::field::range, "bytes=1-");
  res = static_response(req, open());
  CHECK(res.result() == http::status::partial_content);
  CHECK(res[http::field::content_range] == "bytes 1-2/3");
  CHECK(res[http::field::content_length] == "2");
  CHECK((res.body().offset == 1 && res.body().length == 2));
  req.set(http::field::if_range, etag);
  CHECK(static_response(req, open()).result() == http::status::partial_content);
  req.set(http::field::if_range, "\"stale\"");
  CHECK(static_response(req, open()).result() == http::status::ok);
  req.erase(http::field::if_range);
  req.set(http::field::range, "bytes=3-");
  res = static_response(req, open());
  CHECK(res.result() == http::status::range_not_satisfiable);
  CHECK(res[http::field::content_range] == "bytes */3");

  req.method(http::verb::head);
  req.erase(http::field::range);
  res = static_response(req, open());
  CHECK(res.result() == http::status::ok);
  CHECK(res[http::field::content_length] == "3");
  CHECK(res.body().length == 0);
}
