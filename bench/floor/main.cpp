// switchboard-bench-floor: the kernel floor under a delivery — the CPU one small
// write to a loopback TCP socket costs on this machine, with nothing of ours
// around it (docs/performance.md, "Kernel floor").
//
// K connected loopback TCP pairs; the writer thread sends `size`-byte messages
// round-robin over the K sockets, one send() each (or `batch` messages per
// send(), as a flush pass of ours writes a batch frame); a reader thread drains
// every peer with epoll, as the clients would. Reported per repetition: the
// writer thread's own CPU time (CLOCK_THREAD_CPUTIME_ID: user + kernel,
// including the wake-ups it causes) per send() and per message. The reader's
// CPU is the clients' and is not counted.
//
//   switchboard-bench-floor [--sockets K] [--size BYTES] [--batch N] [--sends N] [--reps N]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Options {
  size_t sockets = 1000;
  size_t size = 64;
  size_t batch = 1;
  size_t sends = 200000;
  int reps = 3;
};

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "switchboard-bench-floor: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

size_t number(const char* flag, const char* text) {
  char* end = nullptr;
  unsigned long long v = std::strtoull(text, &end, 10);
  if (end == text || *end != '\0' || v == 0) {
    std::fprintf(stderr, "switchboard-bench-floor: %s wants a positive integer, got '%s'\n", flag,
                 text);
    std::exit(2);
  }
  return static_cast<size_t>(v);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::printf(
          "usage: switchboard-bench-floor [--sockets K] [--size BYTES] [--batch N] [--sends N] "
          "[--reps N]\n"
          "CPU per send() of BYTES*N bytes to K loopback TCP sockets, round-robin.\n");
      std::exit(0);
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "switchboard-bench-floor: %s needs a value\n", a.c_str());
      std::exit(2);
    }
    const char* v = argv[++i];
    if (a == "--sockets") o.sockets = number("--sockets", v);
    else if (a == "--size") o.size = number("--size", v);
    else if (a == "--batch") o.batch = number("--batch", v);
    else if (a == "--sends") o.sends = number("--sends", v);
    else if (a == "--reps") o.reps = static_cast<int>(number("--reps", v));
    else {
      std::fprintf(stderr, "switchboard-bench-floor: unknown option %s\n", a.c_str());
      std::exit(2);
    }
  }
  return o;
}

double thread_cpu_us() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

double wall_us() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

// K connected pairs: writers[i] → readers[i].
void connect_pairs(size_t k, std::vector<int>& writers, std::vector<int>& readers) {
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  if (lfd < 0) die("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) die("bind");
  if (listen(lfd, 4096) != 0) die("listen");
  socklen_t len = sizeof addr;
  getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len);
  for (size_t i = 0; i < k; ++i) {
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (c < 0) die("socket (raise the open-files limit for this many --sockets)");
    if (connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) die("connect");
    int one = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // as the server sets it
    int a = accept(lfd, nullptr, nullptr);
    if (a < 0) die("accept");
    writers.push_back(c);
    readers.push_back(a);
  }
  close(lfd);
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  std::vector<int> writers, readers;
  connect_pairs(o.sockets, writers, readers);

  int ep = epoll_create1(0);
  if (ep < 0) die("epoll_create1");
  for (int fd : readers) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) die("epoll_ctl");
  }
  std::atomic<bool> done{false};
  std::thread reader([&] {
    std::vector<char> buf(1 << 16);
    epoll_event events[256];
    while (!done.load(std::memory_order_relaxed)) {
      int n = epoll_wait(ep, events, 256, 50);
      for (int i = 0; i < n; ++i)
        while (recv(events[i].data.fd, buf.data(), buf.size(), MSG_DONTWAIT) > 0) {
        }
    }
  });

  const std::string payload(o.size * o.batch, 'x');
  std::printf("sockets %zu, message %zu bytes, %zu message(s) per send(), %zu sends per run\n",
              o.sockets, o.size, o.batch, o.sends);
  std::printf("%-4s %18s %18s %16s\n", "run", "CPU us per send()", "CPU us per message",
              "wall us per send");
  for (int rep = 1; rep <= o.reps; ++rep) {
    const double cpu0 = thread_cpu_us(), wall0 = wall_us();
    size_t next = 0;
    for (size_t i = 0; i < o.sends; ++i) {
      int fd = writers[next];
      if (++next == writers.size()) next = 0;
      ssize_t w = send(fd, payload.data(), payload.size(), MSG_NOSIGNAL);
      if (w < 0 && errno != EAGAIN) die("send");
    }
    const double cpu = thread_cpu_us() - cpu0, wall = wall_us() - wall0;
    std::printf("%-4d %18.2f %18.3f %16.2f\n", rep, cpu / o.sends,
                cpu / static_cast<double>(o.sends * o.batch), wall / o.sends);
    std::fflush(stdout);
  }
  done = true;
  reader.join();
  for (int fd : writers) close(fd);
  for (int fd : readers) close(fd);
  close(ep);
  return 0;
}
