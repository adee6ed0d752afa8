#pragma once

#include "core/http_client.hpp"

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace rag::test {

// The one fake core::HttpClient of the unit tests. It records every request, and
// answers from a script: per target URL, a list of statuses for its calls in turn (0 =
// "connection refused"), then `status`. A host in `refused_hosts` always refuses; the
// host "held" blocks every call until release(). Safe to call from many threads.
class FakeHttpClient : public core::HttpClient
{
public:
  // One call: the target's URL and what was sent.
  struct Call
  {
    std::string url;
    core::OutgoingRequest request;
  };

  // Configuration: set before the first call.
  std::map<std::string, std::vector<int>> script; // target URL -> statuses
  std::set<std::string> refused_hosts;            // hosts that never answer
  int status = 200;                               // once a URL's script is used up
  core::Headers response_headers;
  std::string response_body = std::string(100, 'b');
  bool body_truncated = false; // answers as if the body had been cut at the client's limit

  Result<core::HttpResult> send(const core::Target& target, const core::OutgoingRequest& request,
                                std::chrono::milliseconds) override
  {
    std::unique_lock lock(m_mutex);
    m_sent.push_back(request);
    m_calls.push_back(Call{target.url, request});
    m_started.notify_all();
    auto& calls = m_seen[target.url];
    calls.push_back(request.target);
    if (target.host == "held") {
      m_released.wait(lock, [&] { return m_release; });
    }
    const auto& statuses = script[target.url];
    const int answer = calls.size() <= statuses.size() ? statuses[calls.size() - 1] : status;
    if (answer == 0 || refused_hosts.count(target.host) > 0) {
      return error("connection refused");
    }
    core::HttpResult result;
    result.status = answer;
    result.headers = response_headers;
    result.body = response_body;
    result.body_truncated = body_truncated;
    return result;
  }

  // Let every call to the host "held" answer, now and from now on.
  void release()
  {
    std::lock_guard lock(m_mutex);
    m_release = true;
    m_released.notify_all();
  }

  // Return the request targets sent to each target URL so far, in call order.
  std::map<std::string, std::vector<std::string>> seen() const
  {
    std::lock_guard lock(m_mutex);
    return m_seen;
  }

  // Wait until `count` calls have started (a call to "held" counts while it waits).
  void wait_started(std::size_t count)
  {
    std::unique_lock lock(m_mutex);
    m_started.wait(lock, [&] { return m_calls.size() >= count; });
  }

  // Return every call so far (target URL and request), in call order.
  std::vector<Call> calls() const
  {
    std::lock_guard lock(m_mutex);
    return m_calls;
  }

  // Return every request sent so far, in call order.
  std::vector<core::OutgoingRequest> sent() const
  {
    std::lock_guard lock(m_mutex);
    return m_sent;
  }

private:
  mutable std::mutex m_mutex;
  std::condition_variable m_released;
  std::condition_variable m_started;
  bool m_release = false;
  std::map<std::string, std::vector<std::string>> m_seen;
  std::vector<core::OutgoingRequest> m_sent;
  std::vector<Call> m_calls;
};

} // namespace rag::test
