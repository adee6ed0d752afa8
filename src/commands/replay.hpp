#pragma once

#include "core/signature.hpp"

#include "core/event_filter.hpp"
#include "core/forward_plan.hpp"
#include "core/record.hpp"
#include "engine/console.hpp"
#include "engine/delivery_policy.hpp"
#include "util/result.hpp"

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace rag::commands {

struct ReplayOptions
{
  std::string log_path;                    // resolved (never empty)
  std::vector<std::string> ids;            // event id prefixes given as arguments
  int last = 0;                            // --last N (0: not given)
  core::FilterSpec filter;                 // the `rag inspect` filters
  std::vector<core::Target> to;            // --to; empty: each event's original targets
  core::Headers set_headers;               // --set-header, validated
  std::vector<core::SignatureSpec> resign; // --resign: signatures recomputed per event
  bool include_rejected = false;           // also events whose recorded verdict is invalid
  std::size_t concurrency = 8;             // deliveries in flight at most (>= 1)
  double rate_per_second = 0;              // --rate; 0: unlimited
  engine::DeliveryPolicy delivery;         // --timeout, --insecure (ordered: --concurrency 1)
  bool dry_run = false;
  bool json = false;
};

// Re-send the selected events (in capture order) and record every attempt as a
// replay delivery; returns the exit code: 0 when every delivery succeeded, 1 when
// one failed, was left unsent (Ctrl-C) or an event was skipped (see skip_reason).
Result<int> run_replay(const ReplayOptions& options, engine::Console& console);

// Return why `event` is left out of a replay (a warning names it, the others are still
// sent), or an empty string: rag refused it before it was whole (413, 431, 400, 501,
// 408: no body recorded), always; its recorded signature verdict is invalid, as
// `--reject-invalid` refuses, or rag refused it with 401, unless `include_rejected`; or
// `has_targets` is false (no --to, and the event was never delivered anywhere).
std::string skip_reason(const core::Event& event, bool has_targets, bool include_rejected);

// Return the indexes of the --resign specs to apply to an event with `headers`: those
// whose signature header it carries (core::has_signature_header, the test --verify
// uses), so each event is signed only as its provider signs it. When it carries none:
// the one spec when `resign` holds exactly one (it was asked for explicitly), else none.
std::vector<std::size_t> resign_schemes(const std::vector<core::SignatureSpec>& resign,
                                        const core::Headers& headers);

} // namespace rag::commands
