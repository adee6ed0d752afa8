#include "engine/capture_pipeline.hpp"

#include "core/event_view.hpp"
#include "core/log/record_writer.hpp"
#include "util/terminal.hpp"

#include <fmt/core.h>

#include <cstdio>
#include <ctime>
#include <utility>

namespace rag::engine {

namespace {

bool
status_has_body(int status)
{
  return status >= 200 && status != 204 && status != 304;
}

// The answer a sender gets when rag answers by itself (--respond STATUS, no target).
SenderResponse
own_response(int status, const std::string& event_id)
{
  SenderResponse response;
  response.status = status;
  response.headers.emplace_back("Rag-Event-Id", event_id);
  if (status_has_body(status)) {
    response.headers.emplace_back("Content-Type", "application/json");
    response.body = fmt::format(R"({{"id":"{}"}})", event_id);
  }
  return response;
}

// The answer when the event could not be logged: never acknowledge what is not in the
// log (the sender may retry).
SenderResponse
log_failure_response()
{
  return SenderResponse{500,
                        {{"Content-Type", "application/json"}},
                        R"({"error":"rag could not write the event log"})"};
}

// Move what a payload carries out of `event` (it is not used afterwards).
std::shared_ptr<Payload>
make_payload(core::Event& event, const CaptureOrigin& origin)
{
  auto payload = std::make_shared<Payload>();
  payload->event_id = event.id;
  payload->method = std::move(event.method);
  payload->target = std::move(event.target);
  payload->headers = std::move(event.headers);
  payload->body = std::make_shared<const std::string>(std::move(event.body));
  payload->context = origin.context;
  return payload;
}

// The answer relayed from the primary target, or 502 when it did not answer.
SenderResponse
primary_response(PrimaryOutcome&& outcome)
{
  SenderResponse response;
  response.after_answer = std::move(outcome.finish);
  if (outcome.response && outcome.response->body_truncated) {
    // The sender would get a cut body with the target's status, as if it were whole;
    // the delivery record keeps the status and the start of the body.
    response.status = 502;
    response.headers.emplace_back("Rag-Event-Id", outcome.record.event_id);
    response.headers.emplace_back("Content-Type", "application/json");
    response.body = fmt::format(
        R"({{"error":"the target answered {} with a body larger than rag passes on","target":"{}","id":"{}"}})",
        outcome.response->status, core::json_escape(outcome.record.target),
        outcome.record.event_id);
    return response;
  }
  if (outcome.response) {
    response.status = outcome.response->status;
    response.headers = core::strip_hop_by_hop(outcome.response->headers);
    response.body = std::move(outcome.response->body);
    return response;
  }
  response.status = 502;
  response.headers.emplace_back("Rag-Event-Id", outcome.record.event_id);
  response.headers.emplace_back("Content-Type", "application/json");
  response.body = fmt::format(R"({{"error":"{}","target":"{}","id":"{}"}})",
                              core::json_escape(outcome.record.error),
                              core::json_escape(outcome.record.target), outcome.record.event_id);
  return response;
}

// The reason a request that failed verification is refused with (the 401's error).
std::string
rejection_reason(const core::Event& event)
{
  return "signature " + event.verdict;
}

FanoutOptions
fanout_options(const PipelineOptions& options)
{
  FanoutOptions fanout;
  fanout.delivery = options.delivery;
  // A secondary target must keep pace with the primary, which is called on the senders'
  // own connection threads (as many as send at once): with 8 workers per target, two
  // secondaries as fast as the primary fell 4,096 deliveries behind under wrk -c32
  // (issue 12). Workers start only while deliveries wait, so light traffic uses few.
  fanout.max_workers_per_target = k_pipeline_workers_per_target;
  return fanout;
}

} // namespace

std::string
event_line(const core::Event& event, bool color)
{
  // Local wall-clock time, as the developer's other terminals show it.
  const std::time_t seconds = static_cast<std::time_t>(event.time_us / 1000000);
  std::tm local{};
  localtime_r(&seconds, &local);
  const std::string clock = fmt::format("{:02}:{:02}:{:02}.{:03}", local.tm_hour, local.tm_min,
                                        local.tm_sec, (event.time_us / 1000) % 1000);
  std::string line =
      fmt::format("{}  {} {}  {}  {}", util::colorize(clock, util::Color::gray, color),
                  util::colorize(core::terminal_line(event.method), util::Color::bold, color),
                  core::terminal_line(event.target), util::human_size(event.body.size()),
                  util::colorize(core::short_id(event.id), util::Color::cyan, color));
  if (!event.verdict.empty()) {
    const util::Color verdict_color =
        event.verdict == "valid" ? util::Color::green : util::Color::red;
    line += "  " +
            util::colorize("signature " + core::terminal_line(event.verdict), verdict_color, color);
  }
  if (event.rejected) {
    line += "  " + util::colorize(fmt::format("refused {} {}", event.rejected->status,
                                              core::terminal_line(event.rejected->reason)),
                                  util::Color::red, color);
  }
  return line;
}

PendingResponse::PendingResponse(SenderResponse ready) : m_ready(std::move(ready)) {}

PendingResponse::PendingResponse(std::future<PrimaryOutcome> primary)
    : m_primary(std::move(primary))
{}

SenderResponse
PendingResponse::get()
{
  if (m_ready) {
    return std::move(*m_ready);
  }
  return primary_response(m_primary.get());
}

CapturePipeline::CapturePipeline(PipelineOptions options, core::HttpClient& client,
                                 core::EventLogWriter& log, core::Clock& clock, core::IdSource& ids,
                                 Console& console, PrintFn print)
    : m_options(std::move(options)), m_log(log), m_console(console), m_clock(clock), m_ids(ids),
      m_print(std::move(print))
{
  auto on_delivery = [this](const core::Delivery& delivery) {
    print_line(m_options.json
                   ? core::to_json_line(delivery)
                   : fmt::format("  {}  {}", core::render_delivery_line(delivery, m_options.color),
                                 core::short_id(delivery.event_id)));
  };
  m_fanout = std::make_unique<Fanout>(fanout_options(m_options), client, log, clock, ids, console,
                                      std::move(on_delivery));
}

void
CapturePipeline::print_line(const std::string& line)
{
  if (m_print) {
    m_print(line);
  } else {
    m_console.out(line);
  }
}

SenderResponse
CapturePipeline::handle(core::HttpRequest&& request, const CaptureOrigin& origin)
{
  if (m_options.delivery.ordered) {
    std::unique_lock order_lock(m_order_mutex);
    PendingResponse pending = forward(capture(std::move(request), origin));
    order_lock.unlock();
    return pending.get();
  }
  Prepared prepared = prepare(std::move(request), origin);
  if (prepared.rejected || prepared.decision.destinations.empty() || !prepared.policy.primary ||
      m_log_failing.load(std::memory_order_relaxed)) {
    return forward(commit(std::move(prepared), origin)).get();
  }
  return handle_inline(std::move(prepared), origin);
}

SenderResponse
CapturePipeline::handle_inline(Prepared&& prepared, const CaptureOrigin& origin)
{
  const std::vector<core::Destination> destinations = std::move(prepared.decision.destinations);
  const std::shared_ptr<const Payload> payload = make_payload(prepared.event, origin);
  bool logged = false;
  // Logging the event (and starting the other targets, which must never see an event
  // the log does not hold) overlaps the primary target's work on the request.
  auto on_sent = [&] {
    logged = log_event(prepared);
    if (logged && destinations.size() > 1) {
      m_fanout->dispatch(payload, {destinations.begin() + 1, destinations.end()}, false);
    }
  };
  PrimaryOutcome outcome = m_fanout->attempt_inline(payload, destinations.front(), on_sent);
  if (!logged) {
    return log_failure_response();
  }
  return primary_response(std::move(outcome));
}

CapturedRequest
CapturePipeline::capture(core::HttpRequest&& request, const CaptureOrigin& origin)
{
  return commit(prepare(std::move(request), origin), origin);
}

core::Event
CapturePipeline::new_event(core::HttpRequest&& request, const CaptureOrigin& origin)
{
  core::Event event;
  event.time_us = m_clock.now_us();
  event.id = m_ids.next("evt", event.time_us);
  event.source = origin.source;
  event.remote = origin.remote;
  event.method = std::move(request.method);
  event.target = std::move(request.target);
  event.http_version = std::move(request.http_version);
  event.headers = std::move(request.headers);
  event.body = std::move(request.body);
  event.trailers = std::move(request.trailers);
  event.chunked = request.chunked;
  event.relay_id = origin.relay_id;
  return event;
}

CapturePipeline::Prepared
CapturePipeline::prepare(core::HttpRequest&& request, const CaptureOrigin& origin)
{
  Prepared prepared;
  prepared.decision =
      core::route_request(m_options.routing, request.method, request.target, request.headers);
  prepared.policy = m_options.respond ? *m_options.respond
                                      : prepared.decision.respond.value_or(core::RespondPolicy{});

  prepared.event = new_event(std::move(request), origin);
  core::Event& event = prepared.event;
  // Verification always runs on the body bytes exactly as received.
  const auto& specs =
      prepared.decision.verify.empty() ? m_options.verify : prepared.decision.verify;
  if (!specs.empty()) {
    const std::int64_t now_us = origin.verify_time_us != 0 ? origin.verify_time_us : event.time_us;
    const core::Verdict verdict = core::verify_any(specs, event.headers, event.body, now_us);
    event.verdict = verdict.text();
    prepared.rejected = m_options.reject_invalid && !verdict.is_valid();
    if (prepared.rejected) {
      event.rejected = core::Rejection{401, rejection_reason(event), std::nullopt};
    }
  }
  prepared.line = core::to_json_line(event);
  prepared.shown = m_options.json ? prepared.line : event_line(event, m_options.color);
  return prepared;
}

// Append the prepared event to the log and show it; false (reported on stderr) when
// the log could not be written.
bool
CapturePipeline::log_event(const Prepared& prepared)
{
  if (auto written = m_log.append(prepared.line); !written) {
    m_log_failing.store(true, std::memory_order_relaxed);
    m_console.error(written.error());
    return false;
  }
  // Read first: a store from every connection thread on each request would bounce the
  // cache line between cores on the listener's hot path.
  if (m_log_failing.load(std::memory_order_relaxed)) {
    m_log_failing.store(false, std::memory_order_relaxed);
  }
  m_captured.fetch_add(1, std::memory_order_relaxed);
  print_line(prepared.shown);
  return true;
}

CapturedRequest
CapturePipeline::commit(Prepared&& prepared, const CaptureOrigin& origin)
{
  CapturedRequest captured;
  if (!log_event(prepared)) {
    captured.answer = log_failure_response();
    return captured;
  }
  core::Event& event = prepared.event;
  captured.logged = true;
  captured.event_id = event.id;
  captured.policy = prepared.policy;
  if (prepared.rejected) {
    captured.answer =
        SenderResponse{401,
                       {{"Rag-Event-Id", event.id}, {"Content-Type", "application/json"}},
                       fmt::format(R"({{"error":"{}","id":"{}"}})",
                                   core::json_escape(rejection_reason(event)), event.id)};
    return captured;
  }
  if (prepared.decision.destinations.empty()) {
    captured.answer =
        own_response(captured.policy.primary ? 200 : captured.policy.status, event.id);
    return captured;
  }
  captured.payload = make_payload(event, origin);
  captured.destinations = std::move(prepared.decision.destinations);
  return captured;
}

PendingResponse
CapturePipeline::forward(CapturedRequest&& captured)
{
  if (captured.answer) {
    return PendingResponse(std::move(*captured.answer));
  }
  auto primary = m_fanout->dispatch(std::move(captured.payload), captured.destinations,
                                    captured.policy.primary);
  if (!captured.policy.primary) {
    return PendingResponse(own_response(captured.policy.status, captured.event_id));
  }
  return PendingResponse(std::move(primary));
}

bool
CapturePipeline::record_refused(core::HttpRequest&& request, const CaptureOrigin& origin,
                                core::Rejection rejection)
{
  // The body is never recorded: it is incomplete, and up to --max-body of it.
  if (!rejection.body_dropped) {
    rejection.body_dropped = request.body.size();
  }
  request.body.clear();
  request.trailers.clear();
  core::Event event = new_event(std::move(request), origin);
  event.rejected = std::move(rejection);
  const std::string line = core::to_json_line(event);
  if (auto written = m_log.append(line); !written) {
    m_console.error(written.error());
    return false;
  }
  print_line(m_options.json ? line : event_line(event, m_options.color));
  return true;
}

bool
CapturePipeline::wait_for_capacity(std::size_t max_pending, std::chrono::milliseconds limit)
{
  return m_fanout->wait_for_capacity(max_pending, limit);
}

std::size_t
CapturePipeline::drain(std::chrono::milliseconds limit)
{
  return m_fanout->drain(limit);
}

} // namespace rag::engine
