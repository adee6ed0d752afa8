#pragma once

#include "core/forward_plan.hpp"
#include "core/samples.hpp"
#include "engine/console.hpp"
#include "util/result.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace rag::commands {

struct TriggerOptions
{
  bool list = false;                // --list: print the samples, send nothing
  core::Sample sample;              // the sample to send (found by name)
  core::Target to;                  // --to
  std::string secret;               // --secret's bytes (env:/file: already read by cli);
                                    // empty: the provider's test secret
  std::vector<core::FieldSet> sets; // --set, applied in order
  bool json = false;                // the answer (or the list) as JSON
  std::chrono::milliseconds timeout{30'000};
};

// Print the built-in samples (--list), or render, sign and send one sample to the
// target and print its answer, writing to `console`; returns 0, or 1 when the target
// answered >= 400. A target that cannot be reached is an Error (exit 1).
Result<int> run_trigger(const TriggerOptions& options, engine::Console& console);

} // namespace rag::commands
