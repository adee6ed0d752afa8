#pragma once

#include "core/event_filter.hpp"
#include "core/record.hpp"
#include "core/signature.hpp"
#include "engine/console.hpp"
#include "util/result.hpp"

#include <cstddef>
#include <cstdint>
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

// List, filter, follow or show captured events, writing to `console`; returns the exit
// code. With `verify` it prints one verdict per spec for the event and returns 0 only
// when all are valid.
Result<int> run_inspect(const InspectOptions& options, engine::Console& console);

// Where one event's deliveries went to one target URL: what places that target in
// the STATUS column.
struct TargetStart
{
  std::string url;           // the delivery's target URL
  bool original = false;     // a delivery that was not a replay went there
  std::int64_t start_us = 0; // start of the first attempt (the first original one)
};

// Fold `delivery` into the targets of its event, in any reading order.
void note_target_start(std::vector<TargetStart>& starts, const core::Delivery& delivery);

// The STATUS column of `rag inspect`'s table in one fixed order for every row. Delivery
// records are written as attempts end, so their order in the log is the order targets
// answered in, which changes from event to event. The order of their starts is the
// route's (the primary target is called first, the others as they were listed, but
// concurrently), so targets take their column the first time the table meets them: in
// the order their first original attempts started, then the targets only replays went
// to (`rag replay --to`), in the order of their first replay; a replay to an original
// target updates that target's status. A target is named by its origin when the event's
// own path went there (a target URL without a path), else by origin and path.
class StatusColumns
{
public:
  // Put `outcomes`, the latest outcome per target URL of `event` (whose deliveries
  // gave `starts`), in column order; targets not seen before get the next columns.
  void arrange(const core::Event& event, const std::vector<TargetStart>& starts,
               std::vector<core::TargetOutcome>& outcomes);

  // Return the column names (see the class comment), in order.
  const std::vector<std::string>& columns() const { return m_columns; }

  // Return the line naming the columns of a table whose rows all had exactly the
  // targets `columns()` names, at least two of them; else an empty string.
  std::string legend() const;

private:
  std::size_t column_of(const std::string& name);

  std::vector<std::string> m_columns;
  bool m_same_targets = true; // every row arranged so far had every column
  std::size_t m_rows = 0;
};

} // namespace rag::commands
