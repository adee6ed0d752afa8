#pragma once

#include "core/record.hpp"
#include "util/result.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rag::core {

// The latest attempt to deliver an event to one target.
struct TargetOutcome
{
  std::string target;
  int status = 0;    // HTTP status; 0 when `error` is set
  std::string error; // empty when the target answered
  std::int64_t duration_us = 0;

  // Return true when the attempt failed: an error or a status of 400 or above.
  bool failed() const { return !error.empty() || status >= 400 || status <= 0; }
};

// The latest outcome per target of one event's deliveries, targets in the order of
// their first attempt. Deliveries may be folded in reading forwards or backwards.
class DeliverySummary
{
public:
  // Fold in a delivery newer than every one seen so far (reading in file order).
  void add_newer(const Delivery& delivery);
  // Fold in a delivery older than every one seen so far (reading backwards).
  void add_older(const Delivery& delivery);

  const std::vector<TargetOutcome>& targets() const { return m_targets; }
  bool empty() const { return m_targets.empty(); }

private:
  std::vector<TargetOutcome> m_targets;
};

// The filter flags of `rag inspect` (and later `replay`/`export`) as typed.
struct FilterSpec
{
  std::string since; // "10m", "2h", "7d", RFC 3339 or local time
  std::string until;
  std::string method;               // case-insensitive
  std::string path_glob;            // fnmatch glob on the path part of the target
  std::vector<std::string> headers; // "NAME" or "NAME=VALUE"
  std::string grep;                 // substring of target, header names/values or body
  std::string status;               // "200", "4xx", "failed"
};

// Return the path part of a request target: before '?' or '#', without the scheme
// and authority of an absolute-form target ("http://h/p?q" -> "/p").
std::string_view target_path(std::string_view target);

// A parsed, validated set of event criteria combined with AND.
class EventFilter
{
public:
  // Validate `spec` (times relative to `now_us`); a bad value is a usage Error naming
  // the flag and the fix.
  static Result<EventFilter> parse(const FilterSpec& spec, std::int64_t now_us);

  // Return true when no criterion is set.
  bool empty() const;
  // Return true when --since or --until is set.
  bool has_time_range() const { return m_since_us.has_value() || m_until_us.has_value(); }
  // Return true when the outcome of deliveries matters (--status).
  bool has_status() const { return m_status_kind != StatusKind::none; }

  // Return true when `event` meets every criterion except --status.
  bool matches_event(const Event& event) const;
  // Return true when the --status criterion (if any) holds for these outcomes: some
  // target's latest attempt has the status, or rag refused the event with it
  // (`refused_status`, 0 when it did not: what its sender was answered); an event
  // neither delivered nor refused never matches.
  bool matches_status(const DeliverySummary& deliveries, int refused_status = 0) const;
  // Return true when `event` with these deliveries meets every criterion.
  bool matches(const Event& event, const DeliverySummary& deliveries) const
  {
    return matches_event(event) && matches_status(deliveries, refused_status(event));
  }
  // Return the status rag refused `event` with, or 0 when it did not refuse it.
  static int refused_status(const Event& event)
  {
    return event.rejected ? event.rejected->status : 0;
  }

  // Cheap test on an unparsed log line: false only when the line is certainly an
  // event record that this filter rejects. Delivery lines, unknown lines and lines
  // whose JSON escaping could hide a match always pass.
  bool may_match_line(std::string_view line) const;

private:
  enum class StatusKind { none, code, status_class, failed };
  struct HeaderTest
  {
    std::string name;
    std::optional<std::string> value;
  };
  // A string an event line must contain when it matches.
  struct Needle
  {
    std::string text;
    bool ignore_case = false;
  };

  std::optional<std::int64_t> m_since_us;
  std::optional<std::int64_t> m_until_us;
  std::string m_method;
  std::string m_path_glob;
  std::vector<HeaderTest> m_headers;
  std::string m_grep;
  StatusKind m_status_kind = StatusKind::none;
  int m_status = 0; // the code, or the class digit (4 for 4xx)
  std::vector<Needle> m_needles;
};

} // namespace rag::core
