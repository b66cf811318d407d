// Regression tests for the security review (issue 9): see docs/security.md.
// Items 1 and 2: static files never leave server.static_dir, and are streamed
// (bounded memory per download) with validators and byte ranges.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "fixture.hpp"

using namespace switchboard::test;
namespace fs = std::filesystem;

namespace {

constexpr const char* kSecret = "TOPSECRET-7f3a9c";  // the content no traversal may return

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

// <tmp>/www is the static root; <tmp>/secret.txt is outside it.
struct StaticTree {
  fs::path top, root, secret;
  StaticTree() {
    std::string tmpl = (fs::temp_directory_path() / "sb-static-it-XXXXXX").string();
    top = fs::path(mkdtemp(tmpl.data()));
    root = top / "www";
    secret = top / "secret.txt";
    fs::create_directories(root / "sub");
    write_file(root / "index.html", "<h1>home</h1>");
    write_file(root / "a.txt", "0123456789");
    write_file(root / "sub" / "index.html", "sub home");
    write_file(secret, kSecret);
    fs::create_symlink(secret, root / "out.txt");
    fs::create_symlink(root / "a.txt", root / "in.txt");
    fs::create_symlink(top, root / "up");
  }
  ~StaticTree() {
    std::error_code ec;
    fs::remove_all(top, ec);
  }
  ServerSettings settings() const {
    return ServerSettings().set("server.static_dir", "\"" + root.string() + "\"");
  }
};

// A blocking TCP connection whose every wait is bounded by poll(): sends bytes
// exactly as given (no client-side normalisation of the target) and reads what
// comes back.
class Conn {
 public:
  explicit Conn(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok_ = fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~Conn() {
    if (fd_ >= 0) ::close(fd_);
  }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  bool send(std::string_view bytes) {
    while (ok_ && !bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return ok_;
  }
  // Up to `max` bytes; 0 on EOF, error or timeout.
  std::size_t read_some(char* buf, std::size_t max, Millis timeout = kDefaultTimeout) {
    pollfd p{fd_, POLLIN, 0};
    if (!ok_ || ::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return 0;
    ssize_t n = ::recv(fd_, buf, max, 0);
    return n > 0 ? static_cast<std::size_t>(n) : 0;
  }
  // Everything until the server closes (bounded by the timeout per read and
  // by `limit`).
  std::string read_all(std::size_t limit = 1 << 20) {
    std::string out;
    char buf[16384];
    while (out.size() < limit) {
      std::size_t n = read_some(buf, sizeof buf);
      if (n == 0) break;
      out.append(buf, n);
    }
    return out;
  }
  // Reads through the end of the response head ("\r\n\r\n"); the rest read so
  // far stays in `extra`.
  std::string read_head(std::string& extra) {
    std::string got;
    char buf[4096];
    std::size_t end;
    while ((end = got.find("\r\n\r\n")) == std::string::npos && got.size() < 65536) {
      std::size_t n = read_some(buf, sizeof buf);
      if (n == 0) return {};
      got.append(buf, n);
    }
    if (end == std::string::npos) return {};
    extra = got.substr(end + 4);
    return got.substr(0, end + 4);
  }

 private:
  int fd_ = -1;
  bool ok_ = false;
};

unsigned status_of(std::string_view response) {
  // "HTTP/1.1 404 Not Found"
  if (!response.starts_with("HTTP/1.")) return 0;
  auto sp = response.find(' ');
  return sp == std::string_view::npos ? 0 : static_cast<unsigned>(std::atoi(response.data() + sp + 1));
}

std::string request(std::string_view method, std::string_view target, std::string_view headers = {}) {
  return std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
         std::string(headers) + "Connection: close\r\n\r\n";
}

// One request on its own connection; the whole response as sent.
std::string raw(TestServer& s, std::string_view target, std::string_view headers = {},
                std::string_view method = "GET") {
  Conn c(s.port());
  REQUIRE(c.send(request(method, target, headers)));
  return c.read_all();
}

std::string body_of(const std::string& response) {
  auto end = response.find("\r\n\r\n");
  return end == std::string::npos ? std::string() : response.substr(end + 4);
}

// The server's resident set in KiB (VmRSS), -1 when unreadable.
long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.starts_with("VmRSS:")) return std::atol(line.c_str() + 6);
  return -1;
}

}  // namespace

TEST_CASE("static files inside the root are served, with the session cookie", "[integration][static]") {
  StaticTree t;
  TestServer s(t.settings());
  auto r = s.get("/");
  CHECK(r.status == 200);
  CHECK(r.body == "<h1>home</h1>");
  CHECK(r.header("content-type") == "text/html; charset=utf-8");
  CHECK(r.header("cache-control") == "no-cache");
  CHECK_FALSE(r.headers_named("set-cookie").empty());
  CHECK(s.get("/sub/").body == "sub home");
  CHECK(s.get("/a.txt?v=2").body == "0123456789");
  CHECK(s.get("/missing.txt").status == 404);
}

TEST_CASE("no traversal form reaches a file outside the static root", "[integration][static][security]") {
  StaticTree t;
  TestServer s(t.settings());
  const std::string abs_secret = t.secret.string();  // "/tmp/sb-static-it-…/secret.txt"
  const std::string targets[] = {
      "//etc/passwd",
      "//proc/self/environ",
      "/" + abs_secret,  // "//tmp/…/secret.txt": an absolute right-hand side
      "/%2f%2fetc/passwd",
      "/%2F" + abs_secret.substr(1),
      "/%2e%2e/secret.txt",
      "/%2E%2E/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
      "/../secret.txt",
      "/sub/../../secret.txt",
      "/./a.txt",
      "/%2e/a.txt",
      "/%252e%252e/secret.txt",
      "/%252e%252e/%252e%252e/etc/passwd",
      "/%c0%ae%c0%ae/secret.txt",
      "/\xc0\xae\xc0\xae/secret.txt",  // the same overlong bytes unencoded
      "/%c0%af%c0%ae%c0%ae%c0%afsecret.txt",
      "/\\..\\secret.txt",
      "/..%5c..%5csecret.txt",
      "/..%5Csecret.txt",
      "/a.txt%00.html",
      "/up/secret.txt",  // a symlink to the root's parent
      "/out.txt",        // a symlink to the secret
  };
  for (const auto& target : targets) {
    INFO("target " << target);
    auto res = raw(s, target);
    unsigned st = status_of(res);
    CHECK((st == 404 || st == 400));
    CHECK(res.find(kSecret) == std::string::npos);
    CHECK(res.find("root:") == std::string::npos);
  }
  // Still serving: the refusals were per request.
  CHECK(status_of(raw(s, "/a.txt")) == 200);
}

TEST_CASE("symlinks in the static root are refused unless enabled, and never lead out",
          "[integration][static][security]") {
  StaticTree t;
  SECTION("off (default): even a link to a file inside the root is refused") {
    TestServer s(t.settings());
    CHECK(status_of(raw(s, "/in.txt")) == 404);
    CHECK(status_of(raw(s, "/out.txt")) == 404);
    CHECK(status_of(raw(s, "/up/secret.txt")) == 404);
  }
  SECTION("on: a link inside the root is served, one out of it is not") {
    TestServer s(t.settings().set("server.static_follow_symlinks", "true"));
    auto in = raw(s, "/in.txt");
    CHECK(status_of(in) == 200);
    CHECK(body_of(in) == "0123456789");
    for (const char* target : {"/out.txt", "/up/secret.txt"}) {
      INFO("target " << target);
      auto res = raw(s, target);
      CHECK(status_of(res) == 404);
      CHECK(res.find(kSecret) == std::string::npos);
    }
  }
}

TEST_CASE("static files carry validators and answer conditional requests with 304",
          "[integration][static]") {
  StaticTree t;
  TestServer s(t.settings());
  auto r = s.get("/a.txt");
  REQUIRE(r.status == 200);
  auto etag = r.header("etag");
  auto last_modified = r.header("last-modified");
  REQUIRE(etag);
  REQUIRE(last_modified);
  CHECK(r.header("accept-ranges") == "bytes");

  auto same = raw(s, "/a.txt", "If-None-Match: " + *etag + "\r\n");
  CHECK(status_of(same) == 304);
  CHECK(body_of(same).empty());
  CHECK(status_of(raw(s, "/a.txt", "If-Modified-Since: " + *last_modified + "\r\n")) == 304);
  CHECK(status_of(raw(s, "/a.txt", "If-None-Match: \"stale\"\r\n")) == 200);
  CHECK(status_of(raw(s, "/a.txt", "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n")) == 200);

  // A changed file gets a new ETag.
  write_file(t.root / "a.txt", "changed, and longer");
  auto changed = s.get("/a.txt");
  CHECK(changed.body == "changed, and longer");
  CHECK(changed.header("etag") != etag);
}

TEST_CASE("static files answer one byte range with 206, an impossible one with 416",
          "[integration][static]") {
  StaticTree t;
  TestServer s(t.settings());
  auto part = raw(s, "/a.txt", "Range: bytes=2-5\r\n");
  CHECK(status_of(part) == 206);
  CHECK(part.find("Content-Range: bytes 2-5/10\r\n") != std::string::npos);
  CHECK(body_of(part) == "2345");
  auto tail = raw(s, "/a.txt", "Range: bytes=-3\r\n");
  CHECK(status_of(tail) == 206);
  CHECK(body_of(tail) == "789");
  auto beyond = raw(s, "/a.txt", "Range: bytes=10-\r\n");
  CHECK(status_of(beyond) == 416);
  CHECK(beyond.find("Content-Range: bytes */10\r\n") != std::string::npos);
  auto several = raw(s, "/a.txt", "Range: bytes=0-1,4-5\r\n");
  CHECK(status_of(several) == 200);
  CHECK(body_of(several) == "0123456789");
}

TEST_CASE("HEAD of a static file has its headers and no body", "[integration][static]") {
  StaticTree t;
  TestServer s(t.settings());
  auto head = raw(s, "/a.txt", {}, "HEAD");
  CHECK(status_of(head) == 200);
  CHECK(head.find("Content-Length: 10\r\n") != std::string::npos);
  CHECK(body_of(head).empty());
}

TEST_CASE("a keep-alive connection goes on after a streamed file", "[integration][static]") {
  StaticTree t;
  TestServer s(t.settings());
  Conn c(s.port());
  REQUIRE(c.send("GET /a.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" + request("GET", "/sub/")));
  auto both = c.read_all();
  CHECK(status_of(both) == 200);
  auto second = both.find("HTTP/1.1 200", 1);
  REQUIRE(second != std::string::npos);
  CHECK(both.substr(0, second).ends_with("\r\n\r\n0123456789"));
  CHECK(body_of(both.substr(second)) == "sub home");
}

TEST_CASE("concurrent downloads of a large file keep the server's memory bounded",
          "[integration][static][security]") {
  StaticTree t;
  constexpr std::uint64_t kSize = 300ull << 20;  // 300 MiB, sparse: no disk used
  {
    std::ofstream big(t.root / "big.bin");
  }
  fs::resize_file(t.root / "big.bin", kSize);
  TestServer s(t.settings());
  const pid_t pid = s.process().pid();
  const long baseline = rss_kib(pid);
  REQUIRE(baseline > 0);

  // 6 clients read everything as fast as they can; 6 read the head and one
  // chunk and then stall until the fast ones are done (the server must hold
  // their responses without buffering the file).
  constexpr int kFast = 6, kStalled = 6;
  std::atomic<int> fast_done{0};
  std::atomic<int> fast_complete{0};
  std::atomic<int> stalled_started{0};
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;  // guarded by mu
  std::vector<std::thread> clients;
  for (int i = 0; i < kFast; ++i)
    clients.emplace_back([&] {
      Conn c(s.port());
      std::string extra;
      if (c.send(request("GET", "/big.bin")) && status_of(c.read_head(extra)) == 200) {
        std::uint64_t got = extra.size();
        std::vector<char> buf(1 << 20);
        while (got < kSize) {
          std::size_t n = c.read_some(buf.data(), buf.size());
          if (n == 0) break;
          got += n;
        }
        if (got == kSize) ++fast_complete;
      }
      ++fast_done;
    });
  for (int i = 0; i < kStalled; ++i)
    clients.emplace_back([&] {
      Conn c(s.port());
      std::string extra;
      bool ok = c.send(request("GET", "/big.bin")) && status_of(c.read_head(extra)) == 200;
      if (ok) ++stalled_started;
      // Holds the connection until the fast readers are done (bounded).
      std::unique_lock lock(mu);
      cv.wait_for(lock, std::chrono::seconds(90), [&] { return release; });
    });

  // Sample the server's RSS while the downloads run (a measurement, not a wait
  // for an event: nothing announces "memory peaked").
  long peak = baseline;
  while (fast_done < kFast) {
    peak = std::max(peak, rss_kib(pid));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  peak = std::max(peak, rss_kib(pid));
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  for (auto& c : clients) c.join();

  WARN("server VmRSS with " << kFast << " full + " << kStalled << " stalled 300 MiB downloads: baseline "
                            << baseline / 1024 << " MiB, peak " << peak / 1024 << " MiB");
  CHECK(fast_complete == kFast);
  CHECK(stalled_started == kStalled);
  CHECK(peak < 200 * 1024);  // a whole-file read would need 300 MiB per download
  CHECK(s.process().running());
  CHECK(s.get("/healthz").status == 200);
}
