#include "support/raw_client.hpp"

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

namespace switchboard::test {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;

namespace {

constexpr Millis kDrainTimeout{2000};
constexpr std::size_t kReadChunk = 64 * 1024;

struct OpState {
  bool done = false;
  error_code ec;
  std::size_t bytes = 0;
  std::array<char, kReadChunk> data{};
};

}  // namespace

uint16_t RawFrame::close_code() const {
  if (payload.size() < 2) return 1005;
  return static_cast<uint16_t>((static_cast<uint8_t>(payload[0]) << 8) |
                               static_cast<uint8_t>(payload[1]));
}

struct RawClient::Impl {
  net::io_context ioc;
  tcp::socket sock{ioc};

  // Runs until op->done or the deadline; on timeout closes the socket and drains.
  bool run(const std::shared_ptr<OpState>& op, Clock::time_point deadline) {
    while (!op->done) {
      if (Clock::now() >= deadline) break;
      if (ioc.stopped()) ioc.restart();
      if (ioc.run_one_until(deadline) == 0 && ioc.stopped()) break;
    }
    if (op->done) return true;
    error_code ignored;
    sock.cancel(ignored);
    auto drain = Clock::now() + kDrainTimeout;
    while (!op->done && Clock::now() < drain) {
      if (ioc.stopped()) ioc.restart();
      if (ioc.run_one_until(drain) == 0 && ioc.stopped()) break;
    }
    return false;
  }
};

RawClient::RawClient() : impl_(std::make_unique<Impl>()) {}

RawClient::~RawClient() {
  error_code ignored;
  impl_->sock.close(ignored);
  impl_->ioc.restart();
  impl_->ioc.run_for(kDrainTimeout);
}

bool RawClient::connect(const std::string& host, uint16_t port, Millis timeout) {
  error_code ec;
  auto address = net::ip::make_address(host, ec);
  if (ec) return false;
  auto op = std::make_shared<OpState>();
  impl_->sock.async_connect(tcp::endpoint(address, port), [op](error_code e) {
    op->done = true;
    op->ec = e;
  });
  return impl_->run(op, Clock::now() + timeout) && !op->ec;
}

bool RawClient::send(std::string_view bytes, Millis timeout) {
  auto op = std::make_shared<OpState>();
  auto buf = std::make_shared<std::string>(bytes);
  net::async_write(impl_->sock, net::buffer(*buf), [op, buf](error_code e, std::size_t n) {
    op->done = true;
    op->ec = e;
    op->bytes = n;
  });
  return impl_->run(op, Clock::now() + timeout) && !op->ec;
}

bool RawClient::read_more(Clock::time_point deadline) {
  if (eof_) return false;
  auto op = std::make_shared<OpState>();
  impl_->sock.async_read_some(net::buffer(op->data), [op](error_code e, std::size_t n) {
    op->done = true;
    op->ec = e;
    op->bytes = n;
  });
  if (!impl_->run(op, deadline)) return false;  // timed out (the read was cancelled)
  if (op->ec) {
    eof_ = true;  // EOF, reset: the server closed the connection
    return false;
  }
  buffer_.append(op->data.data(), op->bytes);
  return true;
}

unsigned RawClient::upgrade(const std::string& host, uint16_t port, std::string_view path,
                            std::string_view extra_headers, Millis timeout) {
  auto deadline = Clock::now() + timeout;
  head_.clear();
  if (!connect(host, port, timeout)) return 0;
  std::string req = "GET " + std::string(path) + " HTTP/1.1\r\n";
  req += "Host: " + host + ":" + std::to_string(port) + "\r\n";
  req += "Upgrade: websocket\r\nConnection: Upgrade\r\n";
  req += "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
  req += extra_headers;
  req += "\r\n";
  if (!send(req, timeout)) return 0;
  std::size_t end;
  while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!read_more(deadline)) return 0;
  }
  head_ = buffer_.substr(0, end + 4);
  buffer_.erase(0, end + 4);
  // "HTTP/1.1 101 Switching Protocols"
  auto sp = head_.find(' ');
  if (sp == std::string::npos) return 0;
  return static_cast<unsigned>(std::strtoul(head_.c_str() + sp + 1, nullptr, 10));
}

std::optional<RawFrame> RawClient::read_frame(Millis timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    // Header: 2 bytes, then 2 or 8 bytes of extended length, then a mask key if set.
    if (buffer_.size() >= 2) {
      auto b0 = static_cast<uint8_t>(buffer_[0]);
      auto b1 = static_cast<uint8_t>(buffer_[1]);
      std::size_t header = 2;
      uint64_t len = b1 & 0x7f;
      if (len == 126) header += 2;
      if (len == 127) header += 8;
      bool masked = (b1 & 0x80) != 0;
      if (masked) header += 4;
      if (buffer_.size() >= header) {
        if (len == 126) {
          len = (static_cast<uint64_t>(static_cast<uint8_t>(buffer_[2])) << 8) |
                static_cast<uint8_t>(buffer_[3]);
        } else if (len == 127) {
          len = 0;
          for (int i = 0; i < 8; ++i) len = (len << 8) | static_cast<uint8_t>(buffer_[2 + i]);
        }
        if (buffer_.size() >= header + len) {
          RawFrame f;
          f.fin = (b0 & 0x80) != 0;
          f.opcode = b0 & 0x0f;
          f.payload = buffer_.substr(header, len);
          if (masked) {
            const char* key = buffer_.data() + header - 4;
            for (std::size_t i = 0; i < f.payload.size(); ++i) f.payload[i] ^= key[i % 4];
          }
          buffer_.erase(0, header + len);
          return f;
        }
      }
    }
    if (!read_more(deadline)) return std::nullopt;
  }
}

bool RawClient::read_until(std::string_view marker, Millis timeout) {
  auto deadline = Clock::now() + timeout;
  while (buffer_.find(marker) == std::string::npos) {
    if (!read_more(deadline)) return false;
  }
  return true;
}

bool RawClient::wait_eof(Millis timeout) {
  auto deadline = Clock::now() + timeout;
  while (!eof_) {
    if (!read_more(deadline)) break;
    buffer_.clear();
  }
  return eof_;
}

}  // namespace switchboard::test
