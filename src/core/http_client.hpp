#pragma once

// The HTTP client the core and the commands forward with. net/forward_client
// implements it (rag's own HTTP/1.1 client); tests pass fakes.

#include "core/forward_plan.hpp"
#include "core/record.hpp"
#include "util/result.hpp"

#include <chrono>
#include <functional>
#include <string>

namespace rag::core {

// A target's answer. Headers are in wire order with their original case; the
// body is the raw bytes (never decompressed, de-chunked), cut at the client's
// limit with `body_truncated` set.
struct HttpResult
{
  int status = 0;
  std::string reason; // reason phrase as sent ("OK")
  Headers headers;
  std::string body;
  bool body_truncated = false;
  std::chrono::microseconds duration{0}; // from the start of send() to the last byte
};

// Sends forwarded requests. Implementations are safe to call from many threads at
// once and never serialise calls to different targets or to the same target.
class HttpClient
{
public:
  virtual ~HttpClient() = default;

  // Send `request` to `target` exactly as planned and return the answer (any
  // status, 5xx included, is a result). Failing to get an answer within `timeout`
  // (connect included) is an Error whose message is short and plain:
  // "connection refused", "timeout after 30s", "connection reset",
  // "TLS handshake failed: ...", "cannot resolve host 'x'", ...
  virtual Result<HttpResult> send(const Target& target, const OutgoingRequest& request,
                                  std::chrono::milliseconds timeout) = 0;

  // send(), calling `on_sent` once on the calling thread as soon as the request is on
  // its way (written to the target, or failed before that), before the answer is
  // awaited: the caller's own work then overlaps the target's. An empty `on_sent` is
  // never called. The default calls it first, then send().
  virtual Result<HttpResult> send_notifying(const Target& target, const OutgoingRequest& request,
                                            std::chrono::milliseconds timeout,
                                            const std::function<void()>& on_sent)
  {
    if (on_sent) {
      on_sent();
    }
    return send(target, request, timeout);
  }
};

// Return the message for a request that got no answer within `timeout`:
// "timeout after 30s", "timeout after 300ms", "timeout after 1.5s".
inline std::string
timeout_message(std::chrono::milliseconds timeout)
{
  const long long ms = timeout.count();
  if (ms % 1000 == 0) {
    return "timeout after " + std::to_string(ms / 1000) + "s";
  }
  if (ms < 1000) {
    return "timeout after " + std::to_string(ms) + "ms";
  }
  std::string fraction = std::to_string(ms % 1000);
  fraction.insert(0, 3 - fraction.size(), '0');
  while (fraction.back() == '0') {
    fraction.pop_back();
  }
  return "timeout after " + std::to_string(ms / 1000) + "." + fraction + "s";
}

} // namespace rag::core
