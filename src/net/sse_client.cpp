#include "net/sse_client.hpp"

// cpp-httplib's Client is used as it is here: the tunnel's requests to a relay are
// ordinary (no byte-exact forwarding), and its ContentReceiver hands over the event
// stream as it arrives (contributing.md, cpp-httplib: SSE client). Client::stop() from another
// thread aborts a request in flight.
#include <httplib.h>

#include "core/duration.hpp"
#include "core/event_view.hpp"
#include "core/forward_plan.hpp"

#include <fmt/core.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <mutex>

namespace rag::net {

namespace {

using SteadyClock = std::chrono::steady_clock;

// Bytes of a refusal's body kept for the message.
constexpr std::size_t k_max_error_body = 1024;

// A relay URL taken apart for httplib: "scheme://host:port" and "path?query".
struct SplitUrl
{
  std::string origin;
  std::string path;
};

Result<SplitUrl>
split_url(const std::string& url)
{
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    return usage_error(fmt::format("invalid URL '{}'", url), "use an http:// or https:// URL");
  }
  RAG_TRY_ASSIGN(const core::Target target, core::parse_target(url));
  SplitUrl split;
  const bool ipv6 = target.host.find(':') != std::string::npos;
  split.origin = fmt::format("{}://{}{}{}:{}", target.scheme, ipv6 ? "[" : "", target.host,
                             ipv6 ? "]" : "", target.port);
  split.path = target.path.empty() ? "/" : target.path;
  if (!target.query.empty()) {
    split.path += "?" + target.query;
  }
  return split;
}

// Return "scheme://host[:port]" of an absolute URL (everything before its path).
std::string
origin_of(const std::string& url)
{
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) {
    return url;
  }
  const std::size_t path_start = url.find_first_of("/?#", scheme_end + 3);
  return path_start == std::string::npos ? url : url.substr(0, path_start);
}

std::string
error_text(httplib::Error error, const std::string& origin, long verify_result)
{
  switch (error) {
  case httplib::Error::Connection: return fmt::format("cannot connect to {}", origin);
  case httplib::Error::ConnectionTimeout: return fmt::format("connect to {} timed out", origin);
  case httplib::Error::SSLServerVerification:
    return fmt::format("TLS certificate of {} not trusted ({}; use --insecure to accept it)",
                       origin, X509_verify_cert_error_string(verify_result));
  case httplib::Error::SSLConnection: return fmt::format("TLS handshake with {} failed", origin);
  case httplib::Error::SSLLoadingCerts: return "cannot load the system's CA certificates";
  case httplib::Error::Read: return "connection lost";
  case httplib::Error::Write: return "connection lost while sending";
  default: return fmt::format("request to {} failed: {}", origin, httplib::to_string(error));
  }
}

// The first line of a relay's error body, safe to print, at most 200 characters.
std::string
body_summary(const std::string& body)
{
  std::string line = body.substr(0, body.find_first_of("\r\n"));
  if (line.size() > 200) {
    line.resize(200);
    line += "...";
  }
  return core::terminal_line(line);
}

} // namespace

struct SseClient::Impl
{
  SseClientOptions options;
  std::mutex mutex;
  bool stopped = false;
  httplib::Client* active = nullptr; // the subscription in flight, guarded by `mutex`

  std::unique_ptr<httplib::Client> make_client(const std::string& origin,
                                               std::chrono::milliseconds read_timeout) const
  {
    auto client = std::make_unique<httplib::Client>(origin);
    client->enable_server_certificate_verification(!options.insecure);
    client->set_connection_timeout(options.connect_timeout);
    client->set_read_timeout(read_timeout);
    client->set_write_timeout(options.request_timeout);
    client->set_keep_alive(false);
    client->set_follow_location(false);
    client->set_url_encode(false);
    client->set_tcp_nodelay(true);
    return client;
  }

  bool is_stopped()
  {
    std::lock_guard lock(mutex);
    return stopped;
  }
};

SseClient::SseClient(SseClientOptions options) : m_impl(std::make_unique<Impl>())
{
  m_impl->options = options;
}

SseClient::~SseClient() = default;

core::StreamEnd
SseClient::subscribe(const core::StreamRequest& request, const OpenFn& on_open,
                     const BytesFn& on_bytes)
{
  core::StreamEnd end;
  auto split = split_url(request.url);
  if (!split) {
    end.kind = core::StreamEnd::Kind::failed;
    end.message = split.error().message;
    return end;
  }
  std::unique_ptr<httplib::Client> client =
      m_impl->make_client(split->origin, m_impl->options.read_timeout);
  {
    std::lock_guard lock(m_impl->mutex);
    if (m_impl->stopped) {
      end.kind = core::StreamEnd::Kind::stopped;
      return end;
    }
    m_impl->active = client.get();
  }

  // Rag-Tunnel asks a rag relay for the byte-exact `rag` object, which it sends only to
  // those who ask (smee-client would turn it into a request header); other relays
  // ignore it.
  httplib::Headers headers{{"Accept", "text/event-stream"},
                           {"Cache-Control", "no-cache"},
                           {"Accept-Encoding", "identity"},
                           {"Rag-Tunnel", "1"}};
  if (!request.last_event_id.empty()) {
    headers.emplace("Last-Event-ID", request.last_event_id);
  }
  if (!request.token.empty()) {
    headers.emplace("Authorization", "Bearer " + request.token);
  }

  int status = 0;
  std::string content_type;
  std::string error_body;
  bool callback_stopped = false;
  SteadyClock::time_point last_bytes = SteadyClock::now();
  auto on_response = [&](const httplib::Response& response) {
    status = response.status;
    content_type = response.get_header_value("Content-Type");
    std::string lower = content_type;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (status == 200 && lower.rfind("text/event-stream", 0) == 0) {
      end.opened = true;
      last_bytes = SteadyClock::now();
      on_open();
    }
    return true; // an error body is read for the message
  };
  auto on_content = [&](const char* data, size_t size) {
    if (m_impl->is_stopped()) {
      return false;
    }
    if (!end.opened) {
      error_body.append(data, std::min(size, k_max_error_body - error_body.size()));
      return error_body.size() < k_max_error_body;
    }
    last_bytes = SteadyClock::now();
    if (!on_bytes(std::string_view(data, size))) {
      callback_stopped = true;
      return false;
    }
    return true;
  };
  httplib::Result result = client->Get(split->path, headers, on_response, on_content);
  const long verify_result = client->get_openssl_verify_result();
  {
    std::lock_guard lock(m_impl->mutex);
    m_impl->active = nullptr;
    if (m_impl->stopped) {
      callback_stopped = true;
    }
  }

  if (callback_stopped) {
    end.kind = core::StreamEnd::Kind::stopped;
    return end;
  }
  if (status != 0 && status != 200) {
    end.kind = core::StreamEnd::Kind::refused;
    end.status = status;
    const std::string summary = body_summary(error_body);
    end.message = summary.empty() ? fmt::format("the relay answered {}", status)
                                  : fmt::format("the relay answered {}: {}", status, summary);
    return end;
  }
  if (status == 200 && !end.opened) {
    end.kind = core::StreamEnd::Kind::failed;
    end.message = fmt::format("the relay did not answer with an event stream (Content-Type: {})",
                              content_type.empty() ? "none" : core::terminal_line(content_type));
    return end;
  }
  if (result) {
    end.kind = core::StreamEnd::Kind::closed;
    end.message = "the relay closed the stream";
    return end;
  }
  end.kind = core::StreamEnd::Kind::failed;
  const auto silent = SteadyClock::now() - last_bytes;
  if (end.opened && result.error() == httplib::Error::Read &&
      silent >= m_impl->options.read_timeout * 9 / 10) {
    end.message =
        fmt::format("nothing received for {}",
                    core::format_duration_us(m_impl->options.read_timeout.count() * 1000));
  } else {
    end.message = error_text(result.error(), split->origin, verify_result);
  }
  return end;
}

void
SseClient::stop()
{
  std::lock_guard lock(m_impl->mutex);
  m_impl->stopped = true;
  if (m_impl->active != nullptr) {
    m_impl->active->stop();
  }
}

core::NewChannel
SseClient::new_channel(const std::string& relay_url)
{
  core::NewChannel answer;
  auto split = split_url(relay_url);
  if (!split) {
    answer.error = split.error().message;
    answer.reached = true; // asking again will not mend the URL
    return answer;
  }
  std::string path = split->path.substr(0, split->path.find('?'));
  while (!path.empty() && path.back() == '/') {
    path.pop_back();
  }
  path += "/new";
  auto client = m_impl->make_client(split->origin, m_impl->options.request_timeout);
  httplib::Result result = client->Get(path);
  if (!result) {
    answer.error =
        fmt::format("cannot get a new channel from {}: {}", relay_url,
                    error_text(result.error(), split->origin, client->get_openssl_verify_result()));
    return answer;
  }
  answer.reached = true;
  const int status = result->status;
  const std::string location = result->get_header_value("Location");
  if (status < 300 || status > 399 || location.empty()) {
    answer.error = fmt::format("{} answered {} to /new instead of a redirect to a new channel",
                               relay_url, status);
    return answer;
  }
  if (location.rfind("http://", 0) == 0 || location.rfind("https://", 0) == 0) {
    answer.url = location;
  } else if (location.front() == '/' && location.rfind("//", 0) != 0) {
    answer.url = origin_of(relay_url) + location;
  } else {
    answer.error = fmt::format("{} redirected /new to '{}', not to a channel URL", relay_url,
                               core::terminal_line(location));
  }
  return answer;
}

Result<int>
SseClient::post_json(const std::string& url, const std::string& token, std::string_view json)
{
  RAG_TRY_ASSIGN(const SplitUrl split, split_url(url));
  auto client = m_impl->make_client(split.origin, m_impl->options.request_timeout);
  httplib::Headers headers;
  if (!token.empty()) {
    headers.emplace("Authorization", "Bearer " + token);
  }
  httplib::Result result =
      client->Post(split.path, headers, json.data(), json.size(), "application/json");
  if (!result) {
    return error(error_text(result.error(), split.origin, client->get_openssl_verify_result()));
  }
  return result->status;
}

} // namespace rag::net
