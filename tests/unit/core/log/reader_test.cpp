#include "core/log/reader.hpp"

#include "core/log/writer.hpp"

#include "support/fifo.hpp"
#include "support/log_fixture.hpp"
#include "support/log_lines.hpp"
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <variant>
#include <vector>

#include <fmt/core.h>

using namespace rag::core;
using namespace rag::test;

TEST_CASE("reader: a missing file reads as empty")
{
  TempDir dir;
  Warnings warnings;
  EventLogReader reader(dir.file("nope.jsonl"), warnings.fn());
  std::uint64_t end = 99;
  CHECK(lines_forward(reader, &end).empty());
  CHECK(end == 0);
  CHECK(lines_reverse(reader).empty());
  CHECK(event_ids(reader, false).empty());
  CHECK(event_ids(reader, true).empty());
  CHECK(warnings.list.empty());
  auto found = reader.find_event("0");
  REQUIRE_FALSE(found.ok());
  CHECK(found.error().message == "no event matches '0'");
}

TEST_CASE("reader: a FIFO or a directory at the log path is an error, never a wait")
{
  TempDir dir;
  const auto fifo = dir.file("fifo.jsonl");
  // Someone holds the other end open, so even a blocking open would return: a FIFO
  // read as a log would then look empty, or wait for data forever.
  const rag::util::Fd held = make_held_fifo(fifo);
  for (const auto& [path, kind] :
       {std::pair<std::string, std::string>{fifo, "a FIFO (named pipe)"},
        std::pair<std::string, std::string>{dir.path(), "a directory"}}) {
    CAPTURE(path);
    const std::string message = fmt::format("event log {} is {}, not a regular file", path, kind);
    EventLogReader reader(path);
    auto scanned = reader.scan_lines([](const LogLine&) { return true; });
    REQUIRE_FALSE(scanned.ok());
    CHECK(scanned.error().message == message);
    auto found = reader.find_event("0");
    REQUIRE_FALSE(found.ok());
    CHECK(found.error().message == message);
    auto newest = reader.for_each_event_newest(EventFilter{}, NewestEventsQuery{},
                                               [](EventWithDeliveries&&) { return true; });
    REQUIRE_FALSE(newest.ok());
    CHECK(newest.error().message == message);
  }
}

TEST_CASE("reader: a corrupt middle line is skipped and named by its line number")
{
  TempDir dir;
  const auto path = dir.file("events.jsonl");
  auto bad_sha = event_line(3);
  bad_sha.replace(bad_sha.find("\"body_sha256\":\"") + 15, 1, "X");
  const std::string content = event_line(0) + "\n" + event_line(1) + "\n{not json\n" +
                              event_line(2) + "\n" + bad_sha + "\n" + event_line(4) + "\n";
  write_file(path, content);

  const std::string warn3 = fmt::format("{}:3: skipped corrupt line (not valid JSON)", path);
  const std::string warn5 =
      fmt::format("{}:5: skipped corrupt line (body_sha256 does not match the body)", path);
  const std::vector<std::string> good = {fmt::format("evt_{:026}", 0), fmt::format("evt_{:026}", 1),
                                         fmt::format("evt_{:026}", 2),
                                         fmt::format("evt_{:026}", 4)};

  SUBCASE("forward")
  {
    Warnings warnings;
    EventLogReader reader(path, warnings.fn());
    std::vector<std::uint64_t> numbers;
    std::vector<std::string> ids;
    auto end = reader.for_each_record([&](Record&& record, const LogLine& line) {
      ids.push_back(std::get<Event>(record).id);
      numbers.push_back(line.number);
      return true;
    });
    REQUIRE(end.ok());
    CHECK(*end == content.size());
    CHECK(ids == good);
    CHECK(numbers == std::vector<std::uint64_t>{1, 2, 4, 6});
    CHECK(warnings.list == std::vector<std::string>{warn3, warn5});
  }
  SUBCASE("reverse")
  {
    Warnings warnings;
    EventLogReader reader(path, warnings.fn());
    auto reversed = good;
    std::reverse(reversed.begin(), reversed.end());
    CHECK(event_ids(reader, true) == reversed);
    CHECK(warnings.list == std::vector<std::string>{warn5, warn3});
  }
  SUBCASE("forward from an offset still names the line")
  {
    Warnings warnings;
    EventLogReader reader(path, warnings.fn());
    const auto second_line = event_line(0).size() + 1;
    std::vector<std::uint64_t> numbers;
    auto end = reader.for_each_record(
        [&](Record&&, const LogLine& line) {
          numbers.push_back(line.number);
          return true;
        },
        {}, second_line);
    REQUIRE(end.ok());
    CHECK(numbers == std::vector<std::uint64_t>{0, 0, 0}); // unknown when starting mid-file
    CHECK(warnings.list == std::vector<std::string>{warn3, warn5});
  }
  SUBCASE("a raw filter skips lines before parsing")
  {
    Warnings warnings;
    EventLogReader reader(path, warnings.fn());
    std::vector<std::string> ids;
    REQUIRE(reader
                .for_each_record(
                    [&](Record&& record, const LogLine&) {
                      ids.push_back(std::get<Event>(record).id);
                      return true;
                    },
                    [](std::string_view text) { return text.find("0001\"") != std::string::npos; })
                .ok());
    CHECK(ids == std::vector<std::string>{fmt::format("evt_{:026}", 1)});
    CHECK(warnings.list.empty());
  }
}

TEST_CASE("reader: a follower resumes from the returned offset")
{
  TempDir dir;
  const auto path = dir.file("events.jsonl");
  auto writer = EventLogWriter::open(path);
  REQUIRE(writer.ok());
  for (int i = 0; i < 3; ++i) {
    REQUIRE(writer->append(event_line(i)).ok());
  }
  EventLogReader reader(path);
  std::uint64_t offset = 0;
  CHECK(lines_forward(reader, &offset).size() == 3);

  REQUIRE(writer->append(event_line(3)).ok());
  {
    // A writer's half-written line is left for the next poll.
    std::ofstream out(path, std::ios::binary | std::ios::app);
    out << event_line(4).substr(0, 20);
  }
  std::uint64_t next = 0;
  CHECK(lines_forward(reader, &next, offset) == std::vector<std::string>{event_line(3)});
  CHECK(next == offset + event_line(3).size() + 1);
  {
    std::ofstream out(path, std::ios::binary | std::ios::app);
    out << event_line(4).substr(20) << "\n";
  }
  std::uint64_t last = 0;
  CHECK(lines_forward(reader, &last, next) == std::vector<std::string>{event_line(4)});
  CHECK(last == read_file(path).size());
  CHECK(lines_forward(reader, nullptr, last).empty());

  // Stopping early returns the offset just past the line it stopped on.
  auto stopped = reader.for_each_line([](const LogLine&) { return false; });
  REQUIRE(stopped.ok());
  CHECK(*stopped == event_line(0).size() + 1);
  std::vector<std::string> newest;
  REQUIRE(reader
              .for_each_line_reverse([&](const LogLine& line) {
                newest.emplace_back(line.text);
                return newest.size() < 2;
              })
              .ok());
  CHECK(newest == std::vector<std::string>{event_line(4), event_line(3)});
}

TEST_CASE("reader: find_event by unique id prefix")
{
  TempDir dir;
  const auto path = dir.file("events.jsonl");
  const std::string a = "evt_01ABCD" + std::string(16, '0');
  const std::string b = "evt_01ABCE" + std::string(16, '0');
  const std::string c = "evt_02" + std::string(20, '1');
  auto writer = EventLogWriter::open(path);
  REQUIRE(writer.ok());
  REQUIRE(writer->append(to_json_line(make_event(a, "first"))).ok());
  REQUIRE(writer->append(to_json_line(make_event(b, "second"))).ok());
  REQUIRE(writer->append(to_json_line(make_event(c, "third"))).ok());
  // Lookalikes that must not count: an id inside a body, a delivery for c, and
  // a delivery whose own id has the same characters.
  REQUIRE(writer
              ->append(to_json_line(make_event("evt_03" + std::string(20, '0'),
                                               "{\"id\":\"evt_01ABCD\",\"x\":\"evt_02\"}")))
              .ok());
  Delivery d;
  d.id = "dlv_02" + std::string(20, '9');
  d.event_id = c;
  d.target = "http://127.0.0.1:1/";
  d.status = 200;
  REQUIRE(writer->append(to_json_line(d)).ok());

  EventLogReader reader(path);
  for (const char* prefix : {"01ABCD", "evt_01ABCD", "01abcd", "EVT_01ABCD"}) {
    CAPTURE(prefix);
    auto found = reader.find_event(prefix);
    REQUIRE(found.ok());
    CHECK(found->id == a);
    CHECK(found->body == "first");
  }
  auto full = reader.find_event(b);
  REQUIRE(full.ok());
  CHECK(full->body == "second");
  auto third = reader.find_event("02");
  REQUIRE(third.ok());
  CHECK(third->id == c);

  auto ambiguous = reader.find_event("evt_01ABC");
  REQUIRE_FALSE(ambiguous.ok());
  CHECK(ambiguous.error().message ==
        fmt::format("event id prefix 'evt_01ABC' is ambiguous: {}, {}", a, b));
  CHECK(ambiguous.error().hint == "type more characters");

  auto none = reader.find_event("04");
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().message == "no event matches '04'");
  CHECK(none.error().hint == "run `rag inspect` to list events");

  CHECK_FALSE(reader.find_event("").ok());
  CHECK_FALSE(reader.find_event("evt_").ok());

  // Many matches: five are listed, then the count.
  for (int i = 0; i < 7; ++i) {
    REQUIRE(writer->append(to_json_line(make_event(fmt::format("evt_09{:024}", i), ""))).ok());
  }
  auto many = reader.find_event("09");
  REQUIRE_FALSE(many.ok());
  CHECK(many.error().message ==
        fmt::format("event id prefix '09' is ambiguous: evt_09{:024}, evt_09{:024}, "
                    "evt_09{:024}, evt_09{:024}, evt_09{:024}, … (7 matches)",
                    0, 1, 2, 3, 4));
}

TEST_CASE("reader: find_event names a bad line it passes, and a torn last line, once each")
{
  TempDir dir;
  const auto path = dir.file("events.jsonl");
  // Line 2 holds no id at all, so the cheap look for the id skips it; line 3 is cut short
  // and ends in a newline. Neither can be a record; line 5 is torn.
  const std::string content = event_line(0) + "\nthis is not json\n" + event_line(1).substr(0, 40) +
                              "\n" + event_line(2) + "\n{\"v\":1,\"kind\":\"ev";
  write_file(path, content);

  Warnings warnings;
  EventLogReader reader(path, warnings.fn());
  auto found = reader.find_event(fmt::format("evt_{:026}", 2));
  REQUIRE(found.ok());
  CHECK(found->id == fmt::format("evt_{:026}", 2));
  CHECK(warnings.list ==
        std::vector<std::string>{
            fmt::format("{}:2: skipped corrupt line (not valid JSON)", path),
            fmt::format("{}:3: skipped corrupt line (not valid JSON)", path),
            fmt::format("{}:5: skipped torn last line (17 bytes, no newline)", path)});

  // Well-formed lines of other events are still skipped unparsed (no false warning).
  warnings.list.clear();
  write_file(path, event_line(0) + "\n" + event_line(1) + "\n");
  REQUIRE(reader.find_event(fmt::format("evt_{:026}", 1)).ok());
  CHECK(warnings.list.empty());
}

namespace {

// The id append_events gives its i-th event.
std::string
fixture_id(int i)
{
  return "evt_01KBJ2X7Q9R3M8TZ4D6PNWAH" + std::to_string(10 + i);
}

// Append a delivery of append_events' i-th event to `target` with `status` (0: an error).
void
append_delivery(const std::string& path, int n, int event_i, int status,
                const std::string& target = "http://127.0.0.1:3000/hook", bool replay = false)
{
  Delivery delivery;
  delivery.id = fmt::format("dlv_{:026}", n);
  delivery.event_id = fixture_id(event_i);
  delivery.time_us = 1'700'000'000'100'000 + n;
  delivery.target = target;
  delivery.replay = replay;
  delivery.status = status;
  if (status == 0) {
    delivery.error = "connection refused";
  }
  std::ofstream(path, std::ios::app) << to_json_line(delivery) << '\n';
}

EventFilter
filter_of(const FilterSpec& spec)
{
  auto filter = EventFilter::parse(spec, 1'700'000'000'000'000);
  REQUIRE(filter.ok());
  return std::move(filter).value();
}

// What for_each_event_newest gave: per event, its id and its deliveries' ids (oldest first).
struct Found
{
  std::vector<std::string> ids;
  std::vector<std::vector<std::string>> deliveries;
  std::vector<EventWithDeliveries> all;
};

Found
newest(const EventLogReader& reader, const EventFilter& filter, NewestEventsQuery query = {})
{
  Found found;
  REQUIRE(reader
              .for_each_event_newest(filter, query,
                                     [&](EventWithDeliveries&& event) {
                                       found.ids.push_back(event.event.id);
                                       std::vector<std::string> ids;
                                       for (const auto& delivery : event.deliveries) {
                                         ids.push_back(delivery.id);
                                       }
                                       found.deliveries.push_back(ids);
                                       found.all.push_back(std::move(event));
                                       return true;
                                     })
              .ok());
  return found;
}

} // namespace

TEST_CASE("reader: for_each_event_newest gives the newest events first, up to the limit")
{
  TempLog log;
  append_events(log.path, 5);
  const EventLogReader reader(log.path);
  const EventFilter all = filter_of({});

  CHECK(newest(reader, all).ids == std::vector<std::string>{fixture_id(4), fixture_id(3),
                                                            fixture_id(2), fixture_id(1),
                                                            fixture_id(0)});
  NewestEventsQuery two;
  two.limit = 2;
  const Found found = newest(reader, all, two);
  CHECK(found.ids == std::vector<std::string>{fixture_id(4), fixture_id(3)});
  // The event's own line, where it is in the file.
  std::ifstream in(log.path);
  std::string line;
  std::uint64_t offset = 0;
  for (int i = 0; i < 4; ++i) {
    std::getline(in, line);
    offset += line.size() + 1;
  }
  std::getline(in, line);
  CHECK(found.all[0].line.offset == offset);
  CHECK(found.all[0].event.target == "/hook/4");

  // `fn` returning false stops too.
  std::vector<std::string> ids;
  REQUIRE(reader
              .for_each_event_newest(all, {},
                                     [&](EventWithDeliveries&& event) {
                                       ids.push_back(event.event.id);
                                       return false;
                                     })
              .ok());
  CHECK(ids == std::vector<std::string>{fixture_id(4)});
}

TEST_CASE("reader: for_each_event_newest attaches each event's deliveries, oldest first")
{
  TempLog log;
  append_events(log.path, 2);
  append_delivery(log.path, 1, 0, 500);
  append_delivery(log.path, 2, 1, 200);
  append_events(log.path, 3); // the same ids again, later in the file: events 0, 1, 2
  append_delivery(log.path, 3, 0, 200, "http://127.0.0.1:3001/other");
  append_delivery(log.path, 4, 2, 0);
  const EventLogReader reader(log.path);

  const Found found = newest(reader, filter_of({}));
  REQUIRE(found.ids.size() == 5);
  // Newest first: the second copies of 2, 1, 0, then the first copies of 1, 0. Each
  // gets the deliveries between it and the next event with its id.
  CHECK(found.ids == std::vector<std::string>{fixture_id(2), fixture_id(1), fixture_id(0),
                                              fixture_id(1), fixture_id(0)});
  CHECK(found.deliveries[0] == std::vector<std::string>{fmt::format("dlv_{:026}", 4)});
  CHECK(found.deliveries[1].empty());
  CHECK(found.deliveries[2] == std::vector<std::string>{fmt::format("dlv_{:026}", 3)});
  CHECK(found.deliveries[3] == std::vector<std::string>{fmt::format("dlv_{:026}", 2)});
  CHECK(found.deliveries[4] == std::vector<std::string>{fmt::format("dlv_{:026}", 1)});
  REQUIRE(found.all[0].summary.targets().size() == 1);
  CHECK(found.all[0].summary.targets()[0].error == "connection refused");
  CHECK(found.all[4].summary.targets()[0].status == 500);

  // Several deliveries of one event come oldest first, and the summary holds the latest
  // outcome per target.
  TempLog retried;
  append_events(retried.path, 1);
  append_delivery(retried.path, 1, 0, 503);
  append_delivery(retried.path, 2, 0, 200, "http://127.0.0.1:3001/other");
  append_delivery(retried.path, 3, 0, 201);
  const Found again = newest(EventLogReader(retried.path), filter_of({}));
  REQUIRE(again.ids.size() == 1);
  CHECK(again.deliveries[0] == std::vector<std::string>{fmt::format("dlv_{:026}", 1),
                                                        fmt::format("dlv_{:026}", 2),
                                                        fmt::format("dlv_{:026}", 3)});
  const auto& targets = again.all[0].summary.targets();
  REQUIRE(targets.size() == 2);
  CHECK(targets[0].target == "http://127.0.0.1:3000/hook");
  CHECK(targets[0].status == 201);
  CHECK(targets[1].status == 200);
  CHECK(again.all[0].delivery_lines.empty()); // only with keep_lines
}

TEST_CASE("reader: for_each_event_newest applies the filter, --status on the deliveries")
{
  TempLog log;
  append_events(log.path, 4);
  append_delivery(log.path, 1, 1, 200);
  append_delivery(log.path, 2, 2, 502);
  append_delivery(log.path, 3, 3, 200);
  append_delivery(log.path, 4, 3, 500); // the latest attempt decides
  const EventLogReader reader(log.path);

  FilterSpec path;
  path.path_glob = "/hook/[02]";
  CHECK(newest(reader, filter_of(path)).ids ==
        std::vector<std::string>{fixture_id(2), fixture_id(0)});
  FilterSpec method;
  method.method = "get";
  CHECK(newest(reader, filter_of(method)).ids.empty());

  FilterSpec failed;
  failed.status = "5xx";
  const Found found = newest(reader, filter_of(failed));
  CHECK(found.ids == std::vector<std::string>{fixture_id(3), fixture_id(2)});
  CHECK(found.deliveries[0] ==
        std::vector<std::string>{fmt::format("dlv_{:026}", 3), fmt::format("dlv_{:026}", 4)});
  FilterSpec ok;
  ok.status = "200";
  CHECK(newest(reader, filter_of(ok)).ids == std::vector<std::string>{fixture_id(1)});
  // The limit counts matching events only.
  NewestEventsQuery one;
  one.limit = 1;
  CHECK(newest(reader, filter_of(path), one).ids == std::vector<std::string>{fixture_id(2)});
}

TEST_CASE("reader: for_each_event_newest skips corrupt and torn lines with one warning each")
{
  TempLog log;
  append_events(log.path, 2);
  std::ofstream(log.path, std::ios::app) << "{\"v\":1,\"kind\":\"event\",broken}\n";
  append_delivery(log.path, 1, 1, 200);
  append_events(log.path, 3);
  std::ofstream(log.path, std::ios::app) << "{\"v\":1,\"kind\":\"delivery\",\"id\":\"dlv_X";
  Warnings warnings;
  const EventLogReader reader(log.path, warnings.fn());

  const Found found = newest(reader, filter_of({}));
  CHECK(found.ids == std::vector<std::string>{fixture_id(2), fixture_id(1), fixture_id(0),
                                              fixture_id(1), fixture_id(0)});
  CHECK(found.deliveries[1].empty());
  CHECK(found.deliveries[3] == std::vector<std::string>{fmt::format("dlv_{:026}", 1)});
  REQUIRE(warnings.list.size() == 2);
  CHECK(warnings.list[0].find(log.path + ":8: skipped torn last line") == 0);
  CHECK(warnings.list[1].find(log.path + ":3: skipped corrupt line") == 0);
}

TEST_CASE("reader: for_each_event_newest's end offset, record hook, lines, no deliveries, stop")
{
  TempLog log;
  append_events(log.path, 2);
  append_delivery(log.path, 1, 0, 200);
  const std::uint64_t end = std::filesystem::file_size(log.path);
  append_events(log.path, 3); // past `end`: ignored, records included
  append_delivery(log.path, 2, 1, 200);
  const EventLogReader reader(log.path);
  const EventFilter all = filter_of({});

  NewestEventsQuery before;
  before.end_offset = end;
  std::vector<std::string> seen;
  before.on_record = [&](const Record& record) {
    seen.push_back(std::holds_alternative<Event>(record) ? std::get<Event>(record).id
                                                         : std::get<Delivery>(record).id);
  };
  before.keep_lines = true;
  const Found found = newest(reader, all, before);
  CHECK(found.ids == std::vector<std::string>{fixture_id(1), fixture_id(0)});
  CHECK(seen ==
        std::vector<std::string>{fmt::format("dlv_{:026}", 1), fixture_id(1), fixture_id(0)});
  REQUIRE(found.all[1].delivery_lines.size() == 1);
  const auto& kept = found.all[1].delivery_lines[0];
  CHECK(kept.text.find(R"("kind":"delivery","id":"dlv_)") != std::string::npos);
  std::ifstream in(log.path);
  in.seekg(static_cast<std::streamoff>(kept.offset));
  std::string line;
  std::getline(in, line);
  CHECK(line == kept.text);

  // Without deliveries, delivery lines are not even parsed (a bad one is not named).
  std::ofstream(log.path, std::ios::app) << "{\"v\":1,\"kind\":\"delivery\",\"id\":1}\n";
  Warnings warnings;
  const EventLogReader warned(log.path, warnings.fn());
  NewestEventsQuery events_only;
  events_only.deliveries = false;
  const Found bare = newest(warned, all, events_only);
  CHECK(bare.ids.size() == 5);
  CHECK(std::all_of(bare.deliveries.begin(), bare.deliveries.end(),
                    [](const auto& ids) { return ids.empty(); }));
  CHECK(warnings.list.empty());
  CHECK(newest(warned, all).ids.size() == 5);
  CHECK(warnings.list.size() == 1);

  // `stopped` ends the read after the event it was polled at.
  NewestEventsQuery stop;
  int polls = 0;
  stop.stopped = [&polls] { return ++polls == 2; };
  CHECK(newest(reader, all, stop).ids == std::vector<std::string>{fixture_id(2), fixture_id(1)});
}
