#pragma once

// The capture-and-forward pipeline `rag listen` and `rag tunnel` share: a request
// becomes an event (id, time, signature verdict), goes into the log, is shown on the
// terminal, and is fanned out to its destinations; the sender's answer comes from
// the primary target, rag itself, or a rejection.

#include "core/clock.hpp"
#include "core/forward_plan.hpp"
#include "core/http_client.hpp"
#include "core/http_request.hpp"
#include "core/id.hpp"
#include "core/log/writer.hpp"
#include "core/record.hpp"
#include "core/routing.hpp"
#include "core/signature.hpp"
#include "engine/delivery_policy.hpp"
#include "engine/fanout.hpp"
#include "util/deferred_task.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace rag::engine {

// Concurrent deliveries to one target of a listener or tunnel: enough for a secondary
// target to keep pace with a primary that as many senders call at once. The forward
// client should park as many connections per target.
constexpr std::size_t k_pipeline_workers_per_target = 64;

// What decides where captured requests go and how they are checked and shown.
struct PipelineOptions
{
  core::RoutingTable routing;
  std::optional<core::RespondPolicy> respond; // overrides the routes' policies when set
  DeliveryPolicy delivery;
  std::vector<core::SignatureSpec> verify; // for requests no route verifies
  bool reject_invalid = false;             // answer 401 to a request that fails them
  bool json = false;                       // print log records instead of terminal lines
  bool color = false;                      // colour the terminal lines
};

// Where a request came from, as the caller (a listener or a tunnel) knows it.
struct CaptureOrigin
{
  std::string source;           // the event's source: "listen:ADDR", "tunnel:URL"
  std::string remote;           // the sender "IP:PORT"; may be empty
  std::string relay_id;         // the relay's id for the event (tunnel); else empty
  core::ForwardContext context; // X-Forwarded-* and Host policy for its deliveries
  // The time signature timestamps are checked against; 0 means the capture time. A
  // tunnel passes when the relay received the request, so events it catches up on
  // later are judged as the relay would have judged them.
  std::int64_t verify_time_us = 0;
};

// The answer a sender gets.
struct SenderResponse
{
  int status = 200;
  core::Headers headers;
  std::string body;
  // What is left to do once the answer has been sent (the primary target's delivery
  // record); runs when the response is destroyed if nobody ran it before.
  util::DeferredTask after_answer = {};
};

// A request that went through capture: answered already, or ready to forward.
struct CapturedRequest
{
  std::string event_id;                        // empty when the event could not be logged
  bool logged = false;                         // the event is in the log
  std::optional<SenderResponse> answer;        // set when nothing is to be forwarded (500, 401, no
                                               // destination)
  std::shared_ptr<Payload> payload;            // else: what to forward,
  std::vector<core::Destination> destinations; // where to,
  core::RespondPolicy policy;                  // and how the sender is answered
};

// The answer to a captured request: known now, or once the primary target answers.
class PendingResponse
{
public:
  // An answer that is already known.
  explicit PendingResponse(SenderResponse ready);
  // The primary target's answer (502 when it gave none), once it arrives.
  explicit PendingResponse(std::future<PrimaryOutcome> primary);

  // Wait for and return the answer; call once.
  SenderResponse get();

private:
  std::optional<SenderResponse> m_ready;
  std::future<PrimaryOutcome> m_primary;
};

// Captures requests into the log and forwards them. Safe to call from many threads.
class CapturePipeline
{
public:
  // Receives each line for stdout (an event or a delivery, terminal form or JSON).
  using PrintFn = std::function<void(const std::string&)>;

  // Errors and warnings go to `console`; `print` (event and delivery lines) defaults to
  // its out().
  CapturePipeline(PipelineOptions options, core::HttpClient& client, core::EventLogWriter& log,
                  core::Clock& clock, core::IdSource& ids, Console& console, PrintFn print = {});
  CapturePipeline(const CapturePipeline&) = delete;
  CapturePipeline& operator=(const CapturePipeline&) = delete;

  // Capture, log, show and forward `request`, and return the sender's answer (waiting
  // for the primary target when the policy says so). In ordered mode requests are
  // logged and dispatched in one order; otherwise the primary target is called on the
  // calling thread and the event is logged while it works on the request (the answer
  // is still never given before the event is in the log), and the primary's delivery
  // record is left to the answer's `after_answer`.
  SenderResponse handle(core::HttpRequest&& request, const CaptureOrigin& origin);

  // The first half of handle(): build the event (new id, capture time, verdict), append
  // it to the log and print it. A log that cannot be written gives an answer of 500 and
  // `logged` false (never acknowledge what is not in the log); a failed signature with
  // reject_invalid gives 401; a request no destination takes gives rag's own answer.
  CapturedRequest capture(core::HttpRequest&& request, const CaptureOrigin& origin);

  // The second half of handle(): dispatch a captured request to its destinations and
  // return its answer, pending while the primary target is called. In unordered mode
  // the primary's first attempt runs on the calling thread.
  PendingResponse forward(CapturedRequest&& captured);

  // Log a request refused before it was whole (faulty framing, too large, too slow): an
  // event with what was read of it (`request`, whose body is ignored: none is recorded)
  // and `rejection`, what its sender was answered, shown like any event. Nothing is
  // forwarded. Return false (reported on stderr) when the log could not be written.
  bool record_refused(core::HttpRequest&& request, const CaptureOrigin& origin,
                      core::Rejection rejection);

  // Wait until fewer than `max_pending` deliveries are queued or running, or `limit`
  // passed; return true when there is room.
  bool wait_for_capacity(std::size_t max_pending, std::chrono::milliseconds limit);

  // Wait until every delivery finished or `limit` passed; return how many are left.
  std::size_t drain(std::chrono::milliseconds limit);

  // Events captured (logged) so far.
  std::uint64_t captured_count() const { return m_captured.load(); }

  const PipelineOptions& options() const { return m_options; }

private:
  // A captured request before it is logged.
  struct Prepared
  {
    core::Event event;
    std::string line;  // its log record
    std::string shown; // what the terminal shows for it (the record with --json)
    core::RoutingDecision decision;
    core::RespondPolicy policy;
    bool rejected = false; // failed verification with reject_invalid
  };
  // The event of `request` as captured now from `origin`: new id, time, the request.
  core::Event new_event(core::HttpRequest&& request, const CaptureOrigin& origin);
  Prepared prepare(core::HttpRequest&& request, const CaptureOrigin& origin);
  bool log_event(const Prepared& prepared);
  CapturedRequest commit(Prepared&& prepared, const CaptureOrigin& origin);
  SenderResponse handle_inline(Prepared&& prepared, const CaptureOrigin& origin);
  void print_line(const std::string& line);

  PipelineOptions m_options;
  core::EventLogWriter& m_log;
  Console& m_console;
  core::Clock& m_clock;
  core::IdSource& m_ids;
  PrintFn m_print;
  std::unique_ptr<Fanout> m_fanout;
  std::atomic<std::uint64_t> m_captured{0};
  // The last append failed (a full disk, say): until one succeeds, events are written
  // before any target is called, not while the primary works on them, so that no
  // target sees an event the log does not hold.
  std::atomic<bool> m_log_failing{false};
  // In ordered mode the log order and the delivery order must be the same.
  std::mutex m_order_mutex;
};

// Return the terminal line shown for a captured event: local time, method, target,
// size, short id, the signature verdict when there is one and what rag refused it with.
std::string event_line(const core::Event& event, bool color);

} // namespace rag::engine
