#include "engine/tunnel.hpp"

#include "core/event_view.hpp"
#include "core/forward_plan.hpp"
#include "core/id.hpp"
#include "core/json_fields.hpp"
#include "core/log/writer.hpp"
#include "core/retry.hpp"
#include "core/signature.hpp"
#include "util/terminal.hpp"
#include "util/text.hpp"

#include <fmt/core.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <random>
#include <thread>
#include <utility>
#include <vector>

namespace rag::engine {

namespace {

// A connection that lasted this long counts as a success: the backoff starts over.
constexpr auto k_stable_connection = std::chrono::seconds(30);
// The first reconnect waits half to all of this (jitter); each failure doubles it.
constexpr std::chrono::milliseconds k_backoff_base{250};
constexpr std::chrono::milliseconds k_backoff_cap{10'000};
// A stream that dropped at most this long after its last bytes (a rag relay sends a
// heartbeat every 15 s by default) was ended by the relay's side, not by a tunnel that
// slept or lost its network (those end in silence first).
constexpr auto k_live_drop = std::chrono::seconds(20);

} // namespace

double
tunnel_random01()
{
  static thread_local std::mt19937_64 engine{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
}

std::string
format_delay(std::chrono::milliseconds delay)
{
  return fmt::format("{:.1f}s", static_cast<double>(delay.count()) / 1000.0);
}

std::chrono::milliseconds
tunnel_backoff(int failures, double random01, const core::Headers& response_headers)
{
  return core::backoff_delay(failures, random01, response_headers, k_backoff_base, k_backoff_cap);
}

namespace {

// A refusal that asking again will not change.
bool
is_permanent_refusal(int status)
{
  return status >= 400 && status < 500 && status != 408 && status != 425 && status != 429;
}

} // namespace

core::HttpRequest
to_http_request(core::RelayedRequest&& relayed)
{
  core::HttpRequest request;
  request.method = std::move(relayed.method);
  request.target = std::move(relayed.target);
  request.http_version = std::move(relayed.http_version);
  request.headers = std::move(relayed.headers);
  request.body = std::move(relayed.body);
  for (const auto& [name, value] : request.headers) {
    if (util::iequals(name, "transfer-encoding") &&
        util::to_lower(value).find("chunked") != std::string::npos) {
      request.chunked = true;
    }
  }
  return request;
}

// The threads that wait for local answers and post them to the relay (sync mode), at
// most `max` at once; finished ones are joined as new ones start.
struct Tunnel::Replies
{
  explicit Replies(std::size_t limit) : max(limit == 0 ? 1 : limit) {}

  void run(std::function<void()> task)
  {
    std::unique_lock lock(mutex);
    changed.wait(lock, [this] { return active < max; });
    reap();
    ++active;
    const std::uint64_t key = next++;
    // The thread cannot finish before it is in `threads`: it needs the lock held here.
    threads.emplace(key, std::thread([this, key, task = std::move(task)] {
                      task();
                      std::lock_guard done(mutex);
                      --active;
                      finished.push_back(key);
                      changed.notify_all();
                    }));
  }

  void wait_all()
  {
    std::unique_lock lock(mutex);
    changed.wait(lock, [this] { return active == 0; });
    reap();
  }

  // Join the threads that said they are done (they no longer need the lock). Called
  // with `mutex` held.
  void reap()
  {
    for (const std::uint64_t key : finished) {
      auto it = threads.find(key);
      it->second.join();
      threads.erase(it);
    }
    finished.clear();
  }

  std::size_t max;
  std::mutex mutex;
  std::condition_variable changed;
  std::size_t active = 0;
  std::uint64_t next = 0;
  std::map<std::uint64_t, std::thread> threads;
  std::vector<std::uint64_t> finished;
};

Tunnel::Tunnel(TunnelConfig config, core::EventStream& stream, engine::CapturePipeline& pipeline,
               engine::Console& console, TunnelHooks hooks)
    : m_config(std::move(config)), m_stream(stream), m_pipeline(pipeline), m_console(console),
      m_hooks(std::move(hooks)), m_source("tunnel:" + m_config.channel.display),
      m_replies(std::make_unique<Replies>(m_config.max_replies))
{}

Tunnel::~Tunnel()
{
  m_replies->wait_all();
}

bool
Tunnel::stopping() const
{
  std::lock_guard lock(m_mutex);
  return m_stopping;
}

void
Tunnel::stop()
{
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
  }
  m_stop_changed.notify_all();
  m_stream.stop();
}

std::uint64_t
Tunnel::received() const
{
  std::lock_guard lock(m_mutex);
  return m_received;
}

std::uint64_t
Tunnel::skipped() const
{
  std::lock_guard lock(m_mutex);
  return m_skipped;
}

std::chrono::steady_clock::time_point
Tunnel::now() const
{
  return m_hooks.now ? m_hooks.now() : std::chrono::steady_clock::now();
}

bool
Tunnel::wait(std::chrono::milliseconds delay)
{
  if (m_hooks.sleep) {
    return m_hooks.sleep(delay) && !stopping();
  }
  std::unique_lock lock(m_mutex);
  return !m_stop_changed.wait_for(lock, delay, [this] { return m_stopping; });
}

Result<int>
Tunnel::run(std::chrono::milliseconds drain_limit)
{
  m_resume_id = m_config.resume_id;
  m_handled.add(m_config.resume_id);
  Result<int> outcome = 0;
  int failures = 0;
  while (!stopping()) {
    const core::StreamRequest request{m_config.channel.url, m_resume_id, m_config.token};
    m_parser = std::make_unique<core::SseParser>();
    m_prev_id.clear();
    m_abort_reason.clear();
    m_connection_messages = 0;
    m_connection_events = 0;
    m_got_ready = false;
    m_requested_id = m_resume_id;
    m_relay_restarted = m_closed_by_relay && m_unreachable_since_close;
    const auto started = std::chrono::steady_clock::now();
    auto on_open = [this] {
      m_console.err(m_resume_id.empty() ? fmt::format("Connected to {}.", m_config.channel.display)
                                        : fmt::format("Connected to {} (resuming after {}).",
                                                      m_config.channel.display, m_resume_id));
    };
    core::StreamEnd end = m_stream.subscribe(
        request, on_open, [this](std::string_view bytes) { return on_bytes(bytes); });
    if (stopping()) {
      break;
    }
    if (end.opened) {
      // Only a stream the relay's side ended while the tunnel was reading it, with
      // everything in it handled, can have taken every webhook the relay held before it
      // went down. A relay that stops does not always end its streams cleanly: a drop
      // right after live bytes counts too.
      const bool live =
          end.kind == core::StreamEnd::Kind::closed ||
          (end.kind == core::StreamEnd::Kind::failed && now() - m_last_bytes <= k_live_drop);
      m_closed_by_relay = live && m_got_ready && m_abort_reason.empty();
      m_unreachable_since_close = false;
    } else {
      m_unreachable_since_close = true;
    }
    if (!m_abort_reason.empty()) {
      end.kind = core::StreamEnd::Kind::failed;
      end.message = m_abort_reason;
    } else if (end.kind == core::StreamEnd::Kind::stopped) {
      break;
    }
    if (end.kind == core::StreamEnd::Kind::refused && is_permanent_refusal(end.status)) {
      const bool auth = end.status == 401 || end.status == 403;
      outcome = error(
          fmt::format("{} refused the subscription: {}", m_config.channel.display, end.message),
          auth ? (m_config.token.empty() ? "the relay wants a token: pass --token "
                                           "or set RAG_RELAY_TOKEN"
                                         : "check --token / RAG_RELAY_TOKEN")
               : "check the channel URL");
      break;
    }
    const bool stable =
        end.opened && (m_connection_messages > 0 ||
                       std::chrono::steady_clock::now() - started >= k_stable_connection);
    failures = stable ? 1 : failures + 1;
    m_console.err(end.opened ? fmt::format("Disconnected: {}.", end.message)
                             : fmt::format("Cannot connect to the relay: {}.", end.message));
    const auto delay =
        tunnel_backoff(failures, m_hooks.random01 ? m_hooks.random01() : tunnel_random01());
    m_console.err(fmt::format("Reconnecting in {}...", format_delay(delay)));
    if (!wait(delay)) {
      break;
    }
  }

  const std::size_t left = m_pipeline.drain(drain_limit);
  m_replies->wait_all();
  save_state();
  if (left > 0) {
    m_console.warning(fmt::format("{} deliveries were not finished; their events are in the "
                                  "log",
                                  left));
  }
  return outcome;
}

void
Tunnel::save_state()
{
  if (m_config.state_path.empty() || m_resume_id.empty() || m_resume_id == m_saved_id) {
    return;
  }
  auto written =
      engine::write_tunnel_state(m_config.state_path, m_config.channel.display, m_resume_id);
  if (written) {
    m_saved_id = m_resume_id;
  } else if (!std::exchange(m_state_warned, true)) {
    // The log still holds the relay id of every captured webhook: warn once, go on.
    m_console.warning(fmt::format("{} ({})", written.error().message, written.error().hint));
  }
}

// Return true when a `gap` right after `ready` only says that the relay restarted (its
// backlog is new) and nothing was lost: this tunnel read the old relay's stream until
// the relay's side ended it, could not reach the relay after that (it was down, so
// nobody could publish), and resumes from the last id it read. Anything else (the first
// connection of a run, a connection that went silent or timed out, a gap in the middle
// of a stream) may have lost webhooks.
bool
Tunnel::gap_is_restart(const std::string& after) const
{
  return m_relay_restarted && !m_requested_id.empty() && after == m_requested_id;
}

bool
Tunnel::on_bytes(std::string_view bytes)
{
  if (stopping()) {
    return false;
  }
  m_last_bytes = now();
  std::vector<core::SseEvent> events = m_parser->feed(bytes);
  for (const auto& event : events) {
    // Events not handled before a stop are not marked handled: the next run gets them.
    if (stopping()) {
      return false;
    }
    if (on_message(event) == Outcome::abort) {
      return false;
    }
  }
  if (m_parser->failed()) {
    m_abort_reason = "an event in the stream was too large";
    return false;
  }
  return true;
}

Tunnel::Outcome
Tunnel::on_message(const core::SseEvent& event)
{
  // The parser repeats the last id on events without an `id:` line of their own; only
  // a changed id names this event.
  const bool own_id = event.id != m_prev_id;
  m_prev_id = event.id;
  if (event.event == "ready") {
    // Where the channel stood when first connected: resuming from there later loses
    // nothing published in between, even before the first webhook.
    if (m_resume_id.empty() && !event.id.empty()) {
      m_resume_id = event.id;
      // Kept for the next run too: a restart before the first webhook loses nothing.
      save_state();
    }
    m_got_ready = true;
    m_connection_events = 0;
    return Outcome::handled;
  }
  const bool right_after_ready = m_got_ready && m_connection_events == 0;
  if (event.event != "ping") {
    ++m_connection_events;
  }
  if (event.event == "gap") {
    // rag relay: what was asked for is partly gone (backlog limits, a relay restart).
    const auto gap = core::json_string_fields(event.data);
    const auto field = [&gap](const char* key) -> const std::string* {
      if (!gap) {
        return nullptr;
      }
      const auto found = gap->find(key);
      return found == gap->end() ? nullptr : &found->second;
    };
    const auto text = [&field](const char* key) {
      const std::string* value = field(key);
      return value == nullptr ? std::string("?") : core::terminal_line(*value);
    };
    const std::string after = field("after") == nullptr ? std::string() : *field("after");
    if (right_after_ready && gap_is_restart(after)) {
      m_console.err(
          fmt::format("The relay restarted; this tunnel was connected until it stopped, so "
                      "no webhook was missed (resuming after {}).",
                      core::terminal_line(after)));
      return Outcome::handled;
    }
    m_console.warning(
        fmt::format("the relay lost webhooks after {}: {}", text("after"), text("message")));
    return Outcome::handled;
  }
  if (!event.event.empty() && event.event != "message") {
    return Outcome::handled; // ping and anything newer
  }

  auto parsed = core::parse_relay_message(event.data);
  const std::string id =
      parsed && !parsed->id.empty() ? parsed->id : (own_id ? event.id : std::string());
  if (m_handled.contains(id)) {
    std::lock_guard lock(m_mutex);
    ++m_skipped;
    return Outcome::skipped;
  }
  auto mark_handled = [&] {
    m_handled.add(id);
    if (!id.empty()) {
      m_resume_id = id;
    }
  };
  if (!parsed) {
    m_console.warning(fmt::format("skipped a message that is not a webhook{}: {}",
                                  id.empty() ? "" : " (" + core::terminal_line(id) + ")",
                                  parsed.error().message));
    mark_handled();
    save_state(); // the log holds no relay id for a skipped message
    return Outcome::handled;
  }
  if (parsed->target.empty() || parsed->target.front() != '/') {
    m_console.warning(fmt::format("skipped a message whose target is not a path{}: '{}'",
                                  id.empty() ? "" : " (" + core::terminal_line(id) + ")",
                                  core::terminal_line(parsed->target)));
    mark_handled();
    save_state(); // the log holds no relay id for a skipped message
    return Outcome::handled;
  }
  if (!handle_request(std::move(*parsed), id)) {
    return Outcome::abort;
  }
  mark_handled();
  ++m_connection_messages;
  std::lock_guard lock(m_mutex);
  ++m_received;
  return Outcome::handled;
}

bool
Tunnel::handle_request(core::RelayedRequest&& relayed, const std::string& id)
{
  // Bound the deliveries in flight: a long backlog must not pile up in memory.
  while (!m_pipeline.wait_for_capacity(m_config.max_pending, std::chrono::seconds(1))) {
    if (stopping()) {
      return false;
    }
  }
  std::string reply_url;
  if (m_config.respond_back && !relayed.reply.empty()) {
    auto resolved = engine::resolve_reply_url(m_config.channel.base, relayed.reply);
    if (resolved) {
      reply_url = std::move(*resolved);
    } else {
      m_console.warning(fmt::format("not answering the relay for {}: {}", core::terminal_line(id),
                                    resolved.error().message));
    }
  }

  engine::CaptureOrigin origin;
  origin.source = m_source;
  origin.remote = relayed.remote;
  origin.relay_id = id;
  origin.context = core::ForwardContext{core::remote_ip_of(relayed.remote), m_config.channel.scheme,
                                        m_config.preserve_host};
  origin.verify_time_us = relayed.time_us;
  engine::CapturedRequest captured =
      m_pipeline.capture(to_http_request(std::move(relayed)), origin);
  if (!captured.logged) {
    // Not marked handled: the relay sends it again after the reconnect.
    m_abort_reason = "cannot write the event log";
    return false;
  }
  if (reply_url.empty()) {
    // Nobody waits for an answer: every delivery runs in the background.
    captured.policy = core::RespondPolicy{false, 200};
    m_pipeline.forward(std::move(captured));
    return true;
  }
  const std::string event_id = captured.event_id;
  if (captured.answer || m_pipeline.options().delivery.ordered) {
    // Dispatched here, in stream order; only the answer is awaited elsewhere.
    auto pending =
        std::make_shared<engine::PendingResponse>(m_pipeline.forward(std::move(captured)));
    m_replies->run(
        [this, pending, reply_url, event_id] { send_reply(reply_url, event_id, pending->get()); });
  } else {
    // Unordered, the primary's first attempt runs on the thread that forwards.
    auto shared = std::make_shared<engine::CapturedRequest>(std::move(captured));
    m_replies->run([this, shared, reply_url, event_id] {
      send_reply(reply_url, event_id, m_pipeline.forward(std::move(*shared)).get());
    });
  }
  return true;
}

void
Tunnel::send_reply(const std::string& url, const std::string& event_id,
                   engine::SenderResponse answer)
{
  core::RelayReply reply;
  reply.status = answer.status;
  reply.headers = std::move(answer.headers);
  reply.body = std::move(answer.body);
  auto posted = m_stream.post_json(url, m_config.token, core::relay_reply_json(reply));
  if (!posted) {
    m_console.warning(fmt::format("could not answer the relay for {}: {}", core::short_id(event_id),
                                  posted.error().message));
  } else if (*posted == 404) {
    m_console.warning(fmt::format("the relay no longer waits for the answer to {} (404)",
                                  core::short_id(event_id)));
  } else if (*posted == 409) {
    m_console.warning(
        fmt::format("the relay had an answer for {} already (409)", core::short_id(event_id)));
  } else if (*posted >= 300) {
    m_console.warning(fmt::format("the relay answered {} to the answer for {}", *posted,
                                  core::short_id(event_id)));
  }
}

} // namespace rag::engine
