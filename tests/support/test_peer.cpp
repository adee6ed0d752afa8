// rag-test-peer: a small HTTP service for integration tests, built on rag's own
// CaptureServer so it sees every request exactly as it arrived on the wire.
//
//   rag-test-peer MODE [--port 0] [--out FILE] [--status N] [--body TEXT]
//                 [--header NAME:VALUE]... [--fail-times N] [--hold-file PATH]
//
// Modes:
//   sink  answer --status with --body
//   echo  answer --status with the request's body (and its Content-Type)
//   fail  answer 500 to the first --fail-times requests, then like sink
//   hold  answer like sink, but only once the file --hold-file exists (so a test
//         can prove that a held target delays nothing else, without timing)
// Every mode appends one JSON line per request to --out (when given):
//   {"n":1,"method":..,"target":..,"headers":[[name,value],..],"body_b64":..,
//    "body_sha256":..}
// "listening on http://127.0.0.1:PORT" goes to stdout (flushed) once bound.
// SIGTERM/SIGINT stop it with exit code 0.

#include "core/http_request.hpp"
#include "net/capture_server.hpp"
#include "util/bytes.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <pthread.h>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

struct PeerOptions
{
  std::string mode;
  int port = 0;
  std::string out;
  int status = 200;
  std::string body = "ok";
  std::vector<std::pair<std::string, std::string>> headers;
  long fail_times = 0;
  std::string hold_file;
};

[[noreturn]] void
usage(const std::string& problem)
{
  std::fprintf(stderr,
               "rag-test-peer: %s\n"
               "usage: rag-test-peer sink|echo|fail|hold [--port N] [--out FILE] [--status N]\n"
               "                     [--body TEXT] [--header NAME:VALUE]... [--fail-times N]\n"
               "                     [--hold-file PATH]\n",
               problem.c_str());
  std::exit(2);
}

long
to_number(const std::string& text, const std::string& flag)
{
  char* end = nullptr;
  errno = 0;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0 || value < 0) {
    usage(flag + " needs a non-negative number, got '" + text + "'");
  }
  return value;
}

PeerOptions
parse_options(int argc, char** argv)
{
  if (argc < 2) {
    usage("missing MODE");
  }
  PeerOptions options;
  options.mode = argv[1];
  if (options.mode != "sink" && options.mode != "echo" && options.mode != "fail" &&
      options.mode != "hold") {
    usage("unknown mode '" + options.mode + "'");
  }
  for (int i = 2; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) {
      usage(flag + " needs a value");
    }
    const std::string value = argv[++i];
    if (flag == "--port") {
      options.port = static_cast<int>(to_number(value, flag));
    } else if (flag == "--out") {
      options.out = value;
    } else if (flag == "--status") {
      options.status = static_cast<int>(to_number(value, flag));
    } else if (flag == "--body") {
      options.body = value;
    } else if (flag == "--header") {
      const std::size_t colon = value.find(':');
      if (colon == std::string::npos || colon == 0) {
        usage("--header needs NAME:VALUE");
      }
      std::size_t start = colon + 1;
      while (start < value.size() && value[start] == ' ') {
        ++start;
      }
      options.headers.emplace_back(value.substr(0, colon), value.substr(start));
    } else if (flag == "--fail-times") {
      options.fail_times = to_number(value, flag);
    } else if (flag == "--hold-file") {
      options.hold_file = value;
    } else {
      usage("unknown option '" + flag + "'");
    }
  }
  if (options.mode == "hold" && options.hold_file.empty()) {
    usage("hold mode needs --hold-file");
  }
  return options;
}

// Appends whole JSON lines, one write() each, so a reader never sees half a line.
class RequestLog
{
public:
  explicit RequestLog(const std::string& path)
  {
    if (!path.empty()) {
      m_fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
      if (m_fd < 0) {
        std::fprintf(stderr, "rag-test-peer: cannot open %s: %s\n", path.c_str(),
                     std::strerror(errno));
        std::exit(1);
      }
    }
  }
  ~RequestLog()
  {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
  }
  RequestLog(const RequestLog&) = delete;
  RequestLog& operator=(const RequestLog&) = delete;

  void append(long n, const rag::core::HttpRequest& request)
  {
    if (m_fd < 0) {
      return;
    }
    nlohmann::ordered_json headers = nlohmann::ordered_json::array();
    for (const auto& [name, value] : request.headers) {
      headers.push_back(nlohmann::ordered_json::array({name, value}));
    }
    nlohmann::ordered_json line = {{"n", n},
                                   {"method", request.method},
                                   {"target", request.target},
                                   {"headers", std::move(headers)},
                                   {"body_b64", rag::util::base64_encode(request.body)},
                                   {"body_sha256", rag::util::sha256_hex(request.body)}};
    // Header bytes that are not UTF-8 are shown as U+FFFD; the body is exact (base64).
    std::string text =
        line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
    std::lock_guard lock(m_mutex);
    const char* data = text.data();
    std::size_t left = text.size();
    while (left > 0) {
      const ssize_t written = ::write(m_fd, data, left);
      if (written < 0 && errno == EINTR) {
        continue;
      }
      if (written <= 0) {
        return;
      }
      data += written;
      left -= static_cast<std::size_t>(written);
    }
  }

private:
  int m_fd = -1;
  std::mutex m_mutex;
};

bool
file_exists(const std::string& path)
{
  return ::access(path.c_str(), F_OK) == 0;
}

} // namespace

int
main(int argc, char** argv)
{
  const PeerOptions options = parse_options(argc, argv);
  RequestLog log(options.out);

  rag::net::ServerOptions server_options;
  server_options.host = "127.0.0.1";
  server_options.port = options.port;
  auto bound = rag::net::CaptureServer::bind(server_options);
  if (!bound) {
    std::fprintf(stderr, "rag-test-peer: %s\n", bound.error().message.c_str());
    return 1;
  }
  rag::net::CaptureServer& server = **bound;

  // Only the signal thread receives SIGINT/SIGTERM (every later thread inherits the mask).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::atomic<bool> stopping{false};
  std::thread([&signals, &server, &stopping] {
    int signal = 0;
    sigwait(&signals, &signal);
    stopping = true;
    server.stop();
  }).detach();

  std::atomic<long> count{0};
  auto handler = [&](rag::core::HttpRequest&& request,
                     const rag::net::Peer&) -> rag::net::HttpResponse {
    const long n = count.fetch_add(1) + 1;
    log.append(n, request);

    rag::net::HttpResponse response;
    response.status = options.status;
    response.body = options.body;
    for (const auto& header : options.headers) {
      response.headers.push_back(header);
    }
    if (options.mode == "echo") {
      response.body = std::move(request.body);
      for (const auto& [name, value] : request.headers) {
        if (name.size() == 12 && strncasecmp(name.c_str(), "content-type", 12) == 0) {
          response.headers.emplace_back("Content-Type", value);
        }
      }
    } else if (options.mode == "fail" && n <= options.fail_times) {
      response.status = 500;
      response.body = "failing on purpose";
    } else if (options.mode == "hold") {
      // Polling keeps this simple; the test decides when, not how fast.
      while (!file_exists(options.hold_file) && !stopping.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
    return response;
  };

  std::printf("listening on %s\n", server.url().c_str());
  std::fflush(stdout);
  server.serve(handler);
  return 0;
}
