// rag-relay-load: end-to-end latency and loss of webhooks, for tests/bench/relay_bench.sh
// (a benchmark tool, not a test).
//
//   rag-relay-load
//
// Starts an HTTP sink on 127.0.0.1 port 0 (keep-alive HTTP/1.1, answers every request 200
// and notes the CLOCK_MONOTONIC time each event arrives, keyed by its X-Bench-Seq header),
// prints "SINK http://127.0.0.1:PORT/sink", then runs commands read from stdin, one a line,
// and answers each with one "RESULT key=value ..." line on stdout. URL is http://IPv4:PORT/PATH.
//
//   seq N URL [URL2]        N POSTs one at a time on one connection per URL, alternating
//                           between the URLs (so a busy machine disturbs both alike); each
//                           waits (up to 5 s) for its event to reach the sink.
//                           latency = arrival - send start; URL2's fields are prefixed b_
//   rate R SECONDS C URL    R POSTs a second for SECONDS over C keep-alive connections, each
//                           sent at its scheduled time (or as soon as a connection is free),
//                           then up to 10 s for stragglers. latency = arrival - scheduled
//                           send time, so a sender that falls behind shows up as latency
//   send N URL              N POSTs one at a time, not waiting for the sink
//   wait FIRST N SECONDS    waits up to SECONDS until events FIRST..FIRST+N-1 reached the sink
//   quit
//
// Every POST carries a 2048-byte JSON body holding its sequence number too.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <iostream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr std::size_t k_body_bytes = 2048;

std::int64_t
now_ns()
{
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void
sleep_until_ns(std::int64_t when)
{
  timespec ts{static_cast<time_t>(when / 1'000'000'000), static_cast<long>(when % 1'000'000'000)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

bool
write_all(int fd, const std::string& data)
{
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// Appends what fd has next to buf; false on EOF or error.
bool
receive_more(int fd, std::string& buf)
{
  char chunk[16384];
  ssize_t n;
  while ((n = ::recv(fd, chunk, sizeof chunk, 0)) < 0 && errno == EINTR) {
  }
  buf.append(chunk, static_cast<std::size_t>(std::max<ssize_t>(n, 0)));
  return n > 0;
}

// Reads one HTTP message (head and Content-Length body) from fd through buf, which keeps
// any bytes of the next one; sets head, lower-cased. False on EOF, error or chunked coding.
bool
read_message(int fd, std::string& buf, std::string& head)
{
  std::size_t end;
  while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
    if (!receive_more(fd, buf)) {
      return false;
    }
  }
  head = buf.substr(0, end + 2);
  std::transform(head.begin(), head.end(), head.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (head.find("\r\ntransfer-encoding:") != std::string::npos) {
    std::fprintf(stderr, "rag-relay-load: chunked messages are not supported\n");
    return false;
  }
  const auto at = head.find("\r\ncontent-length:");
  const std::size_t size =
      end + 4 + (at == std::string::npos ? 0 : std::stoul(head.substr(at + 17)));
  while (buf.size() < size) {
    if (!receive_more(fd, buf)) {
      return false;
    }
  }
  buf.erase(0, size);
  return true;
}

// The sink's record of arrivals, indexed by sequence number.
struct Sink
{
  std::mutex mutex;
  std::condition_variable arrived;
  std::vector<std::int64_t> arrival_ns; // 0: not arrived
  std::vector<std::uint64_t> rank;      // order of first arrival
  std::vector<std::uint32_t> count;
  std::uint64_t next_rank = 1;
  std::uint64_t next_seq = 0;

  // Reserves n fresh sequence numbers and returns the first.
  std::uint64_t allocate(std::uint64_t n)
  {
    std::lock_guard lock(mutex);
    const std::uint64_t first = next_seq;
    next_seq += n;
    arrival_ns.resize(next_seq, 0);
    rank.resize(next_seq, 0);
    count.resize(next_seq, 0);
    return first;
  }

  void record(std::uint64_t seq, std::int64_t at)
  {
    std::lock_guard lock(mutex);
    if (seq >= count.size()) {
      return; // not one of ours
    }
    if (count[seq]++ == 0) {
      arrival_ns[seq] = at;
      rank[seq] = next_rank++;
    }
    arrived.notify_all();
  }
};

Sink g_sink;

void
serve_connection(int fd)
{
  std::string buf;
  std::string head;
  while (read_message(fd, buf, head)) {
    const std::int64_t at = now_ns();
    if (const auto pos = head.find("\r\nx-bench-seq:"); pos != std::string::npos) {
      g_sink.record(std::stoull(head.substr(pos + 14)), at);
    }
    if (!write_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")) {
      break;
    }
  }
  ::close(fd);
}

struct Url
{
  sockaddr_in address{};
  std::string host_port;
  std::string path;
};

bool
parse_url(const std::string& text, Url& url)
{
  if (text.rfind("http://", 0) != 0) {
    return false;
  }
  const std::size_t slash = text.find('/', 7);
  url.host_port = text.substr(7, slash == std::string::npos ? std::string::npos : slash - 7);
  url.path = slash == std::string::npos ? "/" : text.substr(slash);
  const std::size_t colon = url.host_port.rfind(':');
  if (colon == std::string::npos) {
    return false;
  }
  char* end = nullptr;
  const unsigned long port = std::strtoul(url.host_port.c_str() + colon + 1, &end, 10);
  url.address.sin_family = AF_INET;
  url.address.sin_port = htons(static_cast<std::uint16_t>(port));
  return *end == '\0' && port > 0 && port < 65536 &&
         inet_pton(AF_INET, url.host_port.substr(0, colon).c_str(), &url.address.sin_addr) == 1;
}

// One keep-alive client connection.
class Client
{
public:
  explicit Client(const Url& url) : m_url(url) {}
  ~Client() { close(); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // POSTs event seq; returns the response status, or -1 when the connection failed.
  int post(std::uint64_t seq)
  {
    for (;;) {
      const bool fresh = m_fd < 0;
      if (fresh && !open()) {
        return -1;
      }
      std::string head;
      if (write_all(m_fd, request(seq)) && read_message(m_fd, m_buf, head)) {
        return std::atoi(head.c_str() + 9); // "http/1.1 NNN"
      }
      close();
      if (fresh) {
        return -1;
      }
      // A kept-alive connection the server had closed: one more try on a fresh one.
    }
  }

private:
  bool open()
  {
    m_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(m_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(m_fd, reinterpret_cast<const sockaddr*>(&m_url.address), sizeof m_url.address) !=
        0) {
      close();
      return false;
    }
    return true;
  }

  void close()
  {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
    m_fd = -1;
    m_buf.clear();
  }

  std::string request(std::uint64_t seq)
  {
    std::string body = "{\"type\":\"bench.event\",\"seq\":" + std::to_string(seq) + ",\"pad\":\"";
    body.append(k_body_bytes - body.size() - 2, 'x');
    body += "\"}";
    return "POST " + m_url.path + " HTTP/1.1\r\nHost: " + m_url.host_port +
           "\r\nContent-Type: application/json\r\nX-Bench-Seq: " + std::to_string(seq) +
           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  }

  const Url& m_url;
  int m_fd = -1;
  std::string m_buf;
};

// Nearest-rank percentile p (0-100) of sorted values, in microseconds.
double
percentile_us(const std::vector<std::int64_t>& sorted, double p)
{
  if (sorted.empty()) {
    return 0;
  }
  std::size_t rank =
      static_cast<std::size_t>(p / 100.0 * static_cast<double>(sorted.size()) + 0.999999);
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return static_cast<double>(sorted[rank - 1]) / 1000.0;
}

// Waits until events first..first+n-1 arrived or until deadline; returns how many arrived.
std::uint64_t
wait_arrivals(std::uint64_t first, std::uint64_t n, std::int64_t deadline_ns)
{
  std::unique_lock lock(g_sink.mutex);
  for (;;) {
    std::uint64_t got = 0;
    for (std::uint64_t s = first; s < first + n; ++s) {
      got += g_sink.count[s] > 0 ? 1 : 0;
    }
    const std::int64_t left = deadline_ns - now_ns();
    if (got == n || left <= 0) {
      return got;
    }
    g_sink.arrived.wait_for(lock,
                            std::chrono::nanoseconds(std::min<std::int64_t>(left, 50'000'000)));
  }
}

// Formats received/lost/dup/order and latency percentiles for events first..first+n-1,
// whose latency counts from start_ns[i], as key=value fields, each key starting with prefix.
std::string
summary(const char* prefix, std::uint64_t first, std::uint64_t n, std::uint64_t ok,
        const std::vector<std::int64_t>& start_ns)
{
  std::vector<std::int64_t> latency;
  std::uint64_t dup = 0;
  std::uint64_t received = 0;
  bool in_order = true;
  {
    std::lock_guard lock(g_sink.mutex);
    std::uint64_t last_rank = 0;
    for (std::uint64_t i = 0; i < n; ++i) {
      const std::uint64_t s = first + i;
      if (g_sink.count[s] == 0) {
        continue;
      }
      ++received;
      dup += g_sink.count[s] - 1;
      in_order = in_order && g_sink.rank[s] > last_rank;
      last_rank = g_sink.rank[s];
      if (!start_ns.empty()) {
        latency.push_back(g_sink.arrival_ns[s] - start_ns[i]);
      }
    }
  }
  std::sort(latency.begin(), latency.end());
  char out[400];
  std::snprintf(out, sizeof out,
                " %sfirst=%llu %ssent=%llu %sok=%llu %sreceived=%llu %slost=%llu %sdup=%llu "
                "%sin_order=%d %sp50_us=%.1f %sp99_us=%.1f %smax_us=%.1f",
                prefix, static_cast<unsigned long long>(first), prefix,
                static_cast<unsigned long long>(n), prefix, static_cast<unsigned long long>(ok),
                prefix, static_cast<unsigned long long>(received), prefix,
                static_cast<unsigned long long>(n - received), prefix,
                static_cast<unsigned long long>(dup), prefix, in_order ? 1 : 0, prefix,
                percentile_us(latency, 50), prefix, percentile_us(latency, 99), prefix,
                latency.empty() ? 0.0 : static_cast<double>(latency.back()) / 1000.0);
  return out;
}

void
print_result(const std::string& fields)
{
  std::printf("RESULT%s\n", fields.c_str());
  std::fflush(stdout);
}

// Sends n events one at a time to each of urls in turn (so that a busy machine disturbs
// every URL alike); with wait_each, each waits for its arrival at the sink before the next.
void
run_seq(const std::vector<Url>& urls, std::uint64_t n, bool wait_each)
{
  std::string fields = wait_each ? " mode=seq" : " mode=send";
  std::vector<std::uint64_t> first;
  std::vector<std::vector<std::int64_t>> start(urls.size(), std::vector<std::int64_t>(n));
  std::vector<std::uint64_t> ok(urls.size(), 0);
  std::vector<std::unique_ptr<Client>> clients;
  for (const Url& url : urls) {
    first.push_back(g_sink.allocate(n));
    clients.push_back(std::make_unique<Client>(url));
  }
  for (std::uint64_t i = 0; i < n; ++i) {
    for (std::size_t u = 0; u < urls.size(); ++u) {
      start[u][i] = now_ns();
      const int status = clients[u]->post(first[u] + i);
      ok[u] += status >= 200 && status < 300 ? 1 : 0;
      if (wait_each) {
        wait_arrivals(first[u] + i, 1, now_ns() + 5'000'000'000);
      }
    }
  }
  for (std::size_t u = 0; u < urls.size(); ++u) {
    fields += summary(u == 0 ? "" : "b_", first[u], n, ok[u],
                      wait_each ? start[u] : std::vector<std::int64_t>{});
  }
  print_result(fields);
}

void
run_rate(const Url& url, double rate, double seconds, int connections)
{
  const auto n = static_cast<std::uint64_t>(rate * seconds);
  const std::uint64_t first = g_sink.allocate(n);
  std::vector<std::int64_t> scheduled(n);
  std::atomic<std::uint64_t> next{0};
  std::atomic<std::uint64_t> ok{0};
  const std::int64_t t0 = now_ns() + 10'000'000;
  for (std::uint64_t i = 0; i < n; ++i) {
    scheduled[i] = t0 + static_cast<std::int64_t>(static_cast<double>(i) * 1e9 / rate);
  }
  std::vector<std::thread> threads;
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&] {
      Client client(url);
      for (std::uint64_t i; (i = next.fetch_add(1)) < n;) {
        sleep_until_ns(scheduled[i]);
        const int status = client.post(first + i);
        ok += status >= 200 && status < 300 ? 1 : 0;
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  const double send_s = static_cast<double>(now_ns() - t0) / 1e9;
  wait_arrivals(first, n, now_ns() + 10'000'000'000);
  char fields[160];
  std::snprintf(fields, sizeof fields, " mode=rate rate=%.0f seconds=%.1f conns=%d send_s=%.3f",
                rate, seconds, connections, send_s);
  print_result(fields + summary("", first, n, ok, scheduled));
}

} // namespace

int
main()
{
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listener, 512) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    std::perror("rag-relay-load: sink");
    return 1;
  }
  std::thread([listener] {
    for (;;) {
      const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) {
        const int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        std::thread(serve_connection, fd).detach();
      }
    }
  }).detach();
  std::printf("SINK http://127.0.0.1:%u/sink\n", ntohs(address.sin_port));
  std::fflush(stdout);

  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string command;
    in >> command;
    if (command == "quit") {
      break;
    }
    // The numbers, then the URLs (none for wait).
    const int count = command == "rate" ? 3 : command == "wait" ? 3 : 1;
    std::vector<double> number(3, 0);
    for (int i = 0; i < count; ++i) {
      in >> number[static_cast<std::size_t>(i)];
    }
    std::vector<Url> urls;
    bool valid = !in.fail();
    for (std::string word; valid && in >> word;) {
      urls.emplace_back();
      valid = parse_url(word, urls.back());
    }
    const auto n = static_cast<std::uint64_t>(number[0]);
    if (!valid) {
      // a malformed number or URL: answered with the error below
    } else if (command == "wait" && urls.empty() &&
               n + static_cast<std::uint64_t>(number[1]) <= g_sink.count.size()) {
      const auto events = static_cast<std::uint64_t>(number[1]);
      wait_arrivals(n, events, now_ns() + static_cast<std::int64_t>(number[2] * 1e9));
      print_result(" mode=wait" + summary("", n, events, events, {}));
      continue;
    } else if ((command == "seq" && !urls.empty() && urls.size() <= 2) ||
               (command == "send" && urls.size() == 1)) {
      run_seq(urls, n, command == "seq");
      continue;
    } else if (command == "rate" && urls.size() == 1 && number[0] > 0 && number[2] >= 1) {
      run_rate(urls[0], number[0], number[1], static_cast<int>(number[2]));
      continue;
    }
    print_result(" error=bad-command");
  }
  std::fflush(stdout);
  _exit(0); // sink threads are still blocked in accept/recv
}
