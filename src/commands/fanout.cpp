#include "commands/fanout.hpp"

#include "core/header_override.hpp"
#include "core/record_json.hpp"
#include "core/retry.hpp"

#include <fmt/core.h>

#include <deque>
#include <random>

namespace rag::commands {

struct Fanout::TargetQueue
{
  std::condition_variable ready; // a job arrived or stopping (uses Fanout::m_mutex)
  std::deque<Job> jobs;
  std::vector<std::thread> threads;
  std::size_t idle = 0;
  std::size_t limit = 1;
};

Fanout::Fanout(FanoutOptions options, core::HttpClient& client, core::EventLogWriter& log,
               core::Clock& clock, core::IdSource& ids, DeliveryFn on_delivery)
    : m_options(std::move(options)), m_client(client), m_log(log), m_clock(clock), m_ids(ids),
      m_on_delivery(std::move(on_delivery))
{}

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
}

std::future<PrimaryOutcome>
Fanout::dispatch(std::shared_ptr<const Payload> payload,
                 const std::vector<core::Destination>& destinations, bool want_primary)
{
  std::future<PrimaryOutcome> future;
  std::optional<Job> inline_job;
  for (std::size_t i = 0; i < destinations.size(); ++i) {
    Job job{payload, destinations[i], nullptr, {}};
    if (i == 0 && want_primary) {
      job.primary = std::make_shared<std::promise<PrimaryOutcome>>();
      future = job.primary->get_future();
      if (!m_options.ordered) {
        // The sender is waiting for this one: run it here rather than hand it to
        // another thread, after the other targets have been started.
        inline_job = std::move(job);
        std::lock_guard lock(m_mutex);
        ++m_pending;
        continue;
      }
    }
    submit(std::move(job));
  }
  if (inline_job) {
    deliver(*inline_job);
    finished_one();
  }
  return future;
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
  std::lock_guard lock(m_mutex);
  ++m_pending;
  auto& slot = m_queues[job.destination.target.url];
  if (!slot) {
    slot = std::make_unique<TargetQueue>();
    slot->limit =
        m_options.ordered ? 1 : std::max<std::size_t>(1, m_options.max_workers_per_target);
  }
  TargetQueue& queue = *slot;
  queue.jobs.push_back(std::move(job));
  if (queue.idle > 0) {
    queue.ready.notify_one();
  } else if (queue.threads.size() < queue.limit && !m_stopping) {
    queue.threads.emplace_back([this, &queue] { worker(queue); });
  }
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

void
Fanout::deliver(const Job& job)
{
  const core::Target& target = job.destination.target;
  PlannedDelivery planned =
      plan_delivery(*job.payload, job.destination, job.request_target, m_options.set_headers);
  auto& plan = planned.request;
  const std::string& url = planned.url;

  thread_local std::mt19937_64 random{std::random_device{}()};
  std::uniform_real_distribution<double> uniform(0.0, 1.0);

  const int attempts = 1 + std::max(0, m_options.retries);
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    const std::int64_t start_us = m_clock.now_us();
    Result<core::HttpResult> result = plan ? m_client.send(target, *plan, m_options.timeout)
                                           : Result<core::HttpResult>(plan.error());
    core::Delivery record = attempt_record(job, url, attempt, start_us, result);
    if (auto written = m_log.append(core::to_json_line(record)); !written) {
      // The delivery happened; losing its record is reported, not fatal.
      record.error =
          record.error.empty() ? "not recorded: " + written.error().message : record.error;
    }
    if (m_on_delivery) {
      m_on_delivery(record);
    }
    const bool retryable = plan && (!result || core::is_retryable_status(result->status));
    if (attempt == 1 && job.primary) {
      PrimaryOutcome outcome{record, std::nullopt};
      if (result) {
        outcome.response = std::move(*result);
      }
      job.primary->set_value(std::move(outcome));
    }
    if (!retryable || attempt == attempts) {
      break;
    }
    {
      std::lock_guard lock(m_mutex);
      if (m_stopping) {
        break;
      }
    }
    wait_before_retry(
        core::backoff_delay(attempt, uniform(random), result ? result->headers : core::Headers{}));
  }
}

} // namespace rag::commands
