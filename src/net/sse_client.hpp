#pragma once

#include "core/event_stream.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace rag::net {

struct SseClientOptions
{
  bool insecure = false; // accept any TLS certificate from the relay (--insecure)
  // A stream silent for this long is taken as dead; must exceed the relay's heartbeat
  // (15 s for rag relay, 30 s or so for smee.io).
  std::chrono::milliseconds read_timeout{90'000};
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds request_timeout{10'000}; // for /new and replies
};

// The relay connection on cpp-httplib (http and https, system CAs): subscribes with
// Accept: text/event-stream, Rag-Tunnel: 1 (a rag relay then sends the `rag` object),
// Last-Event-ID and a bearer token, reads the stream as it arrives, and makes the plain
// requests of core::EventStream. Redirects are never followed.
class SseClient final : public core::EventStream
{
public:
  explicit SseClient(SseClientOptions options = {});
  ~SseClient() override;
  SseClient(const SseClient&) = delete;
  SseClient& operator=(const SseClient&) = delete;

  // See core::EventStream::subscribe.
  core::StreamEnd subscribe(const core::StreamRequest& request, const OpenFn& on_open,
                            const BytesFn& on_bytes) override;
  // See core::EventStream::stop. A subscription still connecting ends within the
  // connect timeout.
  void stop() override;
  // See core::EventStream::new_channel.
  core::NewChannel new_channel(const std::string& relay_url) override;
  // See core::EventStream::post_json.
  Result<int> post_json(const std::string& url, const std::string& token,
                        std::string_view json) override;

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

} // namespace rag::net
