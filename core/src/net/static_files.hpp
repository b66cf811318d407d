// Static files for examples and apps (server.static_dir). Only GET/HEAD of
// regular files inside the root; no directory listings.
//
// Containment: a request target is percent-decoded once and refused when what
// is left could mean anything but a plain relative path (see
// resolve_static_path); the joined path is then canonicalised and must lie
// inside the canonical root, compared component by component. Symlinks are
// refused unless server.static_follow_symlinks is on, and even then only when
// their target is inside the root.
//
// Files are streamed: FileBody reads kFileChunkBytes at a time, so a response
// holds one chunk of memory whatever the file's size. Thread-safety: the
// functions are pure or touch only the file system; a FileBody belongs to one
// response on one thread.
#pragma once

#include <cstdint>
#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <boost/beast/core/file_posix.hpp>
#include <boost/beast/http.hpp>
#include <boost/optional.hpp>

namespace switchboard::net {

namespace http = boost::beast::http;

// Read size per chunk of a streamed file: one chunk per response is all the
// memory a download holds, and 64 KiB keeps the write count per byte low.
constexpr std::size_t kFileChunkBytes = 64 * 1024;

// The file a request target names, canonical and inside the canonical root;
// nullopt when absent, not a regular file, or unsafe. `target` is the request
// target as received ("/", "/app.js?x=1"); a target ending in '/' names that
// folder's index.html. Refused: anything but origin-form, an invalid or
// leftover (double-encoded) percent escape, NUL and other control characters,
// backslash, invalid or overlong UTF-8, empty, `.` and `..` segments — all
// after one percent-decoding. With follow_symlinks false any symlink below the
// root is refused; with true, one whose resolved target is inside the root is
// accepted.
std::optional<std::filesystem::path> resolve_static_path(const std::string& root,
                                                         std::string_view target,
                                                         bool follow_symlinks);

// An opened static file and what its response headers need.
struct StaticFile {
  boost::beast::file_posix file;  // open for reading; owned
  std::uint64_t size = 0;
  std::string content_type;
  std::string etag;           // strong: "\"<size hex>-<mtime ns hex>\""
  std::string last_modified;  // IMF-fixdate
  std::time_t mtime = 0;
};

// resolve_static_path, then opens the file (when symlinks are refused, one
// component at a time with O_NOFOLLOW, so nothing swapped for a symlink since the
// check is followed) and checks it is still a regular file; nullopt otherwise.
std::optional<StaticFile> open_static(const std::string& root, std::string_view target,
                                      bool follow_symlinks);

// A byte range [offset, offset + length) of an open file as an HTTP body.
// The writer reads it with pread in kFileChunkBytes pieces; the response's
// Content-Length is set by whoever builds the header (a HEAD sends none of it).
struct FileBody {
  struct value_type {
    boost::beast::file_posix file;
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
  };

  static std::uint64_t size(const value_type& body) { return body.length; }

  class writer {
   public:
    using const_buffers_type = boost::asio::const_buffer;

    template <bool isRequest, class Fields>
    writer(http::header<isRequest, Fields>&, value_type& body) : body_(body) {}

    void init(boost::beast::error_code& ec);
    boost::optional<std::pair<const_buffers_type, bool>> get(boost::beast::error_code& ec);

   private:
    value_type& body_;
    std::uint64_t sent_ = 0;
    std::unique_ptr<char[]> chunk_;
  };
};

using FileResponse = http::response<FileBody>;

// The response to a GET or HEAD of `file`: 200, 206 for one satisfiable
// `Range: bytes=` range (several ranges, a malformed one or a stale If-Range:
// the whole file), 304 when If-None-Match (else If-Modified-Since) matches, 416
// for an unsatisfiable range. Carries ETag, Last-Modified, Accept-Ranges,
// Cache-Control: no-cache and Content-Length; keep-alive and Set-Cookie are
// the caller's.
FileResponse static_response(const http::request_header<>& req, StaticFile file);

// The single range a Range header asks of a body of `size` bytes.
struct ByteRange {
  enum class Kind { kWhole, kPart, kUnsatisfiable } kind = Kind::kWhole;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};
ByteRange parse_range(std::string_view header, std::uint64_t size);

// RFC 9110 IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"); parse_http_date
// accepts only that form (nullopt otherwise).
std::string http_date(std::time_t t);
std::optional<std::time_t> parse_http_date(std::string_view s);

std::string_view mime_type(std::string_view path);

}  // namespace switchboard::net
