// The listener's TLS context (net/tls_context.hpp): start-up errors name the file
// and the problem; a reload takes new files, and a failed one keeps the last good
// context. Certificates are made with the openssl command.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "config/validate.hpp"
#include "net/tls_context.hpp"

using namespace switchboard;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("sb-tls-unit-" + std::to_string(::getpid()));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  // A self-signed P-256 certificate and its key: <name>.crt, <name>.key.
  void make(const std::string& name) const {
    const std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=" +
        name + " -keyout " + (path / (name + ".key")).string() + " -out " +
        (path / (name + ".crt")).string() + " >/dev/null 2>&1";
    REQUIRE(std::system(cmd.c_str()) == 0);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

config::Settings::Server server(const std::string& cert, const std::string& key) {
  config::Settings::Server s;
  s.tls_cert = cert;
  s.tls_key = key;
  return s;
}

std::string error_of(const config::Settings::Server& s) {
  try {
    net::TlsContext ctx(s);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("TLS files that cannot serve fail the start, naming the file", "[tls]") {
  TempDir dir;
  dir.make("a");
  dir.make("b");
  CHECK(error_of(server(dir.file("a.crt"), dir.file("a.key"))).empty());
  CHECK(error_of(server(dir.file("none.crt"), dir.file("a.key"))).find("none.crt: cannot be read") !=
        std::string::npos);
  CHECK(error_of(server(dir.file("a.crt"), dir.file("none.key"))).find("none.key: cannot be read") !=
        std::string::npos);
  CHECK(error_of(server(dir.file("a.crt"), dir.file("b.key"))).find("is not the key of") !=
        std::string::npos);
  std::ofstream(dir.file("junk.pem")) << "not PEM\n";
  CHECK(error_of(server(dir.file("junk.pem"), dir.file("a.key"))).find("not a PEM certificate chain") !=
        std::string::npos);
  CHECK(error_of(server(dir.file("a.crt"), dir.file("junk.pem"))).find("not an unencrypted PEM private key") !=
        std::string::npos);
}

TEST_CASE("a reload takes the new files, a failed one keeps the last good context", "[tls]") {
  TempDir dir;
  dir.make("a");
  dir.make("b");
  fs::copy_file(dir.file("a.crt"), dir.file("live.crt"));
  fs::copy_file(dir.file("a.key"), dir.file("live.key"));
  net::TlsContext tls(server(dir.file("live.crt"), dir.file("live.key")));
  auto first = tls.current();
  REQUIRE(first);

  fs::copy_file(dir.file("b.crt"), dir.file("live.crt"), fs::copy_options::overwrite_existing);
  fs::copy_file(dir.file("b.key"), dir.file("live.key"), fs::copy_options::overwrite_existing);
  REQUIRE(tls.reload().is_ok());
  auto second = tls.current();
  CHECK(second != first);
  CHECK(first.use_count() >= 1);  // a connection holding the old one keeps it

  // Half-written (a new certificate, the old key): refused, nothing changes.
  fs::copy_file(dir.file("a.crt"), dir.file("live.crt"), fs::copy_options::overwrite_existing);
  Status s = tls.reload();
  CHECK_FALSE(s.is_ok());
  CHECK(s.message().find("is not the key of") != std::string::npos);
  CHECK(tls.current() == second);
}

TEST_CASE("server.tls_cert and tls_key go together, and TLS makes the cookie Secure", "[tls][config]") {
  auto check = [](const std::string& yaml) {
    return config::validate(Config::from_string(yaml, "test.yaml"), {});
  };
  CHECK_THROWS_WITH(check("server: {tls_cert: /x.crt}"), Catch::Contains("go together"));
  CHECK_THROWS_WITH(check("server: {tls_key: /x.key}"), Catch::Contains("go together"));
  auto s = check("server: {tls_cert: /x.crt, tls_key: /x.key}");
  CHECK(s.server.tls());
  CHECK(s.session.cookie_secure);
  CHECK_FALSE(check("").session.cookie_secure);
}
