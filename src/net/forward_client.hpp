#pragma once

#include "core/http_client.hpp"

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace rag::net {

struct ForwardClientOptions
{
  bool insecure = false;                            // accept any TLS certificate (--insecure)
  std::string ca_file;                              // extra trusted CA bundle; empty = system CAs
  std::size_t max_response_body = 25 * 1024 * 1024; // longer bodies are cut and marked truncated
  std::size_t max_idle_per_target = 32;             // kept-alive connections parked per target
  // When a request is the only one in flight, its first read of the answer (plain TCP)
  // keeps looking for up to this long before the thread sleeps: a fast local target
  // answers within it, and not sleeping saves the wake-up (about 10 µs on a VM). Costs
  // at most this much CPU per request, and only at low load; 0 turns it off.
  std::chrono::microseconds answer_spin{15};
};

// The HttpClient that forwards for real, with rag's own HTTP/1.1 client (OpenSSL for
// https): the request line, the headers and the body go out exactly as planned
// (nothing added, reordered or re-encoded), responses are read raw (no decompression)
// with their headers in wire order, and connections are kept alive and reused. Each
// target has a pool of connections, one per concurrent request, so requests to one
// target run in parallel; the caller bounds the concurrency. A request that fails on a
// reused connection before any response byte arrived (the target closed it while
// idle) is sent once more on a new connection. Ignores SIGPIPE process-wide.
class ForwardClient final : public core::HttpClient
{
public:
  explicit ForwardClient(ForwardClientOptions options = {});
  ~ForwardClient() override;
  ForwardClient(const ForwardClient&) = delete;
  ForwardClient& operator=(const ForwardClient&) = delete;

  // Send `request` to `target`; see core::HttpClient::send. Thread-safe.
  Result<core::HttpResult> send(const core::Target& target, const core::OutgoingRequest& request,
                                std::chrono::milliseconds timeout) override;

  // send(), calling `on_sent` right after the request's last byte was written (or once
  // sending failed), while the target works on its answer. Thread-safe.
  Result<core::HttpResult> send_notifying(const core::Target& target,
                                          const core::OutgoingRequest& request,
                                          std::chrono::milliseconds timeout,
                                          const std::function<void()>& on_sent) override;

  // Close every idle kept-alive connection (in-flight requests are not affected).
  void close_idle();

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

} // namespace rag::net
