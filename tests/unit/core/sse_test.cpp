#include "core/sse.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace rag::core;

namespace {

std::vector<SseEvent>
parse_all(std::string_view stream, std::size_t max_bytes = 1024 * 1024)
{
  SseParser parser(max_bytes);
  return parser.feed(stream);
}

// Feed `stream` in two parts cut at `cut`, collecting every event.
std::vector<SseEvent>
parse_split(std::string_view stream, std::size_t cut, std::string* last_id = nullptr)
{
  SseParser parser;
  auto events = parser.feed(stream.substr(0, cut));
  auto rest = parser.feed(stream.substr(cut));
  events.insert(events.end(), rest.begin(), rest.end());
  if (last_id != nullptr) {
    *last_id = parser.last_event_id();
  }
  return events;
}

void
check_same(const std::vector<SseEvent>& got, const std::vector<SseEvent>& want)
{
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    CHECK(got[i].id == want[i].id);
    CHECK(got[i].event == want[i].event);
    CHECK(got[i].data == want[i].data);
  }
}

} // namespace

TEST_CASE("format_sse writes id, event, one data line per line and a blank line")
{
  CHECK(format_sse({"evt_1", "ready", "{}"}) == "id: evt_1\nevent: ready\ndata: {}\n\n");
  CHECK(format_sse({"", "", "{\"a\":1}"}) == "data: {\"a\":1}\n\n");
  CHECK(format_sse({"", "ping", "a\nb"}) == "event: ping\ndata: a\ndata: b\n\n");
  // CR and CRLF in data become separate data lines too, so the frame never breaks.
  CHECK(format_sse({"", "", "a\r\nb\rc"}) == "data: a\ndata: b\ndata: c\n\n");
  // An empty data still dispatches (one empty data line).
  CHECK(format_sse({"", "", ""}) == "data: \n\n");
  // Line breaks in id or event are dropped rather than splitting the frame.
  CHECK(format_sse({"x\ny", "e\rv", "d"}) == "id: xy\nevent: ev\ndata: d\n\n");
}

TEST_CASE("format_sse_data_start begins the frame format_sse writes for one data line")
{
  for (const SseEvent& event : {SseEvent{"evt_1", "", R"({"a":1})"}, SseEvent{"", "gap", "{}"},
                                SseEvent{"x\ny", "e\rv", "d"}, SseEvent{"", "", ""}}) {
    CHECK(format_sse_data_start(event.id, event.event) + event.data +
              std::string(k_sse_frame_end) ==
          format_sse(event));
  }
  SseParser parser;
  const auto events =
      parser.feed(format_sse_data_start("evt_2") + "{}" + std::string(k_sse_frame_end));
  REQUIRE(events.size() == 1);
  CHECK(events[0].id == "evt_2");
  CHECK(events[0].data == "{}");
}

TEST_CASE("format_sse_comment is a comment frame the parser ignores")
{
  CHECK(format_sse_comment("keep-alive") == ": keep-alive\n\n");
  CHECK(format_sse_comment("") == ":\n\n");
  CHECK(format_sse_comment("a\nb") == ": a\n: b\n\n");
  SseParser parser;
  CHECK(parser.feed(format_sse_comment("hello\nthere")).empty());
  CHECK(parser.last_event_id().empty());
}

TEST_CASE("format_sse and SseParser round-trip")
{
  const std::vector<SseEvent> events = {
      {"evt_01", "ready", "{}"},
      {"evt_02", "", "{\"body\":{\"x\":[1,2]},\"query\":{}}"},
      {"evt_02", "ping", "{}"}, // the id persists across events
      {"evt_03", "", "line one\nline two\n\nafter blank"},
      {"evt_04", "", " leading space kept"},
      {"evt_05", "", ""},
  };
  std::string stream;
  for (const auto& event : events) {
    SseEvent copy = event;
    if (&event != &events.front() && event.id == (&event)[-1].id) {
      copy.id.clear(); // not repeated on the wire: the parser carries it over
    }
    stream += format_sse(copy);
  }
  check_same(parse_all(stream), events);
}

TEST_CASE("SseParser gives the same events for every split point of a stream")
{
  const std::string stream = "\xEF\xBB\xBF"
                             ": hello\r\n"
                             "retry: 2500\r\n"
                             "id: evt_1\r\n"
                             "event: ready\r\n"
                             "data: {}\r\n"
                             "\r\n"
                             "data:no space\r"
                             "data:  two spaces\n"
                             "\n"
                             "id: evt_2\r"
                             "data: x\r\n"
                             "\r"
                             "event: ping\n"
                             "data\n"
                             "\n";
  const std::vector<SseEvent> want = {
      {"evt_1", "ready", "{}"},
      {"evt_1", "", "no space\n two spaces"},
      {"evt_2", "", "x"},
      {"evt_2", "ping", ""},
  };
  check_same(parse_all(stream), want);
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    CAPTURE(cut);
    std::string last_id;
    check_same(parse_split(stream, cut, &last_id), want);
    CHECK(last_id == "evt_2");
  }
  // Three-way splits around every CR and LF, and one byte at a time.
  for (std::size_t a = 0; a <= stream.size(); ++a) {
    for (std::size_t b = a; b <= stream.size() && b <= a + 3; ++b) {
      SseParser parser;
      auto got = parser.feed(std::string_view(stream).substr(0, a));
      for (auto& e : parser.feed(std::string_view(stream).substr(a, b - a))) {
        got.push_back(e);
      }
      for (auto& e : parser.feed(std::string_view(stream).substr(b))) {
        got.push_back(e);
      }
      CAPTURE(a);
      CAPTURE(b);
      check_same(got, want);
    }
  }
  SseParser bytewise;
  std::vector<SseEvent> got;
  for (char c : stream) {
    for (auto& e : bytewise.feed(std::string_view(&c, 1))) {
      got.push_back(e);
    }
  }
  check_same(got, want);
  CHECK(bytewise.retry_ms() == 2500);
}

TEST_CASE("SseParser treats CR, LF and CRLF alike, and CR CR as two line ends")
{
  check_same(parse_all("data: a\n\n"), {{"", "", "a"}});
  check_same(parse_all("data: a\r\r"), {{"", "", "a"}});
  check_same(parse_all("data: a\r\n\r\n"), {{"", "", "a"}});
  // LF CR is two line ends: the data line, then a blank line.
  check_same(parse_all("data: a\n\rdata: b\n\n"), {{"", "", "a"}, {"", "", "b"}});
  // Nothing is dispatched before the blank line.
  CHECK(parse_all("data: a\n").empty());
  CHECK(parse_all("data: a").empty());
}

TEST_CASE("SseParser skips only a leading BOM")
{
  check_same(parse_all("\xEF\xBB\xBF"
                       "data: a\n\n"),
             {{"", "", "a"}});
  // A second BOM is part of the first line, which makes it an unknown field.
  CHECK(parse_all("\xEF\xBB\xBF\xEF\xBB\xBF"
                  "data: a\n\n")
            .empty());
  // Bytes that only start like a BOM are kept.
  check_same(parse_all("\xEF\xBB"
                       "data: x\n\ndata: y\n\n"),
             {{"", "", "y"}});
  SseParser parser;
  CHECK(parser.feed("\xEF").empty());
  CHECK(parser.feed("\xBB").empty());
  check_same(parser.feed("\xBF"
                         "data: z\n\n"),
             {{"", "", "z"}});
  SseParser short_start;
  CHECK(short_start.feed("\n").empty()); // a first byte that is not a BOM is not held back
  check_same(short_start.feed("data: w\n\n"), {{"", "", "w"}});
}

TEST_CASE("SseParser ignores comments and unknown fields")
{
  check_same(parse_all(": comment\n:\ndata: a\n: inside\nfoo: bar\ndata: b\n\n"),
             {{"", "", "a\nb"}});
  check_same(parse_all("data\n\n"), {{"", "", ""}});
  check_same(parse_all("data:\n\n"), {{"", "", ""}});
  check_same(parse_all("data\ndata\n\n"), {{"", "", "\n"}});
  // The field name is case-sensitive.
  CHECK(parse_all("Data: a\n\n").empty());
}

TEST_CASE("SseParser keeps the id across events and commits it at the blank line")
{
  SseParser parser;
  auto events = parser.feed("id: 1\ndata: a\n\ndata: b\n\n");
  check_same(events, {{"1", "", "a"}, {"1", "", "b"}});
  CHECK(parser.last_event_id() == "1");

  // An event without data sets the id but is not dispatched.
  CHECK(parser.feed("id: 2\nevent: x\n\n").empty());
  CHECK(parser.last_event_id() == "2");
  check_same(parser.feed("data: c\n\n"), {{"2", "", "c"}});

  // An id line whose event never completed does not count as received.
  CHECK(parser.feed("id: 3\ndata: cut off").empty());
  CHECK(parser.last_event_id() == "2");

  // "id" with no value resets it to empty.
  SseParser reset;
  check_same(reset.feed("id: 9\ndata: a\n\nid\ndata: b\n\n"), {{"9", "", "a"}, {"", "", "b"}});
  CHECK(reset.last_event_id().empty());

  // The event type does not persist.
  SseParser type;
  check_same(type.feed("event: ping\ndata: a\n\ndata: b\n\n"), {{"", "ping", "a"}, {"", "", "b"}});
}

TEST_CASE("SseParser ignores an id holding NUL")
{
  SseParser parser;
  const std::string stream = std::string("id: good\ndata: a\n\nid: b") + '\0' + "d\ndata: b\n\n";
  check_same(parser.feed(stream), {{"good", "", "a"}, {"good", "", "b"}});
  CHECK(parser.last_event_id() == "good");
}

TEST_CASE("SseParser reads retry only when it is all digits")
{
  SseParser parser;
  CHECK_FALSE(parser.retry_ms().has_value());
  CHECK(parser.feed("retry: 3000\n\n").empty());
  CHECK(parser.retry_ms() == 3000);
  (void)parser.feed("retry: 12x\n\nretry: -5\n\nretry:\n\nretry: 1.5\n\n");
  CHECK(parser.retry_ms() == 3000);
  (void)parser.feed("retry:0\n\n");
  CHECK(parser.retry_ms() == 0);
  (void)parser.feed("retry: 99999999999999999999999\n\n"); // would overflow: ignored
  CHECK(parser.retry_ms() == 0);
}

TEST_CASE("SseParser fails once one event outgrows max_event_bytes")
{
  SseParser parser(64);
  check_same(parser.feed("data: " + std::string(40, 'a') + "\n\n"),
             {{"", "", std::string(40, 'a')}});
  CHECK_FALSE(parser.failed());
  // Many data lines add up within one event.
  CHECK(parser.feed("data: " + std::string(30, 'b') + "\n").empty());
  CHECK(parser.feed("data: " + std::string(30, 'b') + "\n").empty());
  CHECK(parser.failed());
  CHECK(parser.feed("\n\ndata: c\n\n").empty());

  // A single line without an end fails too, however it is split.
  SseParser line(64);
  for (int i = 0; i < 10 && !line.failed(); ++i) {
    CHECK(line.feed(std::string(10, 'x')).empty());
  }
  CHECK(line.failed());

  // Events that each fit never fail, however many there are.
  SseParser many(64);
  for (int i = 0; i < 1000; ++i) {
    REQUIRE(many.feed("data: " + std::string(50, 'd') + "\n\n").size() == 1);
  }
  CHECK_FALSE(many.failed());
}
