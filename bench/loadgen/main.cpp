// switchboard-bench — the load generator of bench/ (docs/performance.md).
//
// One invocation measures one server with one scenario and prints a table (and
// JSON with --json). Subscribers live in worker processes (each under the
// open-file cap, forked before any thread exists); the publisher runs in this
// process. Every message carries step, publisher, sequence and intended send
// time; workers check loss, duplicates and order and record latency.
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include "histogram.hpp"
#include "plan.hpp"
#include "publisher.hpp"

namespace json = boost::json;
using namespace switchboard::bench;

namespace {

[[noreturn]] void die(const std::string& msg) {
  std::cerr << "switchboard-bench: " << msg << "\n";
  std::exit(2);
}

struct Options {
  std::string proto = "switchboard";
  std::string scenario = "broadcast";
  Endpoint sub{"127.0.0.1", 0};
  Endpoint pub{"127.0.0.1", 0};
  size_t subs = 1000;
  std::vector<double> rates;  // offered deliveries per second, stepped
  double step_seconds = 3;
  size_t payload = 64;
  size_t workers = 0;
  size_t publishers = 1;
  size_t window = 200;
  std::vector<int> server_pids;
  std::string json_path;
  std::string label;
  double storm_rate = 50;  // publishes/s during the reconnect storm
  bool keep_going = false;
  bool expect_lossless = false;
  bool tls = false;
};

void usage() {
  std::cout <<
      R"(usage: switchboard-bench --proto P --url HOST:PORT [options]

  --proto P            switchboard | socketio | centrifugo | nats
  --url HOST:PORT      where subscribers connect
  --pub-url HOST:PORT  where the publisher connects (default: --url; another
                       server for the broker-hop scenario)
  --tls                every connection (subscribers and publisher) speaks TLS
                       (wss://); the server's certificate is NOT verified (this
                       measures the cost of encryption, not a secure client)
  --scenario S         broadcast  1 channel, every subscriber in it (S1, S5)
                       rooms      personal channel + 10-member group each; publishes
                                  alternate group / personal (S2)
                       user       publish to signed-in users, one each (S3)
                       socket     publish to connection ids (S3)
                       idle       connect only: bytes per connection, connects/s (S4)
                       storm      all clients drop and reconnect under traffic (S6)
  --subs N             subscriber connections (default 1000)
  --rates R,R,...      offered deliveries/s per step (k and M suffixes), stepped
                       until a step is not sustained: a message lost, duplicated
                       or reordered, less than 95% of the offered rate delivered
                       (counting until the last delivery), or the last delivery
                       more than 1 s after the last send (a growing backlog)
  --step-seconds S     publishing time per step (default 3)
  --payload BYTES      payload size (default 64, at least 34)
  --workers W          subscriber processes (default: one per 4000, at least 2)
  --publishers K       publishing connections (default 1, at most 16)
  --window N           connection attempts in flight per worker (default 200)
  --server-pid PID     a server process to sample for CPU and RSS (repeatable)
  --storm-rate R       publishes/s during the storm (default 50)
  --keep-going         run every rate step even after one fails
  --expect-lossless    exit 1 unless every message reached every recipient once and
                       in order (and, for storm, every client came back); no timing
                       is checked (the CI smoke test)
  --label NAME         name of this run in the output
  --json FILE          also write the results as JSON
)";
}

double parse_rate(const std::string& s) {
  double mult = 1;
  std::string num = s;
  if (!s.empty() && (s.back() == 'k' || s.back() == 'K')) mult = 1e3, num.pop_back();
  if (!s.empty() && (s.back() == 'm' || s.back() == 'M')) mult = 1e6, num.pop_back();
  return std::stod(num) * mult;
}

Endpoint parse_endpoint(const std::string& s) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos) die("expected HOST:PORT, got '" + s + "'");
  return Endpoint{s.substr(0, colon), static_cast<uint16_t>(std::stoi(s.substr(colon + 1)))};
}

Options parse(int argc, char** argv) {
  Options o;
  bool pub_set = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      usage();
      std::exit(0);
    } else if (a == "--proto") o.proto = value();
    else if (a == "--url") o.sub = parse_endpoint(value());
    else if (a == "--pub-url") o.pub = parse_endpoint(value()), pub_set = true;
    else if (a == "--scenario") o.scenario = value();
    else if (a == "--subs") o.subs = std::stoul(value());
    else if (a == "--rates") {
      std::stringstream ss(value());
      for (std::string r; std::getline(ss, r, ',');) o.rates.push_back(parse_rate(r));
    } else if (a == "--step-seconds") o.step_seconds = std::stod(value());
    else if (a == "--payload") o.payload = std::stoul(value());
    else if (a == "--workers") o.workers = std::stoul(value());
    else if (a == "--publishers") o.publishers = std::stoul(value());
    else if (a == "--window") o.window = std::stoul(value());
    else if (a == "--server-pid") o.server_pids.push_back(std::stoi(value()));
    else if (a == "--storm-rate") o.storm_rate = parse_rate(value());
    else if (a == "--tls") o.tls = true;
    else if (a == "--keep-going") o.keep_going = true;
    else if (a == "--expect-lossless") o.expect_lossless = true;
    else if (a == "--label") o.label = value();
    else if (a == "--json") o.json_path = value();
    else die("unknown option " + a + " (--help lists them)");
  }
  if (o.sub.port == 0) die("--url HOST:PORT is required");
  if (!pub_set) o.pub = o.sub;
  o.sub.tls = o.pub.tls = o.tls;
  if (o.payload < kMarkerBytes) die("--payload must be at least " + std::to_string(kMarkerBytes));
  if (o.subs == 0) die("--subs must be at least 1");
  if (o.workers == 0) o.workers = std::max<size_t>(2, (o.subs + 3999) / 4000);
  o.workers = std::min(o.workers, o.subs);
  if (o.label.empty()) o.label = o.proto;
  return o;
}

// ---- server sampling ------------------------------------------------------

struct Sample {
  double cpu_us = 0;   // utime + stime of every sampled process
  double rss = 0;      // bytes
  uint64_t wall_us = 0;
};

Sample sample(const std::vector<int>& pids) {
  Sample s;
  s.wall_us = now_us();
  static const double tick_us = 1e6 / static_cast<double>(sysconf(_SC_CLK_TCK));
  static const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  for (int pid : pids) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string all((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    auto close = all.rfind(')');
    if (close == std::string::npos) die("server process " + std::to_string(pid) + " is gone");
    std::istringstream fields(all.substr(close + 2));
    std::string f;
    for (int i = 0; i < 11; ++i) fields >> f;  // state .. cmajflt
    double utime = 0, stime = 0;
    fields >> utime >> stime;
    s.cpu_us += (utime + stime) * tick_us;
    std::ifstream statm("/proc/" + std::to_string(pid) + "/statm");
    double size = 0, resident = 0;
    statm >> size >> resident;
    s.rss += resident * page;
  }
  return s;
}

// ---- workers ---------------------------------------------------------------

struct WorkerHandle {
  pid_t pid;
  int fd;
  FILE* in;
  [[noreturn]] void gone() const {
    int st = 0;
    std::string how = "still running";
    if (waitpid(pid, &st, WNOHANG) == pid)
      how = WIFSIGNALED(st) ? "killed by signal " + std::to_string(WTERMSIG(st))
                            : "exit status " + std::to_string(WEXITSTATUS(st));
    die("worker process " + std::to_string(pid) + " is gone (" + how + ")");
  }
  void send(const std::string& cmd) const {
    std::string line = cmd + "\n";
    if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) gone();
  }
  std::string reply() const {
    char* buf = nullptr;
    size_t cap = 0;
    ssize_t n = getline(&buf, &cap, in);
    if (n <= 0) gone();
    std::string line(buf, static_cast<size_t>(n));
    free(buf);
    if (!line.empty() && line.back() == '\n') line.pop_back();
    return line;
  }
};

// key=value fields of a worker reply.
std::map<std::string, std::string> fields(const std::string& line) {
  std::map<std::string, std::string> out;
  std::istringstream in(line);
  std::string word;
  in >> word;  // the verb
  while (in >> word) {
    auto eq = word.find('=');
    if (eq != std::string::npos) out[word.substr(0, eq)] = word.substr(eq + 1);
  }
  return out;
}

uint64_t num(const std::map<std::string, std::string>& f, const std::string& k) {
  auto it = f.find(k);
  return it == f.end() || it->second.empty() ? 0 : std::stoull(it->second);
}

std::vector<WorkerHandle> spawn_workers(const Options& o, Setup setup) {
  std::vector<WorkerHandle> out;
  size_t per = (o.subs + o.workers - 1) / o.workers;
  for (size_t w = 0, first = 0; first < o.subs; ++w, first += per) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) die("socketpair failed");
    WorkerPlan plan{o.proto, o.sub.host, o.sub.port, o.tls, setup, first,
                    std::min(per, o.subs - first), o.window};
    std::cout.flush();
    pid_t pid = fork();
    if (pid < 0) die("fork failed");
    if (pid == 0) {
      ::close(sv[0]);
      for (auto& h : out) ::close(h.fd), fclose(h.in);
      _exit(run_worker(plan, sv[1]));
    }
    ::close(sv[1]);
    out.push_back(WorkerHandle{pid, sv[0], fdopen(dup(sv[0]), "r")});
  }
  return out;
}

void stop_workers(std::vector<WorkerHandle>& ws) {
  for (auto& w : ws) {
    const char quit[] = "quit\n";
    (void)!::write(w.fd, quit, sizeof quit - 1);  // a worker that is already gone is fine
  }
  for (auto& w : ws) {
    waitpid(w.pid, nullptr, 0);
    fclose(w.in);
    ::close(w.fd);
  }
}

struct Opened {
  size_t ok = 0, failed = 0;
  uint64_t first = UINT64_MAX, last = 0;
  std::vector<std::string> ids;  // by subscriber index
};

// Opens `n` more connections spread over the workers (as each worker's share).
Opened open_connections(std::vector<WorkerHandle>& ws, size_t per_worker_n) {
  for (auto& w : ws) w.send("open " + std::to_string(per_worker_n));
  Opened r;
  for (auto& w : ws) {
    auto line = w.reply();
    auto f = fields(line);
    r.ok += num(f, "ok");
    r.failed += num(f, "failed");
    r.first = std::min(r.first, num(f, "first"));
    r.last = std::max(r.last, num(f, "last"));
    std::stringstream ids(f["ids"] + ",");
    for (std::string id; std::getline(ids, id, ',');) r.ids.push_back(id);
  }
  return r;
}

// ---- output ----------------------------------------------------------------

double ms(uint64_t us) { return static_cast<double>(us) / 1000.0; }

// How long after the last send the last delivery of a sustained step may come.
constexpr double kDrainBudget = 1.0;

std::string human(double v) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(v >= 100 ? 0 : v >= 10 ? 1 : 2);
  if (v >= 1e6) s << std::setprecision(2) << v / 1e6 << "M";
  else if (v >= 1e4) s << std::setprecision(1) << v / 1e3 << "k";
  else s << v;
  return s.str();
}

void write_json(const Options& o, const json::object& doc) {
  std::cout << "RESULT " << json::serialize(doc) << "\n";
  if (o.json_path.empty()) return;
  std::ofstream out(o.json_path, std::ios::app);
  out << json::serialize(doc) << "\n";
}

json::object header(const Options& o) {
  json::object doc;
  doc["label"] = o.label;
  doc["proto"] = o.proto;
  doc["scenario"] = o.scenario;
  doc["subs"] = o.subs;
  doc["payload"] = o.payload;
  doc["publishers"] = o.publishers;
  doc["tls"] = o.tls;
  return doc;
}

// ---- scenarios ---------------------------------------------------------------

// What a message of the stepped scenarios goes to, and how many receive it.
struct Routing {
  std::function<Destination(uint64_t)> destination;
  std::function<uint64_t(uint64_t)> fanout;
  double mean_fanout;
};

Routing routing_for(const Options& o, const Opened& opened) {
  size_t n = o.subs;
  if (o.scenario == "broadcast")
    return {[](uint64_t) { return Destination{Target::channel, "room"}; },
            [n](uint64_t) { return n; }, static_cast<double>(n)};
  if (o.scenario == "rooms") {
    size_t groups = (n + kGroupSize - 1) / kGroupSize;
    auto group_size = [n](size_t g) { return std::min(kGroupSize, n - g * kGroupSize); };
    double mean = (static_cast<double>(n) / static_cast<double>(groups) + 1.0) / 2.0;
    return {[n, groups](uint64_t k) {
              return k % 2 == 0 ? Destination{Target::channel, group_channel((k / 2) % groups)}
                                : Destination{Target::channel, personal_channel((k / 2) % n)};
            },
            [n, groups, group_size](uint64_t k) -> uint64_t {
              return k % 2 == 0 ? group_size((k / 2) % groups) : 1;
            },
            mean};
  }
  if (o.scenario == "user")
    return {[n](uint64_t k) { return Destination{Target::user, user_name(k % n)}; },
            [](uint64_t) { return 1; }, 1.0};
  // socket
  auto ids = std::make_shared<std::vector<std::string>>(opened.ids);
  return {[ids](uint64_t k) { return Destination{Target::socket, (*ids)[k % ids->size()]}; },
          [](uint64_t) { return 1; }, 1.0};
}

int run_steps(const Options& o, Setup setup) {
  auto proto = make_protocol(o.proto);
  Target t = o.scenario == "user" ? Target::user
             : o.scenario == "socket" ? Target::socket : Target::channel;
  if (!proto->supports(t)) die(o.proto + " cannot publish to a " + o.scenario);
  if (o.rates.empty()) die("--rates is required for " + o.scenario);
  auto ws = spawn_workers(o, setup);
  auto opened = open_connections(ws, o.subs);
  std::cout << "# " << o.label << " " << o.scenario << ": " << opened.ok << " of " << o.subs
            << " subscribers ready in " << human(ms(opened.last - opened.first)) << " ms\n";
  if (opened.failed) die(std::to_string(opened.failed) + " subscribers failed to connect");
  Routing routing = routing_for(o, opened);
  Publisher pub(*proto, o.pub, o.publishers);
  pub.connect();

  std::cout << std::left << std::setw(10) << "offered/s" << std::setw(12) << "delivered/s"
            << std::setw(8) << "lost" << std::setw(8) << "dup/ord" << std::setw(8) << "p50ms"
            << std::setw(8) << "p99ms" << std::setw(9) << "p99.9ms" << std::setw(9) << "maxms"
            << std::setw(10) << "last-p99" << std::setw(8) << "cpu%" << std::setw(10)
            << "cpu-us/d" << std::setw(8) << "per-msg" << "rssMB\n";
  json::object doc = header(o);
  json::array rows;
  double best = 0;
  bool lossless = true;
  for (size_t k = 0; k < o.rates.size(); ++k) {
    auto step = static_cast<uint32_t>(k + 1);
    double pub_rate = o.rates[k] / routing.mean_fanout;
    auto count = static_cast<uint64_t>(std::max(1.0, pub_rate * o.step_seconds));
    uint64_t expected = 0;
    for (uint64_t m = 0; m < count; ++m) expected += routing.fanout(m);

    Sample s0 = sample(o.server_pids);
    uint64_t start = now_us();
    pub.start(step, pub_rate, count, o.payload, routing.destination).get();
    uint64_t sent_at = now_us();
    // Drain: wait until every expected delivery arrived, or nothing moved for 2 s.
    uint64_t have = 0, last_change = now_us();
    while (true) {
      uint64_t sum = 0;
      for (auto& w : ws) w.send("count " + std::to_string(step));
      for (auto& w : ws) {
        auto line = w.reply();
        if (!line.starts_with("count ")) die("unexpected worker reply: " + line.substr(0, 200));
        sum += std::stoull(line.substr(6));
      }
      if (sum != have) have = sum, last_change = now_us();
      if (sum >= expected || now_us() - last_change > 2'000'000) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    Sample s1 = sample(o.server_pids);

    Histogram hist, last;
    std::map<uint64_t, uint64_t> lastlat;
    uint64_t recv = 0, inorder = 0, ooo = 0, frames = 0, closed = 0, final_us = 0;
    for (auto& w : ws) w.send("report " + std::to_string(step));
    for (auto& w : ws) {
      auto line = w.reply();
      if (!line.starts_with("report ")) die("unexpected worker reply: " + line.substr(0, 200));
      auto f = fields(line);
      recv += num(f, "recv");
      inorder += num(f, "inorder");
      ooo += num(f, "ooo");
      frames += num(f, "frames");
      closed += num(f, "closed");
      final_us = std::max(final_us, num(f, "last"));
      hist.merge(Histogram::parse(f["hist"]));
      std::stringstream ls(f["lastlat"]);
      for (std::string item; std::getline(ls, item, ',');) {
        auto colon = item.find(':');
        uint64_t slot = std::stoull(item.substr(0, colon)), v = std::stoull(item.substr(colon + 1));
        auto& m = lastlat[slot];
        m = std::max(m, v);
      }
    }
    for (auto& [slot, v] : lastlat) last.record(v);
    uint64_t lost = expected > inorder ? expected - inorder : 0;
    double window_s = static_cast<double>(std::max(final_us, sent_at) - start) / 1e6;
    double delivered = static_cast<double>(inorder) / window_s;
    double cpu = s1.cpu_us - s0.cpu_us;
    double cpu_pct = o.server_pids.empty() ? 0 : 100.0 * cpu / static_cast<double>(s1.wall_us - s0.wall_us);
    double cpu_per = o.server_pids.empty() || inorder == 0 ? 0 : cpu / static_cast<double>(inorder);
    double per_frame = frames ? static_cast<double>(recv) / static_cast<double>(frames) : 0;
    // Kept up: everything arrived once and in order, the publisher held its
    // schedule, at least 95 % of the offered rate was delivered over the step
    // (until the last delivery), and the last delivery came at most
    // kDrainBudget after the last send (a server that falls behind builds a
    // backlog that takes longer).
    double publish_s = static_cast<double>(sent_at - start) / 1e6;
    double drain_s = final_us > sent_at ? static_cast<double>(final_us - sent_at) / 1e6 : 0;
    bool sustained = lost == 0 && ooo == 0 && delivered >= 0.95 * o.rates[k] &&
                     drain_s <= kDrainBudget && publish_s <= o.step_seconds * 1.1 + 0.1;
    if (sustained) best = std::max(best, static_cast<double>(inorder) / publish_s);
    if (lost || ooo || recv != expected) lossless = false;

    std::cout << std::left << std::setw(10) << human(o.rates[k]) << std::setw(12)
              << human(delivered) << std::setw(8) << lost << std::setw(8) << ooo << std::setw(8)
              << human(ms(hist.percentile(0.5))) << std::setw(8)
              << human(ms(hist.percentile(0.99))) << std::setw(9)
              << human(ms(hist.percentile(0.999))) << std::setw(9) << human(ms(hist.max()))
              << std::setw(10) << human(ms(last.percentile(0.99))) << std::setw(8)
              << human(cpu_pct) << std::setw(10) << human(cpu_per) << std::setw(8) << human(per_frame)
              << human(s1.rss / 1048576.0)
              << (sustained ? "" : "   <- not sustained") << std::endl;
    json::object row;
    row["offered"] = o.rates[k];
    row["delivered_per_s"] = delivered;
    row["published"] = count;
    row["expected"] = expected;
    row["received"] = recv;
    row["in_order"] = inorder;
    row["lost"] = lost;
    row["dup_or_reordered"] = ooo;
    row["closed"] = closed;
    row["deliveries_per_frame"] = per_frame;
    row["p50_ms"] = ms(hist.percentile(0.5));
    row["p99_ms"] = ms(hist.percentile(0.99));
    row["p999_ms"] = ms(hist.percentile(0.999));
    row["max_ms"] = ms(hist.max());
    row["last_p50_ms"] = ms(last.percentile(0.5));
    row["last_p99_ms"] = ms(last.percentile(0.99));
    row["cpu_pct"] = cpu_pct;
    row["cpu_us_per_delivery"] = cpu_per;
    row["rss_bytes"] = s1.rss;
    row["drain_s"] = drain_s;
    row["sustained"] = sustained;
    rows.push_back(std::move(row));
    if (!sustained && !o.keep_going) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  doc["steps"] = std::move(rows);
  doc["max_sustained_per_s"] = best;
  std::cout << "# max sustained (no loss, no reorder, >= 95% delivered, drained within 1 s): "
            << human(best)
            << " deliveries/s\n";
  write_json(o, doc);
  stop_workers(ws);
  if (o.expect_lossless && !lossless) {
    std::cerr << "switchboard-bench: messages were lost, duplicated or reordered\n";
    return 1;
  }
  return 0;
}

int run_idle(const Options& o) {
  auto ws = spawn_workers(o, Setup::none);
  size_t per = (o.subs + ws.size() - 1) / ws.size();
  size_t warm = std::max<size_t>(1, per / 10);
  auto first = open_connections(ws, warm);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  Sample before = sample(o.server_pids);
  auto rest = open_connections(ws, per - warm);
  Sample during = sample(o.server_pids);
  std::this_thread::sleep_for(std::chrono::seconds(3));
  Sample after = sample(o.server_pids);
  size_t failed = first.failed + rest.failed;
  double secs = static_cast<double>(rest.last - rest.first) / 1e6;
  double rate = static_cast<double>(rest.ok) / std::max(secs, 1e-6);
  double bytes = rest.ok ? (after.rss - before.rss) / static_cast<double>(rest.ok) : 0;
  double cpu_per_connect = rest.ok ? (during.cpu_us - before.cpu_us) / static_cast<double>(rest.ok) : 0;
  std::cout << "# " << o.label << " idle: " << first.ok + rest.ok << " connections open, "
            << failed << " failed\n"
            << "connects/s " << human(rate) << "   server CPU per connect " << human(cpu_per_connect)
            << " us   RSS " << human(before.rss / 1048576.0) << " -> "
            << human(after.rss / 1048576.0) << " MB   bytes per idle connection "
            << human(bytes) << std::endl;
  json::object doc = header(o);
  doc["connections"] = first.ok + rest.ok;
  doc["failed"] = failed;
  doc["connects_per_s"] = rate;
  doc["cpu_us_per_connect"] = cpu_per_connect;
  doc["rss_before"] = before.rss;
  doc["rss_after"] = after.rss;
  doc["bytes_per_connection"] = bytes;
  write_json(o, doc);
  stop_workers(ws);
  return failed ? 1 : 0;
}

int run_storm(const Options& o) {
  auto proto = make_protocol(o.proto);
  auto ws = spawn_workers(o, Setup::room);
  auto opened = open_connections(ws, o.subs);
  if (opened.failed) die(std::to_string(opened.failed) + " subscribers failed to connect");
  Publisher pub(*proto, o.pub, o.publishers);
  pub.connect();
  auto done = pub.start(1, o.storm_rate, static_cast<uint64_t>(o.storm_rate * 600), o.payload,
                        [](uint64_t) { return Destination{Target::channel, "room"}; });
  std::this_thread::sleep_for(std::chrono::seconds(2));
  for (auto& w : ws) w.send("storm");
  for (auto& w : ws) w.reply();
  uint64_t t0 = now_us();
  std::vector<uint64_t> times;
  size_t ready = 0, failed = 0;
  while (true) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    times.clear();
    ready = failed = 0;
    for (auto& w : ws) w.send("stormreport");
    for (auto& w : ws) {
      auto f = fields(w.reply());
      ready += num(f, "ready");
      failed += num(f, "failed");
      std::stringstream ts(f["times"]);
      for (std::string t; std::getline(ts, t, ',');) times.push_back(std::stoull(t));
    }
    if (times.size() >= o.subs || now_us() - t0 > 60'000'000) break;
  }
  pub.stop();
  done.get();
  std::sort(times.begin(), times.end());
  auto at = [&](double p) -> double {
    auto need = static_cast<size_t>(std::ceil(p * static_cast<double>(o.subs)));
    if (need == 0 || need > times.size()) return -1;
    return ms(times[need - 1]);
  };
  std::cout << "# " << o.label << " storm: " << o.subs << " clients dropped at once; "
            << ready << " reconnected, " << failed << " failed attempts (retried)\n"
            << "time until 50% receive again " << human(at(0.5)) << " ms, 99% " << human(at(0.99))
            << " ms, 100% " << human(at(1.0)) << " ms" << std::endl;
  json::object doc = header(o);
  doc["reconnected"] = ready;
  doc["failed"] = failed;
  doc["receiving"] = times.size();
  doc["t50_ms"] = at(0.5);
  doc["t99_ms"] = at(0.99);
  doc["t100_ms"] = at(1.0);
  write_json(o, doc);
  stop_workers(ws);
  if (o.expect_lossless) return times.size() == o.subs ? 0 : 1;
  return times.size() * 100 >= o.subs * 99 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  Options o = parse(argc, argv);
  try {
    if (o.scenario == "broadcast") return run_steps(o, Setup::room);
    if (o.scenario == "rooms") return run_steps(o, Setup::rooms);
    if (o.scenario == "user") return run_steps(o, Setup::user);
    if (o.scenario == "socket") return run_steps(o, Setup::none);
    if (o.scenario == "idle") return run_idle(o);
    if (o.scenario == "storm") return run_storm(o);
    die("unknown scenario '" + o.scenario + "' (--help lists them)");
  } catch (const std::exception& e) {
    die(e.what());
  }
}
