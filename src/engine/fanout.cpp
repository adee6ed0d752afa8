#include "engine/fanout.hpp"

#include "core/header_override.hpp"
#include "core/log/record_writer.hpp"
#include "core/retry.hpp"
#include "util/terminal.hpp"

#include <fmt/core.h>

#include <cstdio>
#include <deque>
#include <random>

namespace rag::engine {

struct Fanout::TargetQueue
{
  std::condition_variable ready; // a job arrived or stopping (uses Fanout::m_mutex)
  std::deque<Job> jobs;
  std::vector<std::thread> threads;
  std::size_t idle = 0;
  std::size_t limit = 1;
  std::size_t queued_bytes = 0; // body bytes of `jobs`
  bool refusing = false;        // over a bound since the last warning
};

namespace {

std::size_t
body_size(const Payload& payload)
{
  return payload.body ? payload.body->size() : 0;
}

} // namespace

Fanout::Fanout(FanoutOptions options, core::HttpClient& client, core::EventLogWriter& log,
               core::Clock& clock, core::IdSource& ids, Console& console, DeliveryFn on_delivery)
    : m_options(std::move(options)), m_client(client), m_log(log), m_console(console),
      m_clock(clock), m_ids(ids), m_on_delivery(std::move(on_delivery))
{
  m_flusher = std::thread([this] { record_flusher(); });
}

Fanout::~Fanout()
{
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
    for (auto& [url, queue] : m_queues) {
      queue->jobs.clear();
      queue->ready.notify_all();
      for (auto& thread : queue->threads) {
        threads.push_back(std::move(thread));
      }
    }
    m_changed.notify_all();
  }
  for (auto& thread : threads) {
    thread.join();
  }
  {
    std::lock_guard lock(m_flush_mutex);
    m_flush_stop = true;
  }
  m_flush_wake.notify_one();
  m_flusher.join();
  flush_records();
}

void
Fanout::record_flusher()
{
  std::unique_lock lock(m_flush_mutex);
  while (true) {
    // Sleep until a record is queued (whoever queues one sees m_flush_idle and wakes
    // us); checked under the mutex, so a record queued just before is not missed.
    m_flush_idle = true;
    if (!m_flush_stop && !m_log.has_queued()) {
      m_flush_wake.wait(lock, [this] { return !m_flush_idle || m_flush_stop; });
    }
    m_flush_idle = false;
    if (m_flush_stop) {
      return; // the destructor writes what is left
    }
    // Most records ride along with the next event's write; the rest go out now.
    m_flush_wake.wait_for(lock, k_record_delay, [this] { return m_flush_stop; });
    lock.unlock();
    flush_records();
    lock.lock();
  }
}

void
Fanout::flush_records()
{
  if (auto flushed = m_log.flush(); !flushed) {
    m_console.warning(fmt::format("delivery records were not written to the event log: {}",
                                  flushed.error().message));
  }
}

std::future<PrimaryOutcome>
Fanout::dispatch(std::shared_ptr<const Payload> payload,
                 const std::vector<core::Destination>& destinations, bool want_primary)
{
  std::future<PrimaryOutcome> future;
  const bool primary_inline = want_primary && !m_options.delivery.ordered && !destinations.empty();
  for (std::size_t i = primary_inline ? 1 : 0; i < destinations.size(); ++i) {
    Job job{payload, destinations[i], nullptr, {}};
    if (i == 0 && want_primary) {
      job.primary = std::make_shared<std::promise<PrimaryOutcome>>();
      future = job.primary->get_future();
    }
    submit(std::move(job));
  }
  if (primary_inline) {
    // The sender is waiting for this one: run it here rather than hand it to another
    // thread, after the other targets have been started.
    std::promise<PrimaryOutcome> primary;
    future = primary.get_future();
    primary.set_value(attempt_inline(std::move(payload), destinations.front(), {}));
  }
  return future;
}

PrimaryOutcome
Fanout::attempt_inline(std::shared_ptr<const Payload> payload, const core::Destination& destination,
                       const std::function<void()>& on_sent)
{
  {
    std::lock_guard lock(m_mutex);
    ++m_pending;
  }
  Job job{std::move(payload), destination, nullptr, {}};
  const PlannedDelivery planned =
      plan_delivery(*job.payload, job.destination, job.request_target, m_options.set_headers);
  Attempt first = attempt(job, planned, 1, on_sent);
  PrimaryOutcome outcome{first.record, std::nullopt, {}};
  if (first.result) {
    outcome.response = std::move(*first.result);
  }
  outcome.finish = util::DeferredTask([this, job = std::move(job), record = std::move(first.record),
                                       retryable = first.retryable]() mutable {
    if (record_attempt(record, retryable) && !stopping()) {
      // Later attempts wait on the target's worker, not on the sender's connection.
      job.first_attempt = 2;
      job.delay = retry_delay(record);
      submit(std::move(job));
    }
    finished_one();
  });
  return outcome;
}

PlannedDelivery
plan_delivery(const Payload& payload, const core::Destination& destination,
              std::string_view request_target, const core::Headers& set_headers)
{
  const core::Target& target = destination.target;
  auto plan = core::plan_request(target, payload.method, payload.target, payload.headers,
                                 payload.body, payload.context, destination.strip_prefix);
  if (!plan) {
    return {std::move(plan), target.url};
  }
  if (!request_target.empty()) {
    plan->target = std::string(request_target);
  }
  if (!set_headers.empty()) {
    plan->headers = core::apply_header_overrides(plan->headers, set_headers);
  }
  std::string url =
      fmt::format("{}://{}{}", target.scheme, core::host_header_value(target), plan->target);
  return {std::move(plan), std::move(url)};
}

void
Fanout::dispatch_one(std::shared_ptr<const Payload> payload, core::Destination destination,
                     std::string request_target)
{
  submit(Job{std::move(payload), std::move(destination), nullptr, std::move(request_target)});
}

bool
Fanout::wait_for_capacity(std::size_t max_pending, std::chrono::milliseconds limit)
{
  std::unique_lock lock(m_mutex);
  return m_changed.wait_for(lock, limit, [&] { return m_pending < max_pending; });
}

void
Fanout::submit(Job job)
{
  std::unique_lock lock(m_mutex);
  auto& slot = m_queues[job.destination.target.url];
  if (!slot) {
    slot = std::make_unique<TargetQueue>();
    slot->limit =
        m_options.delivery.ordered ? 1 : std::max<std::size_t>(1, m_options.max_workers_per_target);
  }
  TargetQueue& queue = *slot;
  const std::size_t bytes = body_size(*job.payload);
  // Only new deliveries are refused: a sender waits for the primary's, and a retry was
  // counted when it first came.
  const bool fresh = job.primary == nullptr && job.first_attempt == 1;
  if (fresh && (queue.jobs.size() >= m_options.max_queued_per_target ||
                queue.queued_bytes + bytes > m_options.max_queued_bytes_per_target)) {
    const bool first = !std::exchange(queue.refusing, true);
    const std::size_t waiting = queue.jobs.size();
    const std::size_t waiting_bytes = queue.queued_bytes;
    lock.unlock();
    refuse_queued(job, waiting, waiting_bytes, first);
    return;
  }
  if (queue.jobs.empty()) {
    queue.refusing = false; // caught up: the next refusal is news again
  }
  ++m_pending;
  queue.queued_bytes += bytes;
  queue.jobs.push_back(std::move(job));
  if (queue.idle > 0) {
    queue.ready.notify_one();
  } else if (queue.threads.size() < queue.limit && !m_stopping) {
    queue.threads.emplace_back([this, &queue] { worker(queue); });
  }
}

void
Fanout::refuse_queued(const Job& job, std::size_t waiting, std::size_t waiting_bytes, bool first)
{
  const PlannedDelivery planned =
      plan_delivery(*job.payload, job.destination, job.request_target, m_options.set_headers);
  const std::string why = fmt::format("not sent: {} deliveries ({}) already wait for this target",
                                      waiting, util::human_size(waiting_bytes));
  if (first) {
    m_console.warning(fmt::format("{} is falling behind ({} deliveries, {} waiting); new "
                                  "deliveries to it are recorded as failed until it catches up "
                                  "(`rag replay --status failed` re-sends them)",
                                  job.destination.target.url, waiting,
                                  util::human_size(waiting_bytes)));
  }
  const Result<core::HttpResult> refused = error(why);
  record_attempt(attempt_record(job, planned.url, 1, m_clock.now_us(), refused), false);
}

void
Fanout::worker(TargetQueue& queue)
{
  std::unique_lock lock(m_mutex);
  while (true) {
    if (queue.jobs.empty()) {
      if (m_stopping) {
        return;
      }
      ++queue.idle;
      queue.ready.wait(lock, [&] { return m_stopping || !queue.jobs.empty(); });
      --queue.idle;
      continue;
    }
    Job job = std::move(queue.jobs.front());
    queue.jobs.pop_front();
    queue.queued_bytes -= body_size(*job.payload);
    lock.unlock();
    deliver(job);
    finished_one();
    lock.lock();
  }
}

void
Fanout::finished_one()
{
  std::lock_guard lock(m_mutex);
  --m_pending;
  m_changed.notify_all();
}

std::size_t
Fanout::drain(std::chrono::milliseconds limit)
{
  std::unique_lock lock(m_mutex);
  m_changed.wait_for(lock, limit, [&] { return m_pending == 0; });
  const std::size_t left = m_pending;
  // Whatever is still queued will not start now; retry waits end early.
  m_stopping = true;
  for (auto& [url, queue] : m_queues) {
    queue->jobs.clear();
    queue->ready.notify_all();
  }
  m_changed.notify_all();
  lock.unlock();
  flush_records();
  return left;
}

void
Fanout::wait_before_retry(std::chrono::milliseconds delay)
{
  if (m_options.sleep) {
    m_options.sleep(delay);
    return;
  }
  std::unique_lock lock(m_mutex);
  m_changed.wait_for(lock, delay, [&] { return m_stopping; });
}

core::Delivery
Fanout::attempt_record(const Job& job, const std::string& url, int attempt, std::int64_t start_us,
                       const Result<core::HttpResult>& result) const
{
  core::Delivery record;
  record.id = m_ids.next("dlv", start_us);
  record.event_id = job.payload->event_id;
  record.time_us = start_us;
  record.target = url;
  record.attempt = attempt;
  record.replay = m_options.replay;
  if (result) {
    record.status = result->status;
    record.duration_us = result->duration.count();
    record.response_headers = result->headers;
    const std::size_t keep = std::min(result->body.size(), m_options.max_recorded_body);
    record.response_body = result->body.substr(0, keep);
    record.response_truncated = result->body_truncated || keep < result->body.size();
  } else {
    record.duration_us = m_clock.now_us() - start_us;
    record.error = result.error().message;
  }
  return record;
}

Fanout::Attempt
Fanout::attempt(const Job& job, const PlannedDelivery& planned, int number,
                const std::function<void()>& on_sent)
{
  const std::int64_t start_us = m_clock.now_us();
  auto send = [&]() -> Result<core::HttpResult> {
    if (planned.request) {
      return m_client.send_notifying(job.destination.target, *planned.request,
                                     m_options.delivery.timeout, on_sent);
    }
    if (on_sent) {
      on_sent();
    }
    return planned.request.error();
  };
  Result<core::HttpResult> result = send();
  core::Delivery record = attempt_record(job, planned.url, number, start_us, result);
  const bool retryable = planned.request && (!result || core::is_retryable_status(result->status));
  return Attempt{std::move(result), std::move(record), retryable};
}

bool
Fanout::record_attempt(const core::Delivery& record, bool retryable)
{
  if (auto queued = m_log.enqueue(core::to_json_line(record)); !queued) {
    // The delivery happened; losing its record is reported, not fatal.
    core::Delivery shown = record;
    shown.error = shown.error.empty() ? "not recorded: " + queued.error().message : shown.error;
    if (m_on_delivery) {
      m_on_delivery(shown);
    }
  } else {
    bool wake = false;
    {
      std::lock_guard lock(m_flush_mutex);
      wake = std::exchange(m_flush_idle, false);
    }
    if (wake) {
      m_flush_wake.notify_one();
    }
    if (m_on_delivery) {
      m_on_delivery(record);
    }
  }
  return retryable && record.attempt < 1 + std::max(0, m_options.delivery.retries);
}

std::chrono::milliseconds
Fanout::retry_delay(const core::Delivery& record) const
{
  thread_local std::mt19937_64 random{std::random_device{}()};
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  return core::backoff_delay(record.attempt, uniform(random), record.response_headers);
}

bool
Fanout::stopping()
{
  std::lock_guard lock(m_mutex);
  return m_stopping;
}

void
Fanout::deliver(const Job& job)
{
  const PlannedDelivery planned =
      plan_delivery(*job.payload, job.destination, job.request_target, m_options.set_headers);
  std::chrono::milliseconds delay = job.delay;
  for (int number = job.first_attempt;; ++number) {
    if (number > 1) {
      if (stopping()) {
        break;
      }
      wait_before_retry(delay);
    }
    Attempt made = attempt(job, planned, number, {});
    const bool again = record_attempt(made.record, made.retryable);
    if (number == 1 && job.primary) {
      PrimaryOutcome outcome{made.record, std::nullopt, {}};
      if (made.result) {
        outcome.response = std::move(*made.result);
      }
      job.primary->set_value(std::move(outcome));
    }
    if (!again) {
      break;
    }
    delay = retry_delay(made.record);
  }
}
} // namespace rag::engine
