#include "commands/relay.hpp"

#include "core/duration.hpp"
#include "core/event_view.hpp"
#include "core/forward_plan.hpp"
#include "core/headers.hpp"
#include "core/id.hpp"
#include "core/json_line.hpp"
#include "core/log/record_time.hpp"
#include "core/log/record_writer.hpp"
#include "core/sse.hpp"
#include "core/url.hpp"
#include "engine/stop_signal.hpp"
#include "net/capture_server.hpp"
#include "util/bytes.hpp"
#include "util/random.hpp"
#include "util/terminal.hpp"
#include "util/text.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <ctime>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

namespace rag::commands {

namespace {

using engine::HeldEventPtr;
using engine::RelayAwait;
using engine::RelayBatch;
using engine::RelayHub;
using engine::RelayPublish;
using engine::RelaySubscription;
using engine::ReplyOutcome;

// Connections one peer address may hold open at once (ServerOptions::max_connections_per_peer).
constexpr std::size_t k_max_connections_per_peer = 256;

using Clock = std::chrono::steady_clock;

constexpr std::string_view k_reply_prefix = "/_rag/reply/";
constexpr std::size_t k_channel_name_chars = 20;
constexpr std::size_t k_max_channel_chars = 64;
constexpr std::size_t k_page_events = 50;
// A subscriber's loop looks at stop and at its peer at least this often.
constexpr std::chrono::milliseconds k_stream_poll{1000};
// Frames are gathered into writes of about this size; pieces of a frame (a body, its
// base64) of at least k_direct_write_bytes go alone, without a copy.
constexpr std::size_t k_write_batch_bytes = 256 * 1024;
constexpr std::size_t k_direct_write_bytes = 64 * 1024;
// What a refused publish is told to wait before it retries (Retry-After).
constexpr int k_retry_after_s = 5;
// gosmee's client subscribes at BASE/events/CHANNEL on every relay but smee.io.
constexpr std::string_view k_gosmee_events_prefix = "/events/";

bool
valid_channel(std::string_view name)
{
  if (name.empty() || name.size() > k_max_channel_chars || name.front() == '_' || name == "new") {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

// A fresh unguessable channel name: 20 characters of [A-Za-z0-9] (about 119 bits).
std::string
random_channel_name()
{
  static constexpr std::string_view k_alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string name;
  while (name.size() < k_channel_name_chars) {
    unsigned char bytes[32];
    util::fill_random(bytes, sizeof bytes);
    for (unsigned char b : bytes) {
      // 248 = 4 * 62: rejecting the rest keeps every character equally likely.
      if (b < 248 && name.size() < k_channel_name_chars) {
        name.push_back(k_alphabet[b % k_alphabet.size()]);
      }
    }
  }
  return name;
}

// Equal in time independent of where they differ, so a token cannot be guessed byte
// by byte from response times.
bool
same_secret(std::string_view a, std::string_view b)
{
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ b[i % std::max<std::size_t>(1, b.size())]);
  }
  return diff == 0 && !b.empty();
}

std::string
html_escape(std::string_view text)
{
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&quot;"; break;
    case '\'': out += "&#39;"; break;
    default: out.push_back(c);
    }
  }
  return out;
}

std::string
clock_text(std::int64_t time_us)
{
  const auto seconds = static_cast<std::time_t>(time_us / 1000000);
  std::tm local{};
  localtime_r(&seconds, &local);
  return fmt::format("{:02}:{:02}:{:02}.{:03}", local.tm_hour, local.tm_min, local.tm_sec,
                     (time_us / 1000) % 1000);
}

net::HttpResponse
json_response(int status, std::string body)
{
  return {status,
          {{"Content-Type", "application/json"}, {"Cache-Control", "no-store"}},
          std::move(body)};
}

net::HttpResponse
json_error(int status, std::string_view message, std::string_view id = {})
{
  std::string body = fmt::format(R"({{"error":"{}")", core::json_escape(message));
  if (!id.empty()) {
    body += fmt::format(R"(,"id":"{}")", core::json_escape(id));
  }
  body += "}";
  return json_response(status, std::move(body));
}

// 503 for a publish the relay does not hold now: providers retry after Retry-After.
net::HttpResponse
backpressure(std::string_view why)
{
  net::HttpResponse response =
      json_error(503, fmt::format("{}; retry in {} s", why, k_retry_after_s));
  response.headers.emplace_back("Retry-After", std::to_string(k_retry_after_s));
  return response;
}

net::HttpResponse
html_response(std::string body)
{
  return {200,
          {{"Content-Type", "text/html; charset=utf-8"},
           {"Cache-Control", "no-store"},
           {"Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'"},
           {"X-Content-Type-Options", "nosniff"}},
          std::move(body)};
}

// The value of query parameter `name` (raw, not decoded), or empty.
std::string_view
query_param(std::string_view query, std::string_view name)
{
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view piece = query.substr(0, amp);
    if (piece.size() > name.size() && piece.substr(0, name.size()) == name &&
        piece[name.size()] == '=') {
      return piece.substr(name.size() + 1);
    }
    if (amp == std::string_view::npos) {
      break;
    }
    query.remove_prefix(amp + 1);
  }
  return {};
}

bool
wants_event_stream(const core::HttpRequest& request)
{
  return request.method == "GET" &&
         util::to_lower(core::header_values(request.headers, "Accept")).find("text/event-stream") !=
             std::string::npos;
}

// What a subscriber's messages carry besides smee.io's fields (docs/relay-protocol.md,
// "Who gets which fields"): smee-client turns every other top-level field into a
// request header, so only those who ask get `rag` and `bodyB`.
core::MessageFields
message_fields(const core::HttpRequest& request, std::string_view query)
{
  core::MessageFields fields;
  fields.rag = core::header_values(request.headers, "Rag-Tunnel") == "1";
  const std::string agent = core::header_values(request.headers, "User-Agent");
  fields.body_b = query_param(query, "bodyB") == "1" ||
                  util::iequals(std::string_view(agent).substr(0, 7), "gosmee/");
  return fields;
}

// Everything one relay process shares between its connection threads.
class Relay
{
public:
  Relay(const RelayOptions& options, std::string public_url, core::Clock& clock,
        core::IdSource& ids, engine::Console& console)
      : m_options(options), m_public_url(std::move(public_url)), m_console(console),
        m_hub(options.backlog, clock, ids)
  {}

  RelayHub& hub() { return m_hub; }
  std::uint64_t published() const { return m_published.load(); }

  net::HttpResponse handle(core::HttpRequest&& request, const net::Peer& peer);

private:
  bool authorized(const core::HttpRequest& request, std::string_view query) const;
  net::HttpResponse landing_page() const;
  net::HttpResponse new_channel(const core::HttpRequest& request) const;
  net::HttpResponse reply(core::HttpRequest&& request, std::string_view path);
  net::HttpResponse subscribe(const core::HttpRequest& request, std::string_view query,
                              const std::string& channel, const net::Peer& peer);
  net::HttpResponse channel_page(const std::string& channel);
  net::HttpResponse publish(core::HttpRequest&& request, const std::string& channel,
                            std::string_view rest, const net::Peer& peer);
  void stream(net::StreamWriter& writer, RelaySubscription& subscription,
              core::MessageFields fields, const std::string& channel, const std::string& remote);
  void log(const std::string& line) const;

  const RelayOptions& m_options;
  const std::string m_public_url; // no trailing '/'
  engine::Console& m_console;
  RelayHub m_hub;
  std::atomic<std::uint64_t> m_published{0};
};

void
Relay::log(const std::string& line) const
{
  m_console.err(line);
}

bool
Relay::authorized(const core::HttpRequest& request, std::string_view query) const
{
  if (m_options.token.empty()) {
    return true;
  }
  const std::string authorization = core::header_values(request.headers, "Authorization");
  if (authorization.size() > 7 && util::iequals(authorization.substr(0, 7), "Bearer ") &&
      same_secret(std::string_view(authorization).substr(7), m_options.token)) {
    return true;
  }
  return same_secret(query_param(query, "token"), m_options.token);
}

net::HttpResponse
Relay::handle(core::HttpRequest&& request, const net::Peer& peer)
{
  const core::TargetParts target = core::split_path_query(request.target);
  const std::string_view path = target.path;
  if (path == "/" && (request.method == "GET" || request.method == "HEAD")) {
    return landing_page();
  }
  if (path == "/new") {
    if (request.method != "GET" && request.method != "HEAD") {
      return json_error(405, "use GET /new to make a channel");
    }
    return new_channel(request);
  }
  if (path.substr(0, k_reply_prefix.size()) == k_reply_prefix) {
    if (!authorized(request, target.query)) {
      return json_error(401, "this relay needs its token (Authorization: Bearer TOKEN)");
    }
    return reply(std::move(request), path.substr(k_reply_prefix.size()));
  }

  if (path.starts_with(k_gosmee_events_prefix) && wants_event_stream(request)) {
    const std::string channel(path.substr(k_gosmee_events_prefix.size()));
    if (valid_channel(channel)) {
      if (!authorized(request, target.query)) {
        return json_error(401, "this channel needs the relay's token (Authorization: Bearer "
                               "TOKEN or ?token=TOKEN)");
      }
      return subscribe(request, target.query, channel, peer);
    }
  }

  // "/CHANNEL" or "/CHANNEL/sub/path".
  if (path.empty() || path.front() != '/') {
    return json_error(404, "no such channel");
  }
  const std::size_t slash = path.find('/', 1);
  const std::string channel(
      path.substr(1, slash == std::string_view::npos ? path.npos : slash - 1));
  if (!valid_channel(channel)) {
    return json_error(404, "no such channel (channel names are 1-64 of A-Z a-z 0-9 _ -)");
  }
  const bool bare = slash == std::string_view::npos;
  if (bare && request.method == "GET") {
    const std::string accept = util::to_lower(core::header_values(request.headers, "Accept"));
    const bool wants_stream = accept.find("text/event-stream") != std::string::npos;
    if (wants_stream || accept.find("text/html") != std::string::npos) {
      if (!authorized(request, target.query)) {
        return json_error(401, "this channel needs the relay's token (Authorization: Bearer "
                               "TOKEN or ?token=TOKEN)");
      }
      return wants_stream ? subscribe(request, target.query, channel, peer) : channel_page(channel);
    }
  }
  const std::string_view rest = bare ? std::string_view() : path.substr(slash);
  return publish(std::move(request), channel, rest, peer);
}

net::HttpResponse
Relay::landing_page() const
{
  return html_response(fmt::format(
      "<!doctype html>\n<meta charset=\"utf-8\">\n<title>rag relay</title>\n"
      "<h1>rag relay</h1>\n<p>Webhooks sent to a channel URL are streamed to the tunnels "
      "subscribed to it.</p>\n<p><a href=\"{}/new\">Make a new channel</a></p>\n",
      html_escape(m_public_url)));
}

net::HttpResponse
Relay::new_channel(const core::HttpRequest& request) const
{
  const std::string url = m_public_url + "/" + random_channel_name();
  net::HttpResponse response;
  response.status = 307;
  response.headers = {{"Location", url}, {"Cache-Control", "no-store"}};
  if (request.method == "GET") {
    response.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
    response.body = "Temporary Redirect. Redirecting to " + url + "\n";
  }
  return response;
}

net::HttpResponse
Relay::reply(core::HttpRequest&& request, std::string_view rest)
{
  if (request.method != "POST") {
    return json_error(405, "post the reply JSON to this path");
  }
  const std::size_t slash = rest.find('/');
  const std::string channel(rest.substr(0, slash));
  const std::string id(slash == std::string_view::npos ? std::string_view()
                                                       : rest.substr(slash + 1));
  if (!valid_channel(channel) || id.empty() || id.find('/') != std::string::npos) {
    return json_error(404, "a reply path is /_rag/reply/CHANNEL/EVENT_ID");
  }
  auto parsed = core::parse_relay_reply(request.body);
  if (!parsed) {
    return json_error(400, parsed.error().message);
  }
  const int status = parsed->status;
  switch (m_hub.post_reply(channel, id, std::move(*parsed))) {
  case ReplyOutcome::accepted:
    log(fmt::format("{}  reply      {}  {} for {}", clock_text(core::SystemClock().now_us()),
                    channel, status, core::short_id(id)));
    return {204, {}, {}};
  case ReplyOutcome::duplicate:
    return json_error(409, "this event was answered already; the first reply wins", id);
  case ReplyOutcome::not_waiting: break;
  }
  return json_error(404, "no sender is waiting for this event (timed out, or not sync mode)", id);
}

net::HttpResponse
Relay::subscribe(const core::HttpRequest& request, std::string_view query,
                 const std::string& channel, const net::Peer& peer)
{
  const core::MessageFields fields = message_fields(request, query);
  const std::string last_event_id = core::header_values(request.headers, "Last-Event-ID");
  std::shared_ptr<RelaySubscription> subscription = m_hub.subscribe(channel, last_event_id);
  // What its messages carry besides smee.io's fields.
  const char* extra =
      fields.rag ? (fields.body_b ? " (rag, bodyB)" : " (rag)") : (fields.body_b ? " (bodyB)" : "");
  log(fmt::format("{}  subscribe  {}  from {}{}{}{}", clock_text(core::SystemClock().now_us()),
                  channel, peer.remote, extra,
                  last_event_id.empty()
                      ? std::string()
                      : " (resuming after " + core::terminal_line(last_event_id) + ")",
                  subscription->gap() ? "; some events after it are gone" : ""));

  net::HttpResponse response;
  response.headers = {{"Content-Type", "text/event-stream"},
                      {"Cache-Control", "no-cache"},
                      // nginx would otherwise buffer the stream.
                      {"X-Accel-Buffering", "no"}};
  response.stream = [this, subscription, fields, channel,
                     remote = peer.remote](net::StreamWriter& w) {
    stream(w, *subscription, fields, channel, remote);
  };
  return response;
}

void
Relay::stream(net::StreamWriter& writer, RelaySubscription& subscription,
              core::MessageFields fields, const std::string& channel, const std::string& remote)
{
  auto gap_frame = [](const std::string& after) {
    return core::format_sse(
        {"", "gap",
         fmt::format(R"({{"after":"{}","message":"events after this id were dropped by the relay: )"
                     R"(backlog limits, or a restart"}})",
                     core::json_escape(after))});
  };
  std::uint64_t sent = 0;
  std::string out = core::format_sse({subscription.ready_id(), "ready", "{}"});
  if (subscription.gap()) {
    out += gap_frame(subscription.ready_id());
  }
  bool open = writer.write(out);
  auto last_write = Clock::now();
  // Small pieces are gathered in `out`; big ones (a body, its base64) go out as they are.
  auto send = [&](std::string_view piece) {
    if (piece.size() >= k_direct_write_bytes) {
      if (!out.empty()) {
        open = open && writer.write(out);
        out.clear();
      }
      open = open && writer.write(piece);
      return;
    }
    out.append(piece);
    if (out.size() >= k_write_batch_bytes) {
      open = open && writer.write(out);
      out.clear();
    }
  };
  std::vector<std::string_view> pieces;
  while (open) {
    const auto idle =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - last_write);
    const auto wait =
        std::clamp(m_options.heartbeat - idle, std::chrono::milliseconds(1), k_stream_poll);
    const std::string cursor = subscription.cursor();
    RelayBatch batch = m_hub.next(subscription, wait);
    if (batch.closed || writer.stopping()) {
      break;
    }
    out.clear();
    if (batch.gap) {
      out += gap_frame(cursor);
    }
    for (const auto& event : batch.events) {
      pieces.clear();
      event->append_frame(fields, pieces);
      for (const std::string_view piece : pieces) {
        send(piece);
      }
      if (!open) {
        break;
      }
      ++sent;
    }
    if (open && !out.empty()) {
      open = writer.write(out);
    }
    if (!batch.events.empty() || batch.gap) {
      last_write = Clock::now();
    } else if (Clock::now() - last_write >= m_options.heartbeat) {
      open = writer.write(core::format_sse({"", "ping", "{}"}));
      last_write = Clock::now();
    } else {
      open = writer.peer_open();
    }
  }
  log(fmt::format("{}  disconnect {}  {} after {} event(s)",
                  clock_text(core::SystemClock().now_us()), channel, remote, sent));
}

net::HttpResponse
Relay::channel_page(const std::string& channel)
{
  const std::string url = m_public_url + "/" + channel;
  std::string rows;
  for (const auto& event : m_hub.recent(channel, k_page_events)) {
    rows += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code>"
                        "</td></tr>\n",
                        html_escape(core::format_time_us(event->time_us)),
                        html_escape(util::utf8_replace_invalid(event->method)),
                        html_escape(util::utf8_replace_invalid(event->target)),
                        html_escape(util::human_size(event->body_size)), html_escape(event->id));
  }
  if (rows.empty()) {
    rows = "<tr><td colspan=\"5\">No events held for this channel yet.</td></tr>\n";
  }
  return html_response(fmt::format(
      "<!doctype html>\n<meta charset=\"utf-8\">\n<title>rag relay: {0}</title>\n"
      "<style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:2px 10px;"
      "text-align:left}}code{{font-size:90%}}</style>\n"
      "<h1>Channel <code>{0}</code></h1>\n"
      "<p>Webhook URL: <code>{1}</code></p>\n"
      "<p>Forward its webhooks to a local service with <code>rag tunnel {1} -f 3000</code> "
      "(or <code>smee -u {1} -t http://127.0.0.1:3000</code>). Subscribers now: {2}.</p>\n"
      "<h2>Recent events</h2>\n<table>\n<tr><th>time (UTC)</th><th>method</th>"
      "<th>target</th><th>size</th><th>id</th></tr>\n{3}</table>\n",
      html_escape(channel), html_escape(url), m_hub.subscriber_count(channel), rows));
}

net::HttpResponse
Relay::publish(core::HttpRequest&& request, const std::string& channel, std::string_view rest,
               const net::Peer& peer)
{
  core::RelayedRequest relayed;
  relayed.method = std::move(request.method);
  const std::string_view query = core::split_path_query(request.target).query;
  relayed.target = rest.empty() ? std::string("/") : std::string(rest);
  if (request.target.find('?') != std::string::npos) {
    relayed.target += "?" + std::string(query);
  }
  relayed.http_version = std::move(request.http_version);
  relayed.headers = std::move(request.headers);
  relayed.body = std::move(request.body);
  relayed.remote = peer.remote;

  const bool sync = m_options.sync_timeout.count() > 0;
  RelayPublish outcome = m_hub.publish(channel, std::move(relayed), sync);
  const std::string now = clock_text(core::SystemClock().now_us());
  if (outcome.relay_resumed) {
    log(fmt::format("{}  accepting  all channels  publishing again", now));
  }
  if (outcome.channel_resumed) {
    log(fmt::format("{}  accepting  {}  publishing again", now, channel));
  }
  if (outcome.refused == RelayPublish::Refusal::channel_full) {
    if (outcome.started_refusing) {
      log(fmt::format("{}  refusing   {}  new publishes get 503 until its subscribers read what "
                      "it holds (--backlog {}, --backlog-bytes {}, --backlog-age {})",
                      now, channel, m_options.backlog.backlog_count,
                      util::human_size(m_options.backlog.backlog_bytes),
                      core::format_duration_us(m_options.backlog.backlog_age_us)));
    }
    return backpressure("this channel's subscribers have not read what it holds yet");
  }
  if (outcome.refused == RelayPublish::Refusal::relay_full) {
    if (outcome.started_refusing) {
      log(fmt::format("{}  refusing   all channels  new publishes get 503 until subscribers read "
                      "what the relay holds ({} of --max-held {})",
                      now, util::human_size(m_hub.held_bytes()),
                      util::human_size(m_options.backlog.max_held)));
    }
    return backpressure("the relay holds as much as it may until subscribers read it");
  }
  const HeldEventPtr event = std::move(outcome.event);
  m_published.fetch_add(1, std::memory_order_relaxed);
  const std::size_t subscribers = m_hub.subscriber_count(channel);
  log(fmt::format("{}  publish    {}  {} {}  {}  {}  ({} subscriber{})", clock_text(event->time_us),
                  channel, core::terminal_line(event->method), core::terminal_line(event->target),
                  util::human_size(event->body_size), core::short_id(event->id), subscribers,
                  subscribers == 1 ? "" : "s"));
  if (m_options.json) {
    m_console.out(core::JsonLine()
                      .text("kind", "publish")
                      .text("id", event->id)
                      .text("time", core::format_time_us(event->time_us))
                      .text("channel", channel)
                      .text("method", event->method)
                      .text("target", event->target)
                      .number("body_size", static_cast<std::int64_t>(event->body_size))
                      .text("remote", peer.remote)
                      .number("subscribers", static_cast<std::int64_t>(subscribers))
                      .str());
  }

  if (!sync) {
    net::HttpResponse response = json_response(202, fmt::format(R"({{"id":"{}"}})", event->id));
    response.headers.emplace_back("Rag-Event-Id", event->id);
    return response;
  }
  RelayAwait answer = m_hub.await_reply(channel, event->id, m_options.sync_timeout);
  if (answer.kind == RelayAwait::Kind::reply) {
    net::HttpResponse response;
    response.status = answer.reply.status;
    response.headers = core::strip_hop_by_hop(answer.reply.headers);
    response.headers.emplace_back("Rag-Event-Id", event->id);
    response.body = std::move(answer.reply.body);
    return response;
  }
  net::HttpResponse response =
      answer.kind == RelayAwait::Kind::shutdown
          ? json_error(503, "the relay is stopping", event->id)
          : json_error(504,
                       fmt::format("no tunnel replied within {}",
                                   core::format_duration_us(m_options.sync_timeout.count() * 1000)),
                       event->id);
  response.headers.emplace_back("Rag-Event-Id", event->id);
  return response;
}

} // namespace

Result<int>
run_relay(const RelayOptions& options, engine::Console& console)
{
  net::ServerOptions server_options;
  server_options.host = options.host;
  server_options.port = options.port;
  server_options.limits.max_body_bytes = options.max_body;
  server_options.limits.max_header_bytes = options.max_header;
  server_options.write_timeout_s = options.write_timeout_s;
  // A public server: one address cannot take every connection slot (issue 12: 4,100
  // dripping connections kept the relay unreachable). Providers send from a handful of
  // addresses, each with far fewer connections open at once.
  server_options.max_connections_per_peer = k_max_connections_per_peer;
  RAG_TRY_ASSIGN(auto server, net::CaptureServer::bind(server_options));

  std::string public_url = options.public_url.empty() ? server->url() : options.public_url;
  while (!public_url.empty() && public_url.back() == '/') {
    public_url.pop_back();
  }
  core::SystemClock clock;
  core::RandomIdSource ids;
  Relay relay(options, public_url, clock, ids, console);

  // Before any other thread exists, so that all of them inherit the blocked signals.
  engine::StopSignal signals;
  signals.stop().on_stop([&] {
    relay.hub().shutdown();
    server->stop();
  });

  auto handler = [&relay](core::HttpRequest&& request, const net::Peer& peer) {
    return relay.handle(std::move(request), peer);
  };
  // The relay keeps no event log: a refused request is only reported.
  auto on_reject = [&console](const net::Rejection& rejection, const net::Peer& peer) {
    console.err(fmt::format("rag: rejected a request from {} with {}: {}", peer.remote,
                            rejection.status, rejection.reason));
  };

  console.err(fmt::format("Ready! Relaying on {} (channels at {}/CHANNEL; a new one: "
                          "GET {}/new). Press Ctrl-C to stop.",
                          server->url(), public_url, public_url));
  console.err(fmt::format(
      "  backlog per channel: {} events, {}, {}; at most {} held in all{}{}",
      options.backlog.backlog_count, core::format_duration_us(options.backlog.backlog_age_us),
      util::human_size(options.backlog.backlog_bytes), util::human_size(options.backlog.max_held),
      options.token.empty() ? "" : "; subscribing needs the token",
      options.sync_timeout.count() > 0
          ? "; sync mode, " + core::format_duration_us(options.sync_timeout.count() * 1000) +
                " timeout"
          : std::string()));
  server->serve(handler, on_reject);
  relay.hub().shutdown();
  console.err(fmt::format("Stopped. {} webhook(s) relayed this session.", relay.published()));
  return 0;
}

} // namespace rag::commands
