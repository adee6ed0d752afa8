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
#include <unordered_map>

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
  // Open connections per peer address (only kept when max_connections_per_peer is set).
  std::unordered_map<std::string, std::size_t> per_peer;
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

// Return the IP address of a socket address, without the port ("" when unknown).
std::string address_only(const sockaddr_storage& storage);

// Serve the accepted socket `fd` on the calling thread until either side closes it,
// then close it and decrement `shared->active` and `shared->per_peer[peer]` (when `peer`
// is not empty), notifying `changed`. Never throws.
void run_connection(std::shared_ptr<ServerShared> shared, int fd, std::string peer);

} // namespace rag::net::detail
