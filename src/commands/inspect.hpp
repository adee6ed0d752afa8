#pragma once

#include "core/signature.hpp"
#include "util/result.hpp"

#include <string>
#include <vector>

namespace rag::commands {

struct InspectOptions
{
  std::string log_path; // resolved (never empty)
  std::string id;       // event id or unique prefix; empty = table
  long long last = 0;   // 0 = no limit (table default is 20)
  std::string since;    // "10m", "2h", "7d" or RFC 3339
  std::string until;
  std::string method;               // case-insensitive
  std::string path_glob;            // glob on the path part of the target
  std::vector<std::string> headers; // "NAME" or "NAME=VALUE" (name case-insensitive)
  std::string grep;                 // substring of target, header values or body
  std::string status;               // "200", "4xx", "failed"
  bool follow = false;
  bool json = false;
  bool body = false;                       // raw body bytes to stdout
  bool show_headers = false;               // request line + headers only
  bool curl = false;                       // a curl command that re-sends the request
  std::vector<core::SignatureSpec> verify; // --verify: check the stored signature now
};

// List, filter, follow or show captured events; returns the exit code. With `verify`
// it prints one verdict per spec for the event and returns 0 only when all are valid.
Result<int> run_inspect(const InspectOptions& options);

} // namespace rag::commands
