#pragma once

#include "util/result.hpp"

#include <cstddef>
#include <string>

namespace rag::commands {

struct ListenOptions
{
  std::string log_path; // resolved (never empty)
  std::string host = "127.0.0.1";
  int port = 7777;
  int respond_status = 200;
  std::size_t max_body = 25 * 1024 * 1024;
  bool json = false;
};

// Capture requests into the log until SIGINT/SIGTERM; returns the exit code.
Result<int> run_listen(const ListenOptions& options);

} // namespace rag::commands
