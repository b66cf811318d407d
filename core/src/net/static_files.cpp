#include "net/static_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <iterator>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <ctime>

#include "net/http_fields.hpp"
#include "net/ws_frame.hpp"

namespace switchboard::net {
namespace fs = std::filesystem;

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// One round of percent-decoding; nullopt on a truncated or non-hex escape.
std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    int hi = hex_digit(s[i + 1]), lo = hex_digit(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

// What a decoded path may hold: no '%' (a second encoding layer), no control
// character (NUL ends a C path early), no backslash (a separator elsewhere),
// nothing but valid shortest-form UTF-8 (overlong forms smuggle '.' and '/').
bool plain_path_bytes(std::string_view s) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '%' || c == '\\') return false;
  }
  return ws::valid_utf8(s);
}

// Every segment a plain name: none empty (`//`), `.` or `..`.
bool plain_segments(std::string_view rel) {
  for (;;) {
    auto slash = rel.find('/');
    auto seg = rel.substr(0, slash);
    if (seg.empty() || seg == "." || seg == "..") return false;
    if (slash == std::string_view::npos) return true;
    rel.remove_prefix(slash + 1);
  }
}

// `p` lies strictly below `root`, compared component by component (so
// /srv/www2 is not inside /srv/www). Both are canonical.
bool strictly_inside(const fs::path& root, const fs::path& p) {
  auto r = root.begin(), q = p.begin();
  for (; r != root.end(); ++r, ++q)
    if (q == p.end() || *r != *q) return false;
  return q != p.end();
}

std::string hex(std::uint64_t v) {
  char buf[17];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, 16);
  return std::string(buf, end);
}

std::optional<std::uint64_t> parse_u64(std::string_view s) {
  std::uint64_t v = 0;
  if (s.empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// If-None-Match lists `etag` (weak comparison, RFC 9110 §13.1.2) or is `*`.
bool etag_listed(std::string_view header, std::string_view etag) {
  for (;;) {
    auto comma = header.find(',');
    auto tag = trim_ows(header.substr(0, comma));
    if (tag == "*") return true;
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == etag) return true;
    if (comma == std::string_view::npos) return false;
    header.remove_prefix(comma + 1);
  }
}

bool not_modified(const http::request_header<>& req, const StaticFile& file) {
  auto inm = req[http::field::if_none_match];
  if (!inm.empty()) return etag_listed(inm, file.etag);  // it overrides If-Modified-Since
  auto ims = req[http::field::if_modified_since];
  if (ims.empty()) return false;
  auto t = parse_http_date(ims);
  return t && file.mtime <= *t;
}

constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

}  // namespace

std::optional<fs::path> resolve_static_path(const std::string& root, std::string_view target,
                                            bool follow_symlinks) {
  if (root.empty()) return std::nullopt;
  std::string_view raw = target.substr(0, target.find_first_of("?#"));
  if (raw.empty() || raw.front() != '/') return std::nullopt;  // origin-form only
  auto rel = percent_decode(raw.substr(1));
  if (!rel || !plain_path_bytes(*rel)) return std::nullopt;
  if (rel->empty() || rel->back() == '/') *rel += "index.html";
  // After this no segment is empty, so `rel` is relative and cannot replace the
  // root when joined (fs::path("/srv") / "/etc" is "/etc").
  if (!plain_segments(*rel)) return std::nullopt;

  std::error_code ec;
  const fs::path base = fs::canonical(root, ec);
  if (ec) return std::nullopt;
  const fs::path joined = base / fs::path(*rel);
  fs::path real = fs::canonical(joined, ec);
  if (ec || !strictly_inside(base, real)) return std::nullopt;
  // With no `.`/`..` segments the joined path is already canonical unless some
  // component below the root is a symlink.
  if (!follow_symlinks && real != joined) return std::nullopt;
  if (!fs::is_regular_file(real, ec)) return std::nullopt;
  return real;
}

namespace {
// Opens `path` (inside the canonical `base`) one component at a time with
// O_NOFOLLOW, each relative to the folder opened before: a folder or the file
// swapped for a symlink after resolve_static_path() checked it is refused, so
// the check and the open see the same tree. -1 on any failure.
int open_beneath(const fs::path& base, const fs::path& path, int file_flags) {
  int dir = ::open(base.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return -1;
  const fs::path rel = path.lexically_relative(base);
  auto last = std::prev(rel.end());
  for (auto it = rel.begin(); it != rel.end(); ++it) {
    const bool is_last = it == last;
    int flags = is_last ? file_flags : O_RDONLY | O_DIRECTORY | O_CLOEXEC;
    int next = ::openat(dir, it->c_str(), flags | O_NOFOLLOW);
    ::close(dir);
    if (next < 0 || is_last) return next;
    dir = next;
  }
  ::close(dir);
  return -1;
}
}  // namespace

std::optional<StaticFile> open_static(const std::string& root, std::string_view target,
                                      bool follow_symlinks) {
  auto path = resolve_static_path(root, target, follow_symlinks);
  if (!path) return std::nullopt;
  // O_NONBLOCK: a file swapped for a FIFO since the check cannot block the loop
  // in open(). Symlinks refused: no component may have become one either.
  const int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK;
  int fd = -1;
  if (follow_symlinks) {
    fd = ::open(path->c_str(), flags);
  } else {
    std::error_code ec;
    const fs::path base = fs::canonical(root, ec);
    if (!ec) fd = open_beneath(base, *path, flags);
  }
  if (fd < 0) return std::nullopt;
  StaticFile f;
  f.file.native_handle(fd);  // owns it from here
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  f.size = static_cast<std::uint64_t>(st.st_size);
  f.mtime = st.st_mtim.tv_sec;
  auto mtime_ns = static_cast<std::uint64_t>(st.st_mtim.tv_sec) * 1000000000u +
                  static_cast<std::uint64_t>(st.st_mtim.tv_nsec);
  f.etag = "\"" + hex(f.size) + "-" + hex(mtime_ns) + "\"";
  f.last_modified = http_date(f.mtime);
  f.content_type = std::string(mime_type(path->native()));
  return f;
}

void FileBody::writer::init(boost::beast::error_code& ec) { ec = {}; }

boost::optional<std::pair<FileBody::writer::const_buffers_type, bool>> FileBody::writer::get(
    boost::beast::error_code& ec) {
  ec = {};
  const std::uint64_t remain = body_.length - sent_;
  if (remain == 0) return boost::none;
  if (!chunk_) chunk_ = std::make_unique<char[]>(kFileChunkBytes);
  const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(remain, kFileChunkBytes));
  ssize_t n;
  do {
    n = ::pread(body_.file.native_handle(), chunk_.get(), want,
                static_cast<off_t>(body_.offset + sent_));
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    ec.assign(errno, boost::system::system_category());
    return boost::none;
  }
  if (n == 0) {
    // The file shrank under us: the Content-Length sent cannot be kept, so the
    // write fails and the connection closes rather than hang the client.
    ec = boost::asio::error::eof;
    return boost::none;
  }
  sent_ += static_cast<std::uint64_t>(n);
  return std::make_pair(const_buffers_type(chunk_.get(), static_cast<std::size_t>(n)),
                        sent_ < body_.length);
}

FileResponse static_response(const http::request_header<>& req, StaticFile file) {
  FileResponse res{http::status::ok, req.version()};
  res.set(http::field::server, "switchboard");
  res.set(http::field::content_type, file.content_type);
  res.set(http::field::cache_control, "no-cache");
  res.set(http::field::etag, file.etag);
  res.set(http::field::last_modified, file.last_modified);
  res.set(http::field::accept_ranges, "bytes");
  if (not_modified(req, file)) {
    res.result(http::status::not_modified);  // no body, so no Content-Length
    return res;
  }
  ByteRange range;
  auto range_header = req[http::field::range];
  auto if_range = req[http::field::if_range];
  // Range only on GET, and only while If-Range (when sent) still names this
  // version; dates in If-Range are not strong validators, so they never match.
  if (req.method() == http::verb::get && !range_header.empty() &&
      (if_range.empty() || if_range == file.etag))
    range = parse_range(range_header, file.size);
  switch (range.kind) {
    case ByteRange::Kind::kUnsatisfiable:
      res.result(http::status::range_not_satisfiable);
      res.set(http::field::content_range, "bytes */" + std::to_string(file.size));
      res.erase(http::field::content_type);
      res.content_length(0);
      return res;
    case ByteRange::Kind::kPart:
      res.result(http::status::partial_content);
      res.set(http::field::content_range, "bytes " + std::to_string(range.offset) + "-" +
                                              std::to_string(range.offset + range.length - 1) +
                                              "/" + std::to_string(file.size));
      break;
    case ByteRange::Kind::kWhole:
      range.offset = 0;
      range.length = file.size;
      break;
  }
  res.content_length(range.length);
  res.body().file = std::move(file.file);
  res.body().offset = range.offset;
  // HEAD: the GET's headers, Content-Length included, and no body.
  res.body().length = req.method() == http::verb::head ? 0 : range.length;
  return res;
}

ByteRange parse_range(std::string_view header, std::uint64_t size) {
  ByteRange whole;  // what a header we do not serve as a range means
  header = trim_ows(header);
  if (!header.starts_with("bytes=")) return whole;
  std::string_view spec = trim_ows(header.substr(6));
  if (spec.find(',') != std::string_view::npos) return whole;  // several ranges: send it all
  auto dash = spec.find('-');
  if (dash == std::string_view::npos) return whole;
  auto first = trim_ows(spec.substr(0, dash)), last = trim_ows(spec.substr(dash + 1));
  ByteRange r{ByteRange::Kind::kPart, 0, 0};
  if (first.empty()) {  // suffix: the last N bytes
    auto n = parse_u64(last);
    if (!n) return whole;
    if (*n == 0 || size == 0) return {ByteRange::Kind::kUnsatisfiable, 0, 0};
    r.length = std::min(*n, size);
    r.offset = size - r.length;
    return r;
  }
  auto a = parse_u64(first);
  if (!a) return whole;
  std::uint64_t b = size == 0 ? 0 : size - 1;
  if (!last.empty()) {
    auto parsed = parse_u64(last);
    if (!parsed || *parsed < *a) return whole;  // invalid: ignored, as RFC 9110 §14.2 allows
    b = std::min(*parsed, b);
  }
  if (*a >= size) return {ByteRange::Kind::kUnsatisfiable, 0, 0};
  r.offset = *a;
  r.length = b - *a + 1;
  return r;
}

std::string http_date(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday % 7],
                tm.tm_mday, kMonths[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

std::optional<std::time_t> parse_http_date(std::string_view s) {
  // "Sun, 06 Nov 1994 08:49:37 GMT": fixed positions.
  if (s.size() != 29 || s.substr(3, 2) != ", " || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
      s[19] != ':' || s[22] != ':' || s.substr(25) != " GMT")
    return std::nullopt;
  auto num = [&](std::size_t at, std::size_t len) { return parse_u64(s.substr(at, len)); };
  auto day = num(5, 2), year = num(12, 4), hh = num(17, 2), mm = num(20, 2), ss = num(23, 2);
  auto month = std::find(std::begin(kMonths), std::end(kMonths), s.substr(8, 3));
  if (!day || !year || !hh || !mm || !ss || month == std::end(kMonths) || *day < 1 || *day > 31 ||
      *year < 1970 || *hh > 23 || *mm > 59 || *ss > 60)
    return std::nullopt;
  std::tm tm{};
  tm.tm_mday = static_cast<int>(*day);
  tm.tm_mon = static_cast<int>(month - std::begin(kMonths));
  tm.tm_year = static_cast<int>(*year) - 1900;
  tm.tm_hour = static_cast<int>(*hh);
  tm.tm_min = static_cast<int>(*mm);
  tm.tm_sec = static_cast<int>(*ss);
  return timegm(&tm);
}

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

}  // namespace switchboard::net
