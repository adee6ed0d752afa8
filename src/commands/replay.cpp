#include "commands/replay.hpp"

#include "core/clock.hpp"
#include "core/duration.hpp"
#include "core/event_view.hpp"
#include "core/id.hpp"
#include "core/json_line.hpp"
#include "core/log/reader.hpp"
#include "core/log/record_writer.hpp"
#include "core/log/writer.hpp"
#include "core/rate_limit.hpp"
#include "core/signature.hpp"
#include "engine/fanout.hpp"
#include "engine/replay_selection.hpp"
#include "engine/stop_signal.hpp"
#include "net/forward_client.hpp"
#include "util/bytes.hpp"
#include "util/terminal.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <pthread.h>
#include <thread>
#include <unistd.h>

// How `rag replay` works, in three steps:
//
// 1. Select (replay_selection.cpp). The log is streamed, never loaded; the selection
//    keeps a few bytes per selected event (offset, id hash, original target URLs) and
//    never a body.
// 2. Send. The log is read again from the first selected offset; each selected line
//    is parsed and turned into one delivery per target, handed to the engine's Fanout.
//    An event that cannot or must not be replayed (no original target and no --to, a
//    signature verdict --reject-invalid refuses, or a request rag refused before it was
//    whole, whose body is not in the log) is skipped with a warning naming it;
//    the others still go out, and the exit code is 1.
//    Backpressure (Fanout::wait_for_capacity) keeps at most --concurrency deliveries
//    queued or running, so memory stays flat however big the log; --rate spaces the
//    dispatches.
// 3. Finish. Wait for the deliveries in flight, clear the progress line, print the
//    summary; exit 1 when a delivery failed or something was left unsent.

namespace rag::commands {

namespace {

// How long Ctrl-C waits for deliveries in flight.
constexpr std::chrono::seconds k_drain_limit{10};
// How often waits look at the stop flag.
constexpr std::chrono::milliseconds k_poll{50};
// A progress line is shown on a TTY when more events than this are replayed.
constexpr std::size_t k_progress_min_events = 5;
constexpr auto k_progress_interval = std::chrono::milliseconds(100);
constexpr std::size_t k_progress_bar_width = 24;

// Return "1 event", "2 events"; `many` is the plural when it is not WORD + "s".
std::string
plural(std::size_t count, std::string_view word, std::string_view many = {})
{
  if (count == 1) {
    return fmt::format("1 {}", word);
  }
  return many.empty() ? fmt::format("{} {}s", count, word) : fmt::format("{} {}", count, many);
}

// ---------------------------------------------------------------------------
// Where each selected event goes

// One delivery to start: where, and the request target when it is fixed.
struct Send
{
  core::Destination destination;
  std::string request_target; // empty: mapped from the event's target (--to)
};

// Return the deliveries of `chosen`: `to` (the --to targets) when given, else its
// original target URLs, exactly, built in `scratch`.
const std::vector<Send>&
sends_for(const engine::ChosenEvent& chosen, const engine::ReplaySelection& selection,
          const std::vector<Send>& to, std::vector<Send>& scratch)
{
  if (!to.empty()) {
    return to;
  }
  scratch.clear();
  for (const std::string_view url : selection.urls.list(chosen.targets)) {
    // Checked while selecting (engine::ReplaySelection::bad_url), so it parses.
    auto exact = core::parse_exact_url(url);
    if (exact) {
      scratch.push_back(
          Send{core::Destination{std::move(exact->origin), {}}, std::move(exact->request_target)});
    }
  }
  return scratch;
}

// Return "stripe, standard and slack": the labels of `specs`.
std::string
spec_list(const std::vector<core::SignatureSpec>& specs)
{
  std::string list;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    list += (i == 0 ? "" : i + 1 == specs.size() ? " and " : ", ") + core::spec_label(specs[i]);
  }
  return list;
}

// Build what is sent for `event`; `resigned` gets the labels of the --resign schemes
// applied to it (see resign_schemes).
std::shared_ptr<const engine::Payload>
make_payload(core::Event&& event, const std::vector<core::SignatureSpec>& resign,
             std::vector<std::string>& resigned, core::IdSource& ids, engine::Console& console)
{
  auto payload = std::make_shared<engine::Payload>();
  payload->event_id = std::move(event.id);
  payload->method = std::move(event.method);
  payload->target = std::move(event.target);
  payload->headers = std::move(event.headers);
  payload->body = std::make_shared<const std::string>(std::move(event.body));
  // --resign: the provider's signature over the exact body, with a fresh timestamp,
  // so a replay older than the provider's tolerance still verifies.
  resigned.clear();
  const std::vector<std::size_t> schemes = resign_schemes(resign, payload->headers);
  if (schemes.empty() && !resign.empty()) {
    console.warning(fmt::format("{} not re-signed: it carries the signature headers of none of "
                                "{}; sent as captured",
                                payload->event_id, spec_list(resign)));
  }
  const std::int64_t now_us = core::SystemClock().now_us();
  for (const std::size_t index : schemes) {
    const core::SignatureSpec& spec = resign[index];
    auto signed_headers = core::sign(spec, payload->headers, *payload->body, now_us, ids);
    if (signed_headers) {
      payload->headers = std::move(signed_headers).value();
      resigned.push_back(core::spec_label(spec));
    } else {
      console.warning(
          fmt::format("{} not re-signed: {}", payload->event_id, signed_headers.error().message));
    }
  }
  // The target sees what the original forward sent: X-Forwarded-For names the
  // webhook's sender, not rag.
  payload->context = core::ForwardContext{core::remote_ip_of(event.remote), "http", false};
  return payload;
}

// ---------------------------------------------------------------------------
// --dry-run

// What --dry-run says about --resign for one event.
struct DryRunResign
{
  bool asked = false;              // --resign was given
  std::vector<std::string> labels; // the schemes applied
};

std::string
dry_run_json(const std::string& event_id, const core::OutgoingRequest& request,
             const std::string& url, const DryRunResign& resign)
{
  core::JsonLine line;
  line.text("event_id", event_id)
      .text("method", request.method)
      .text("url", url)
      .text("target", request.target)
      .pairs("headers", request.headers);
  if (resign.asked) {
    line.texts("resigned", resign.labels);
  }
  return line.number("body_size", static_cast<std::int64_t>(request.body_view().size()))
      .text("body_sha256", util::sha256_hex(request.body_view()))
      .str();
}

std::string
dry_run_text(const std::string& event_id, const core::OutgoingRequest& request,
             const std::string& url, const DryRunResign& resign, bool color)
{
  std::string out =
      fmt::format("{} {}  {}\n", util::colorize(request.method, util::Color::bold, color),
                  core::terminal_line(url), util::colorize(event_id, util::Color::cyan, color));
  for (const auto& [name, value] : request.headers) {
    out += fmt::format("  {}: {}\n", core::terminal_line(name), core::terminal_line(value));
  }
  if (resign.asked) {
    std::string labels;
    for (const auto& label : resign.labels) {
      labels += (labels.empty() ? "" : ", ") + core::terminal_line(label);
    }
    out += fmt::format("  re-signed: {}\n", labels.empty() ? "no (sent as captured)" : labels);
  }
  out += fmt::format("  body: {} bytes, sha256 {}", request.body_view().size(),
                     util::sha256_hex(request.body_view()));
  return out;
}

Result<int>
dry_run(const ReplayOptions& options, const core::EventLogReader& reader,
        const engine::ReplaySelection& selection, const std::vector<Send>& to,
        engine::Console& console)
{
  const bool color = console.out_color();
  core::RandomIdSource ids;
  std::size_t requests = 0;
  std::size_t unsendable = 0;
  std::size_t skipped = 0;
  std::vector<Send> scratch;
  DryRunResign resign;
  resign.asked = !options.resign.empty();
  const auto show = [&](core::Event&& event, const engine::ChosenEvent& chosen) {
    const std::string event_id = event.id;
    if (const std::string reason =
            skip_reason(event, !to.empty() || chosen.targets != 0, options.include_rejected);
        !reason.empty()) {
      ++skipped;
      console.warning(fmt::format("{} skipped: {}", event_id, reason));
      return true;
    }
    const auto payload =
        make_payload(std::move(event), options.resign, resign.labels, ids, console);
    for (const Send& send : sends_for(chosen, selection, to, scratch)) {
      const engine::PlannedDelivery planned = engine::plan_delivery(
          *payload, send.destination, send.request_target, options.set_headers);
      if (!planned.request) {
        ++unsendable;
        console.error(error(fmt::format("{} cannot be sent to {}: {}", event_id, planned.url,
                                        planned.request.error().message)));
        continue;
      }
      ++requests;
      console.out(options.json
                      ? dry_run_json(event_id, *planned.request, planned.url, resign)
                      : dry_run_text(event_id, *planned.request, planned.url, resign, color));
    }
    return true;
  };
  RAG_TRY_ASSIGN(const std::size_t found, engine::read_selected(reader, selection, show));
  std::string notes;
  if (unsendable > 0) {
    notes += fmt::format("{} cannot be sent", unsendable);
  }
  if (skipped > 0) {
    notes += fmt::format("{}{} skipped", notes.empty() ? "" : ", ", plural(skipped, "event"));
  }
  console.err(fmt::format("dry run: {} for {} would be sent{}; nothing was sent",
                          plural(requests, "request"), plural(found - skipped, "event"),
                          notes.empty() ? std::string() : " (" + notes + ")"));
  return unsendable > 0 || skipped > 0 || found < selection.events.size() ? 1 : 0;
}

// ---------------------------------------------------------------------------
// Sending

// Prints delivery lines and the progress line (the Console keeps them apart) and counts
// outcomes. Called from the Fanout's worker threads and the main thread.
class Reporter
{
public:
  Reporter(bool json, std::size_t total_events, engine::Console& console)
      : m_json(json), m_color(console.out_color()), m_console(console),
        m_progress(total_events > k_progress_min_events && console.shows_status()),
        m_total(total_events)
  {}

  // A delivery attempt finished (its record is in the log).
  void delivered(const core::Delivery& delivery)
  {
    const bool failed = !delivery.error.empty() || delivery.status >= 400 || delivery.status <= 0;
    const std::string line =
        m_json ? core::to_json_line(delivery)
               : fmt::format("  {}  {}", core::render_delivery_line(delivery, m_color),
                             core::short_id(delivery.event_id));
    std::lock_guard lock(m_mutex);
    ++(failed ? m_failed : m_ok);
    m_console.out(line);
    draw_progress(false);
  }

  // Every delivery of one more event was started.
  void event_sent()
  {
    std::lock_guard lock(m_mutex);
    ++m_sent;
    draw_progress(false);
  }

  // One more event was left out; `warning` says why.
  void event_skipped(const std::string& warning)
  {
    std::lock_guard lock(m_mutex);
    ++m_skipped;
    m_console.warning(warning);
    draw_progress(true);
  }

  // Print a diagnostic line, keeping the progress line below it.
  void note(const std::string& text)
  {
    std::lock_guard lock(m_mutex);
    m_console.err(text);
  }

  // Remove the progress line for good.
  void finish()
  {
    std::lock_guard lock(m_mutex);
    if (m_progress) {
      m_console.status({});
      m_progress = false;
    }
  }

  std::size_t sent()
  {
    std::lock_guard lock(m_mutex);
    return m_sent;
  }
  std::size_t skipped()
  {
    std::lock_guard lock(m_mutex);
    return m_skipped;
  }
  std::size_t ok()
  {
    std::lock_guard lock(m_mutex);
    return m_ok;
  }
  std::size_t failed()
  {
    std::lock_guard lock(m_mutex);
    return m_failed;
  }

private:
  void draw_progress(bool force)
  {
    if (!m_progress) {
      return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (!force && m_drawn_once && now - m_drawn < k_progress_interval) {
      return;
    }
    m_drawn = now;
    m_drawn_once = true;
    const std::size_t done = m_sent + m_skipped;
    const std::size_t filled = m_total == 0 ? 0 : done * k_progress_bar_width / m_total;
    std::string bar(k_progress_bar_width, ' ');
    std::fill_n(bar.begin(), filled, '=');
    if (filled < k_progress_bar_width) {
      bar[filled] = '>';
    }
    m_console.status(fmt::format("replaying [{}] {}/{} events  {} ok  {} failed", bar, done,
                                 m_total, m_ok, m_failed));
  }

  const bool m_json;
  const bool m_color;
  engine::Console& m_console;
  bool m_progress;
  const std::size_t m_total;
  std::mutex m_mutex; // guards everything below
  std::size_t m_sent = 0;
  std::size_t m_skipped = 0;
  std::size_t m_ok = 0;
  std::size_t m_failed = 0;
  bool m_drawn_once = false;
  std::chrono::steady_clock::time_point m_drawn;
};

// Everything the Fanout's worker threads touch, kept together so that it can be
// left alive when Ctrl-C gives up on deliveries that do not finish (see send_all).
struct Engine
{
  Engine(core::EventLogWriter log, const ReplayOptions& options,
         const engine::FanoutOptions& fanout_options, std::size_t total_events,
         engine::Console& console)
      : reporter(options.json, total_events, console), writer(std::move(log)), client([&] {
          net::ForwardClientOptions client_options;
          client_options.insecure = options.delivery.insecure;
          client_options.max_idle_per_target = std::max<std::size_t>(32, options.concurrency);
          return client_options;
        }()),
        fanout(fanout_options, client, writer, clock, ids, console,
               [this](const core::Delivery& delivery) { reporter.delivered(delivery); })
  {}

  Reporter reporter;
  core::EventLogWriter writer;
  net::ForwardClient client;
  core::SystemClock clock;
  core::RandomIdSource ids;
  engine::Fanout fanout; // last: destroyed first, joining its workers
};

// Set when Ctrl-C gave up on deliveries that did not finish (see send_all).
Engine* g_abandoned = nullptr;

Result<int>
send_all(const ReplayOptions& options, const core::EventLogReader& reader,
         const engine::ReplaySelection& selection, const std::vector<Send>& to,
         const engine::Stop& stop, engine::Console& console)
{
  const auto started = std::chrono::steady_clock::now();
  auto warn = [&console](const std::string& message) { console.warning(message); };
  RAG_TRY_ASSIGN(core::EventLogWriter writer, core::EventLogWriter::open(options.log_path, warn));

  engine::FanoutOptions fanout_options;
  fanout_options.delivery = options.delivery;
  fanout_options.replay = true;
  // One worker per target keeps each target's order; the global bound comes from
  // wait_for_capacity below.
  fanout_options.delivery.ordered = options.concurrency == 1;
  fanout_options.max_workers_per_target = options.concurrency;
  fanout_options.set_headers = options.set_headers;
  auto replayer = std::make_unique<Engine>(std::move(writer), options, fanout_options,
                                           selection.events.size(), console);
  engine::Fanout& fanout = replayer->fanout;
  Reporter& reporter = replayer->reporter;

  core::SystemClock clock;
  std::optional<core::RateLimiter> limiter;
  if (options.rate_per_second > 0) {
    limiter.emplace(clock, options.rate_per_second);
  }

  bool interrupted = false;
  std::vector<Send> scratch;
  std::vector<std::string> resigned;
  const auto send_event = [&](core::Event&& event, const engine::ChosenEvent& chosen) {
    if (const std::string reason =
            skip_reason(event, !to.empty() || chosen.targets != 0, options.include_rejected);
        !reason.empty()) {
      reporter.event_skipped(fmt::format("{} skipped: {}", event.id, reason));
      return !stop.requested();
    }
    const auto payload =
        make_payload(std::move(event), options.resign, resigned, replayer->ids, console);
    for (const Send& send : sends_for(chosen, selection, to, scratch)) {
      while (!fanout.wait_for_capacity(options.concurrency, k_poll)) {
        if (stop.requested()) {
          break;
        }
      }
      if (limiter) {
        const std::int64_t wait_us = limiter->acquire();
        if (wait_us > 0) {
          stop.wait_for(std::chrono::microseconds(wait_us));
        }
      }
      if (stop.requested()) {
        interrupted = true;
        return false;
      }
      fanout.dispatch_one(payload, send.destination, send.request_target);
    }
    reporter.event_sent();
    return true;
  };
  auto found = engine::read_selected(reader, selection, send_event);

  // Let what was started finish; after Ctrl-C only for a bounded time.
  while (!fanout.wait_for_capacity(1, k_poll)) {
    if (stop.requested()) {
      break;
    }
  }
  interrupted = interrupted || stop.requested();
  if (interrupted) {
    reporter.note(fmt::format("rag: stopping: no new events are sent; waiting up to {}s for "
                              "deliveries in flight (Ctrl-C again to quit at once)",
                              k_drain_limit.count()));
  }
  const std::size_t unfinished =
      fanout.drain(interrupted ? std::chrono::milliseconds(k_drain_limit) : k_poll);
  reporter.finish();

  const std::size_t total = selection.events.size();
  const std::size_t sent = reporter.sent();
  const std::size_t skipped = reporter.skipped();
  const std::size_t ok = reporter.ok();
  const std::size_t failed = reporter.failed();
  const auto elapsed_us = std::chrono::duration_cast<std::chrono::microseconds>(
                              std::chrono::steady_clock::now() - started)
                              .count();
  std::string summary =
      fmt::format("{}replayed {}{}: {}, {} ok, {} failed in {}", interrupted ? "interrupted: " : "",
                  sent == total ? "" : fmt::format("{} of ", sent), plural(total, "event"),
                  plural(ok + failed, "delivery", "deliveries"), ok, failed,
                  core::format_duration_us(elapsed_us));
  if (skipped > 0) {
    summary += fmt::format("; {} skipped (see the warnings)", plural(skipped, "event"));
  }
  if (sent + skipped < total) {
    summary += fmt::format("; {} not sent", plural(total - sent - skipped, "event"));
  }
  if (unfinished > 0) {
    summary += fmt::format("; {} did not finish", plural(unfinished, "delivery", "deliveries"));
  }
  console.err(summary);
  if (found && *found < total && !interrupted) {
    console.warning(fmt::format(
        "{} of the selected events were no longer in the log (pruned meanwhile?)", total - *found));
  }

  if (unfinished > 0) {
    // Workers are still inside send() (up to --timeout): keep what they use alive
    // rather than wait for them; the process exits right after this.
    g_abandoned = replayer.release();
  }
  if (!found) {
    return found.error();
  }
  return failed > 0 || sent < total || unfinished > 0 ? 1 : 0;
}

} // namespace

std::string
skip_reason(const core::Event& event, bool has_targets, bool include_rejected)
{
  // A request refused before it was whole has no body in the log: what would go out is
  // not what its sender sent, whatever the flags say.
  if (event.rejected && event.rejected->body_dropped) {
    return fmt::format("rag refused it with {} ({}) when it was captured, and a refused "
                       "request's body is not recorded, so there is nothing to replay",
                       event.rejected->status, core::terminal_line(event.rejected->reason));
  }
  // The log keeps the verdict, not whether the listener had --reject-invalid on: any
  // event that verification failed is one it refuses (or would have), i.e. a request
  // that may be forged, and it is not sent anywhere unless asked for.
  if (!include_rejected && event.verdict.rfind("invalid", 0) != 0 && event.rejected) {
    return fmt::format("rag refused it with {} ({}) when it was captured; add "
                       "--include-rejected to replay it anyway",
                       event.rejected->status, core::terminal_line(event.rejected->reason));
  }
  if (!include_rejected && event.verdict.rfind("invalid", 0) == 0) {
    return fmt::format("its signature failed verification when it was captured ({}), which "
                       "--reject-invalid refuses; add --include-rejected to replay it anyway",
                       core::terminal_line(event.verdict));
  }
  if (!has_targets) {
    return "it was never delivered anywhere, so there is no original target to replay to; "
           "give a target with --to URL";
  }
  return {};
}

std::vector<std::size_t>
resign_schemes(const std::vector<core::SignatureSpec>& resign, const core::Headers& headers)
{
  std::vector<std::size_t> schemes;
  for (std::size_t i = 0; i < resign.size(); ++i) {
    if (core::has_signature_header(resign[i], headers)) {
      schemes.push_back(i);
    }
  }
  if (schemes.empty() && resign.size() == 1) {
    schemes.push_back(0);
  }
  return schemes;
}

namespace {

// What replay selects, from its options.
engine::ReplaySelectionOptions
selection_options(const ReplayOptions& options)
{
  engine::ReplaySelectionOptions selection;
  selection.ids = options.ids;
  selection.last = options.last;
  selection.original_targets = options.to.empty();
  return selection;
}

} // namespace

Result<int>
run_replay(const ReplayOptions& options, engine::Console& console)
{
  const bool filters = options.last != 0 || !options.filter.since.empty() ||
                       !options.filter.until.empty() || !options.filter.method.empty() ||
                       !options.filter.path_glob.empty() || !options.filter.headers.empty() ||
                       !options.filter.grep.empty() || !options.filter.status.empty();
  if (options.ids.empty() && !filters) {
    return usage_error("nothing to replay",
                       "give event IDs, --last N or a filter such as --since 10m or --status "
                       "failed; see `rag replay --help`");
  }
  if (!options.ids.empty() && filters) {
    return usage_error("event IDs cannot be combined with --last or filters",
                       "drop the IDs to replay what the filters select, or drop the filters");
  }
  if (options.last < 0) {
    return usage_error("--last must be a positive number", "e.g. --last 10");
  }
  if (options.concurrency < 1) {
    return usage_error("--concurrency must be at least 1", "e.g. --concurrency 8");
  }
  RAG_TRY_ASSIGN(const core::EventFilter filter,
                 core::EventFilter::parse(options.filter, core::SystemClock().now_us()));

  // Before any other thread exists, so that every thread inherits the blocked mask.
  engine::StopSignal signals;
  const engine::Stop& stop = signals.stop();

  const core::EventLogReader reader(
      options.log_path, [&console](const std::string& message) { console.warning(message); });
  RAG_TRY_ASSIGN(const engine::ReplaySelection selection,
                 engine::select_for_replay(selection_options(options), filter, reader,
                                           [&] { return stop.requested(); }));
  if (stop.requested()) {
    console.err("rag: interrupted before anything was sent");
    return 1;
  }
  if (selection.events.empty()) {
    console.err(fmt::format("rag: no events in {} match; nothing was replayed", options.log_path));
    return 0;
  }
  // Events without an original target (selection.untargeted) are skipped one by one
  // while sending, with a warning naming each: the others are still replayed.
  if (!selection.bad_url.empty()) {
    return error(fmt::format("cannot replay to the recorded target {}", selection.bad_url),
                 "give a target with --to URL");
  }
  std::vector<Send> to;
  for (const auto& target : options.to) {
    to.push_back(Send{core::Destination{target, {}}, {}});
  }

  if (options.dry_run) {
    return dry_run(options, reader, selection, to, console);
  }
  return send_all(options, reader, selection, to, stop, console);
}

} // namespace rag::commands
