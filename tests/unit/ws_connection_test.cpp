// net::WsConnection's close states as a unit: one connection on a real event
// loop and a real loopback socket, the peer played by blocking socket calls on
// the test thread. Who closes first (the peer, the server, a protocol error, a
// TCP reset), what each side sees, and that the connection always ends — leaves
// the open-connection count — within its bound.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstring>
#include <future>
#include <memory>
#include <string>

#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include "net/event_loop.hpp"
#include "net/net_context.hpp"
#include "net/ws_connection.hpp"
#include "plugin/plugin_host.hpp"
#include "publish/bus_publisher.hpp"
#include "switchboard/config.hpp"

using namespace switchboard;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
namespace http = boost::beast::http;

namespace {

// What the server runs around one connection: settings, the memory plugins, the
// session service, one event loop.
struct TestServer {
  config::Settings settings;
  std::vector<std::string> plugin_dirs;
  observe::Metrics metrics;
  std::unique_ptr<plugin::PluginHost> host;
  std::unique_ptr<session::SessionService> sessions;
  std::unique_ptr<auth::TokenVerifier> tokens;
  rpc::RpcRouter rpc;
  std::unique_ptr<publish::BusPublisher> publisher;
  std::unique_ptr<api::HttpApi> http_api;
  std::unique_ptr<net::NetContext> ctx;
  std::unique_ptr<net::EventLoop> loop;  // last: goes first

  explicit TestServer(const std::string& yaml = "") {
    settings = plugin::load_settings(
        Config::from_string("plugins: {dir: \"" SWITCHBOARD_PLUGIN_DIR "\"}\n" + yaml, "test.yaml"),
        plugin_dirs);
    host = std::make_unique<plugin::PluginHost>(settings, plugin_dirs, metrics,
                                                [](std::string_view) {});
    host->start();
    sessions = std::make_unique<session::SessionService>(settings, *host);
    tokens = std::make_unique<auth::TokenVerifier>(settings);
    publisher = std::make_unique<publish::BusPublisher>(settings, *host);
    http_api = std::make_unique<api::HttpApi>(settings, *publisher, *sessions, host->transport_state());
    ctx = std::unique_ptr<net::NetContext>(new net::NetContext{
        settings, metrics, host->transport_state(), host->store_state(), *sessions, *tokens, nullptr, rpc,
        *publisher, *http_api,
        std::make_shared<net::ConnectionLimiter>(settings.limits.max_connections,
                                                 settings.limits.max_connections_per_ip),
        {}, {}, {}});
    loop = std::make_unique<net::EventLoop>(0, settings.server.write_interval);
    loop->start();
  }

  ~TestServer() {
    loop->stop();
    loop.reset();
    host->stop();
  }

  // Runs fn on the loop and waits for it.
  template <class F>
  void on_loop(F fn) {
    std::promise<void> done;
    asio::post(loop->ioc(), [&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  }

  // Every connection of the loop closes with 1001, as at shutdown.
  void close_all_going_away() {
    on_loop([&] {
      for (auto* c : loop->shard().connections()) c->close_going_away();
    });
  }

  bool ended_within(std::chrono::milliseconds d) {
    return ctx->open.wait_none(std::chrono::steady_clock::now() + d);
  }
};

struct Frame {
  uint8_t opcode = 0;
  std::string payload;
  uint16_t close_code() const {
    return payload.size() >= 2 ? static_cast<uint16_t>((uint8_t(payload[0]) << 8) | uint8_t(payload[1]))
                               : 0;
  }
};

// The browser's side: a blocking socket that speaks just enough RFC 6455.
struct Peer {
  asio::io_context ioc;
  tcp::socket socket{ioc};
  asio::streambuf buf;

  // Connects to a fresh WsConnection on server's loop and reads the 101 and the
  // ready frame.
  explicit Peer(TestServer& server) {
    tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    socket.connect(acceptor.local_endpoint());
    tcp::socket accepted(server.loop->ioc());
    acceptor.accept(accepted);
    timeval tv{5, 0};  // no read here may hang the test
    setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

    session::OpenedSession opened;
    opened.id = std::string(32, 'a');
    opened.key = "test-session-key";
    http::request<http::string_body> req{http::verb::get, "/switchboard", 11};
    req.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
    server.on_loop([&] {
      auto conn = std::make_shared<net::WsConnection>(*server.ctx, *server.loop,
                                                      std::move(accepted), nullptr,
                                                      std::move(opened));
      conn->start(std::move(req));
    });
    asio::read_until(socket, buf, "\r\n\r\n");
    std::string head(asio::buffers_begin(buf.data()), asio::buffers_end(buf.data()));
    REQUIRE(head.rfind("HTTP/1.1 101", 0) == 0);
    buf.consume(head.find("\r\n\r\n") + 4);
    Frame ready = read_frame();
    REQUIRE(ready.opcode == 0x1);
    REQUIRE(ready.payload.find("\"ready\"") != std::string::npos);
  }

  void read_exactly(char* out, size_t n) {
    size_t from_buf = std::min(n, buf.size());
    asio::buffer_copy(asio::buffer(out, from_buf), buf.data());
    buf.consume(from_buf);
    if (from_buf < n) asio::read(socket, asio::buffer(out + from_buf, n - from_buf));
  }

  // The next frame the server sent (servers do not mask).
  Frame read_frame() {
    uint8_t h[2];
    read_exactly(reinterpret_cast<char*>(h), 2);
    Frame f;
    f.opcode = h[0] & 0x0F;
    uint64_t len = h[1] & 0x7F;
    if (len == 126) {
      uint8_t e[2];
      read_exactly(reinterpret_cast<char*>(e), 2);
      len = (uint64_t{e[0]} << 8) | e[1];
    } else if (len == 127) {
      uint8_t e[8];
      read_exactly(reinterpret_cast<char*>(e), 8);
      len = 0;
      for (uint8_t b : e) len = (len << 8) | b;
    }
    f.payload.resize(len);
    if (len) read_exactly(f.payload.data(), len);
    return f;
  }

  // True when the server closed the TCP connection (EOF or reset) before
  // anything else arrived.
  bool sees_end() {
    if (buf.size() > 0) return false;
    char c;
    boost::system::error_code ec;
    size_t n = socket.read_some(asio::buffer(&c, 1), ec);
    return n == 0 && (ec == asio::error::eof || ec == asio::error::connection_reset);
  }

  void send(uint8_t opcode, const std::string& payload, bool masked = true) {
    std::string f;
    f += static_cast<char>(0x80 | opcode);
    REQUIRE(payload.size() < 126);
    f += static_cast<char>((masked ? 0x80 : 0) | payload.size());
    const uint8_t mask[4] = {0x12, 0x34, 0x56, 0x78};
    if (masked) f.append(reinterpret_cast<const char*>(mask), 4);
    for (size_t i = 0; i < payload.size(); ++i)
      f += static_cast<char>(payload[i] ^ (masked ? mask[i % 4] : 0));
    asio::write(socket, asio::buffer(f));
  }

  void send_close(uint16_t code, const std::string& reason = "") {
    std::string p;
    p += static_cast<char>(code >> 8);
    p += static_cast<char>(code & 0xFF);
    send(0x8, p + reason);
  }
};

}  // namespace

TEST_CASE("the peer closes first: its code is echoed and the connection ends", "[ws_connection]") {
  TestServer server;
  Peer peer(server);
  CHECK(server.ctx->open.count() == 1);
  peer.send_close(1000, "bye");
  Frame reply = peer.read_frame();
  CHECK(reply.opcode == 0x8);
  CHECK(reply.close_code() == 1000);
  CHECK(peer.sees_end());
  CHECK(server.ended_within(2s));
}

TEST_CASE("the server closes first (1001): nothing is answered after it, the peer's answer ends it",
          "[ws_connection]") {
  TestServer server;
  Peer peer(server);
  server.close_all_going_away();
  Frame close = peer.read_frame();
  CHECK(close.opcode == 0x8);
  CHECK(close.close_code() == 1001);
  // Closing: an RPC sent now is not answered, an event not delivered.
  peer.send(0x1, R"({"t":"rpc","id":1,"m":"x"})");
  server.on_loop([&] {
    for (auto* c : server.loop->shard().connections())
      c->send_frame(std::make_shared<const std::string>(R"({"t":"event","e":"late","p":[]})"));
  });
  CHECK(server.ctx->open.count() == 1);  // waits for the peer's close
  peer.send_close(1001);
  CHECK(peer.sees_end());  // no reply, no event, no second close frame
  CHECK(server.ended_within(2s));
}

TEST_CASE("a close the peer never answers ends at the first sweep after server.handshake_timeout",
          "[ws_connection]") {
  // idle_timeout 2 s: the loop sweeps every second (a quarter of it, at least 1 s).
  TestServer server("server: {handshake_timeout: 300ms, idle_timeout: 2s}\n");
  Peer peer(server);
  server.close_all_going_away();
  auto t0 = std::chrono::steady_clock::now();
  CHECK(peer.read_frame().close_code() == 1001);
  CHECK(peer.sees_end());  // our FIN: the server waits for the peer's close
  CHECK_FALSE(server.ended_within(250ms));
  CHECK(server.ended_within(2500ms));  // 300 ms, then at most one sweep period
  CHECK(std::chrono::steady_clock::now() - t0 >= 300ms);
}

TEST_CASE("a protocol error: close 1002, FIN, no further frame read, the peer's end ends it",
          "[ws_connection]") {
  TestServer server;
  Peer peer(server);
  peer.send(0x1, "not masked", /*masked=*/false);
  Frame close = peer.read_frame();
  CHECK(close.opcode == 0x8);
  CHECK(close.close_code() == 1002);
  CHECK(close.payload.substr(2) == "client frame not masked");
  CHECK(peer.sees_end());
  // RFC 6455 7.1.7: after failing the connection the server reads no more
  // frames, so a ping (or a close) from the peer changes nothing ...
  peer.send(0x9, "ping?");
  peer.send_close(1002);
  CHECK_FALSE(server.ended_within(300ms));
  // ... until the peer closes its end.
  peer.socket.shutdown(tcp::socket::shutdown_send);
  CHECK(server.ended_within(2s));
}

TEST_CASE("a peer that resets the TCP connection ends it at once", "[ws_connection]") {
  TestServer server;
  Peer peer(server);
  linger l{1, 0};  // close() sends RST
  setsockopt(peer.socket.native_handle(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
  peer.socket.close();
  CHECK(server.ended_within(2s));
}

TEST_CASE("a peer that half-closes without a close frame ends the connection", "[ws_connection]") {
  TestServer server;
  Peer peer(server);
  peer.socket.shutdown(tcp::socket::shutdown_send);
  CHECK(server.ended_within(2s));
  CHECK(peer.sees_end());
}
