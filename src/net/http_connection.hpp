#pragma once

// The connection side of CaptureServer: what one accepted socket's thread does.
// Internal to net/ (capture_server.cpp is its only user).

#include "net/capture_server.hpp"

#include <sys/socket.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>

namespace rag::net::detail {

// State shared by the server and its detached connection threads; a thread that
// outlives serve()'s bounded wait keeps it alive, so nothing it touches dangles.
struct ServerShared
{
  ServerOptions options;
  int wake_read = -1; // readable once stop() was called (never drained)
  int wake_write = -1;
  std::atomic<bool> stopping{false};
  std::mutex mutex;
  std::condition_variable changed; // `active` dropped or stop() was called
  std::size_t active = 0;
  CaptureServer::Handler handler;
  CaptureServer::RejectFn on_reject;

  ServerShared() = default;
  ServerShared(const ServerShared&) = delete;
  ServerShared& operator=(const ServerShared&) = delete;
  ~ServerShared();
};

// Return a socket address as "IP:PORT", "[IPv6]:PORT" (IPv4-mapped IPv6 shown as
// IPv4) or "unknown".
std::string format_endpoint(const sockaddr_storage& storage);

// Serve the accepted socket `fd` on the calling thread until either side closes it,
// then close it and decrement `shared->active` (notifying `changed`). Never throws.
void run_connection(std::shared_ptr<ServerShared> shared, int fd);

} // namespace rag::net::detail
