#include "commands/inspect.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace rag;

namespace {

core::Event
event(const std::string& target)
{
  core::Event e;
  e.id = "evt_" + target;
  e.target = target;
  return e;
}

core::Delivery
delivery(const std::string& url, int status, std::int64_t start_us, int attempt = 1,
         bool replay = false)
{
  core::Delivery d;
  d.event_id = "evt";
  d.target = url;
  d.status = status;
  d.time_us = start_us;
  d.attempt = attempt;
  d.replay = replay;
  return d;
}

// One event's row as `rag inspect` builds it: deliveries folded in file order (the order
// they ended in), then put in column order; returns the targets, column by column.
std::vector<std::string>
row(commands::StatusColumns& columns, const core::Event& e,
    const std::vector<core::Delivery>& in_file_order)
{
  core::DeliverySummary summary;
  std::vector<commands::TargetStart> starts;
  for (const auto& d : in_file_order) {
    summary.add_newer(d);
    commands::note_target_start(starts, d);
  }
  std::vector<core::TargetOutcome> outcomes = summary.targets();
  columns.arrange(e, starts, outcomes);
  std::vector<std::string> targets;
  for (const auto& outcome : outcomes) {
    targets.push_back(outcome.target + " " + std::to_string(outcome.status));
  }
  return targets;
}

using Row = std::vector<std::string>;

} // namespace

TEST_CASE("inspect: STATUS lists the targets in one order on every row, not as they answered")
{
  commands::StatusColumns columns;
  // The primary (port 1) was called first but answered last on the first event; on the
  // second the 503 answered first again; on the third they answered in order.
  CHECK(row(columns, event("/a"),
            {delivery("http://h:2/a", 503, 20), delivery("http://h:1/a", 200, 10)}) ==
        Row{"http://h:1/a 200", "http://h:2/a 503"});
  CHECK(row(columns, event("/b"),
            {delivery("http://h:2/b", 503, 120), delivery("http://h:1/b", 200, 110)}) ==
        Row{"http://h:1/b 200", "http://h:2/b 503"});
  CHECK(row(columns, event("/c?x=1"),
            {delivery("http://h:1/c?x=1", 200, 210), delivery("http://h:2/c?x=1", 503, 220)}) ==
        Row{"http://h:1/c?x=1 200", "http://h:2/c?x=1 503"});
  // Once the table has its order, a row whose starts are the other way round keeps it.
  CHECK(row(columns, event("/d"),
            {delivery("http://h:2/d", 503, 300), delivery("http://h:1/d", 200, 301)}) ==
        Row{"http://h:1/d 200", "http://h:2/d 503"});
  CHECK(columns.columns() == std::vector<std::string>{"http://h:1", "http://h:2"});
  CHECK(columns.legend() == "STATUS is per target, in this order: http://h:1, http://h:2");
}

TEST_CASE("inspect: retries, replays and targets with a path of their own keep their column")
{
  commands::StatusColumns columns;
  // A target with its own path (and the event's query) is named by origin and path; a
  // route prefix stripped from the event's path still names the bare origin.
  CHECK(row(columns, event("/github/push?a=1"),
            {delivery("http://h:2/hooks/b?k=v&a=1", 200, 20),
             delivery("http://h:1/push?a=1", 500, 10),
             delivery("http://h:1/push?a=1", 200, 30, 2)}) ==
        Row{"http://h:1/push?a=1 200", "http://h:2/hooks/b?k=v&a=1 200"});
  CHECK(columns.columns() == std::vector<std::string>{"http://h:1", "http://h:2/hooks/b"});

  // A replay to an original target updates its status in place; a replay elsewhere (--to)
  // comes after the original targets, even though it started... whenever it did.
  CHECK(row(columns, event("/x"),
            {delivery("http://h:3/x", 202, 5, 1, true), delivery("http://h:2/hooks/b?k=v", 200, 20),
             delivery("http://h:1/x", 500, 10), delivery("http://h:1/x", 200, 40, 1, true)}) ==
        Row{"http://h:1/x 200", "http://h:2/hooks/b?k=v 200", "http://h:3/x 202"});
  CHECK(columns.columns() ==
        std::vector<std::string>{"http://h:1", "http://h:2/hooks/b", "http://h:3"});
  // Rows with different targets: no legend (the table stays compact).
  CHECK(columns.legend().empty());

  // A row without deliveries changes nothing.
  commands::StatusColumns two;
  CHECK(row(two, event("/a"), {delivery("http://h:2/a", 1, 2), delivery("http://h:1/a", 1, 1)})
            .size() == 2);
  CHECK(row(two, event("/n"), {}).empty());
  CHECK_FALSE(two.legend().empty());
  // One target only: nothing to explain.
  commands::StatusColumns one;
  row(one, event("/a"), {delivery("http://h:1/a", 200, 1)});
  CHECK(one.legend().empty());
  // A later row that lacks a column: no legend either.
  row(two, event("/b"), {delivery("http://h:1/b", 200, 1)});
  CHECK(two.legend().empty());
}
