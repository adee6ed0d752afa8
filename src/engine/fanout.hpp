#pragma once

#include "core/clock.hpp"
#include "core/http_client.hpp"
#include "core/id.hpp"
#include "core/log/writer.hpp"
#include "core/record.hpp"
#include "core/routing.hpp"
#include "engine/console.hpp"
#include "engine/delivery_policy.hpp"
#include "util/deferred_task.hpp"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace rag::engine {

struct FanoutOptions
{
  DeliveryPolicy delivery;                   // timeout, retries, ordered
  bool replay = false;                       // mark delivery records as replays
  std::size_t max_recorded_body = 64 * 1024; // response body kept in a delivery record
  std::size_t max_workers_per_target = 8;    // concurrent deliveries to one target
  // A target that falls this far behind (deliveries, or bytes of their bodies waiting)
  // gets no more queued: a new delivery to it is recorded as failed at once (the event
  // is in the log, replayable), so a hung target cannot make rag hold every body.
  std::size_t max_queued_per_target = 4096;
  std::size_t max_queued_bytes_per_target = 64 * 1024 * 1024;
  // Replace or add these headers on every planned request (core::apply_header_overrides;
  // `rag replay --set-header`).
  core::Headers set_headers;
  // Waits between retries; the default waits on a condition that stop() interrupts.
  // Tests pass a function that records the delay instead of sleeping.
  std::function<void(std::chrono::milliseconds)> sleep;
};

// The request an event turns into, shared by all of its deliveries (the body is
// never copied per target).
struct Payload
{
  std::string event_id;
  std::string method;
  std::string target; // raw incoming target
  core::Headers headers;
  std::shared_ptr<const std::string> body;
  core::ForwardContext context;
};

// What one delivery sends, and the URL its delivery record names.
struct PlannedDelivery
{
  Result<core::OutgoingRequest> request; // an Error when the request cannot be sent
  std::string url;                       // scheme://host[:port] + request target
};

// Plan what a delivery of `payload` to `destination` sends, exactly as Fanout does:
// the forward plan (core::plan_request), then the request target replaced by
// `request_target` when that is not empty, then `set_headers` applied. A request
// that cannot be planned names the destination's URL.
PlannedDelivery plan_delivery(const Payload& payload, const core::Destination& destination,
                              std::string_view request_target, const core::Headers& set_headers);

// What the primary target answered on the first attempt.
struct PrimaryOutcome
{
  core::Delivery record;
  std::optional<core::HttpResult> response; // set when the target answered
  // For an attempt made on the caller's thread: appends its delivery record, reports
  // it and hands any retries to the target's workers. Run it once the sender has its
  // answer (it runs when destroyed otherwise). Empty when a worker made the attempt.
  util::DeferredTask finish;
};

// Delivers events to their destinations: all targets of an event at once, each
// target with its own workers (one when ordered) so that a slow or dead target
// never delays another; every attempt is appended to the log as a delivery record.
class Fanout
{
public:
  using DeliveryFn = std::function<void(const core::Delivery&)>;

  // Warnings (records not written, a target falling behind) go to `console`.
  Fanout(FanoutOptions options, core::HttpClient& client, core::EventLogWriter& log,
         core::Clock& clock, core::IdSource& ids, Console& console, DeliveryFn on_delivery);
  ~Fanout();
  Fanout(const Fanout&) = delete;
  Fanout& operator=(const Fanout&) = delete;

  // Start delivering `payload` to `destinations`. When `want_primary` the first
  // destination's first attempt is reported through the returned future (in
  // unordered mode it runs on the calling thread, as attempt_inline() does, after the
  // other destinations were started); otherwise the future is invalid.
  std::future<PrimaryOutcome> dispatch(std::shared_ptr<const Payload> payload,
                                       const std::vector<core::Destination>& destinations,
                                       bool want_primary);

  // Make the first attempt to deliver `payload` to `destination` on the calling thread,
  // calling `on_sent` once the request is on its way (core::HttpClient::send_notifying),
  // and return what the target answered; the outcome's `finish` does the rest. The
  // delivery counts as pending until `finish` has run.
  PrimaryOutcome attempt_inline(std::shared_ptr<const Payload> payload,
                                const core::Destination& destination,
                                const std::function<void()>& on_sent);

  // Start delivering `payload` to `destination` on a worker thread. A non-empty
  // `request_target` is sent as it is instead of the payload's target mapped for the
  // destination (how replay re-sends to the exact URL of an earlier delivery).
  void dispatch_one(std::shared_ptr<const Payload> payload, core::Destination destination,
                    std::string request_target = {});

  // Wait until fewer than `max_pending` deliveries are queued or running, or `limit`
  // passed; return true when there is room (backpressure for a producer that must
  // bound the deliveries in flight).
  bool wait_for_capacity(std::size_t max_pending, std::chrono::milliseconds limit);

  // Wait until no delivery is queued or running, or `limit` passed; return how many
  // are left, once the records of the finished ones are in the log. Retry waits are
  // cut short.
  std::size_t drain(std::chrono::milliseconds limit);

  // Delivery records are queued in the log (nobody waits for them) and written with the
  // next event's append or by a background thread at most this long after.
  static constexpr std::chrono::milliseconds k_record_delay{10};

  // Write the delivery records still queued now; a failure is reported on stderr.
  void flush_records();

private:
  struct Job
  {
    std::shared_ptr<const Payload> payload;
    core::Destination destination;
    std::shared_ptr<std::promise<PrimaryOutcome>> primary;
    std::string request_target;         // sent as is when not empty (dispatch_one)
    int first_attempt = 1;              // > 1: a retry handed over after an inline attempt,
    std::chrono::milliseconds delay{0}; // made after this backoff
  };
  // One attempt: the target's answer (or why there was none) and its record.
  struct Attempt
  {
    Result<core::HttpResult> result;
    core::Delivery record;
    bool retryable = false;
  };
  struct TargetQueue;

  void submit(Job job);
  void refuse_queued(const Job& job, std::size_t waiting, std::size_t waiting_bytes, bool first);
  void worker(TargetQueue& queue);
  void deliver(const Job& job);
  Attempt attempt(const Job& job, const PlannedDelivery& planned, int number,
                  const std::function<void()>& on_sent);
  bool record_attempt(const core::Delivery& record, bool retryable);
  std::chrono::milliseconds retry_delay(const core::Delivery& record) const;
  core::Delivery attempt_record(const Job& job, const std::string& url, int attempt,
                                std::int64_t start_us,
                                const Result<core::HttpResult>& result) const;
  bool stopping();
  void wait_before_retry(std::chrono::milliseconds delay);
  void finished_one();
  void record_flusher();

  FanoutOptions m_options;
  core::HttpClient& m_client;
  core::EventLogWriter& m_log;
  Console& m_console;
  core::Clock& m_clock;
  core::IdSource& m_ids;
  DeliveryFn m_on_delivery;

  std::mutex m_mutex;                // guards everything below
  std::condition_variable m_changed; // pending count changed or stopping
  std::map<std::string, std::unique_ptr<TargetQueue>> m_queues;
  std::size_t m_pending = 0;
  bool m_stopping = false;

  std::mutex m_flush_mutex;             // guards the two flags below
  std::condition_variable m_flush_wake; // records were queued, or stopping
  bool m_flush_idle = false;            // the flusher sleeps until told
  bool m_flush_stop = false;
  std::thread m_flusher; // started last, joined first
};

} // namespace rag::engine
