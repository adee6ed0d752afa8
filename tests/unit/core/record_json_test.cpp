#include "core/record_json.hpp"

#include "core/json_bounded.hpp"
#include "util/bytes.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>

using namespace rag::core;

namespace {

Event
sample_event()
{
  Event e;
  e.id = "evt_0001";
  e.time_us = 1795675527123456; // 2026-11-26T06:45:27.123456Z
  e.source = "listen:127.0.0.1:7777";
  e.remote = "127.0.0.1:50000";
  e.method = "POST";
  e.target = "/hook?a=1";
  e.http_version = "HTTP/1.1";
  e.headers = {{"Host", "x"}, {"X-Empty", ""}};
  e.body = std::string("hi \"there\"\n\x01");
  return e;
}

Delivery
sample_delivery()
{
  Delivery d;
  d.id = "dlv_0002";
  d.event_id = "evt_0001";
  d.time_us = 1795675527123456;
  d.target = "http://127.0.0.1:3000/hook";
  d.attempt = 1;
  d.replay = false;
  d.status = 200;
  d.duration_us = 1234;
  d.response_headers = {{"Content-Type", "text/plain"}};
  d.response_body = "ok";
  return d;
}

Event
round_trip(const Event& event)
{
  const auto line = to_json_line(event);
  auto record = parse_record(line);
  REQUIRE_MESSAGE(record.ok(), (record.ok() ? std::string() : record.error().message));
  REQUIRE(std::holds_alternative<Event>(*record));
  return std::get<Event>(std::move(record).value());
}

Delivery
round_trip(const Delivery& delivery)
{
  const auto line = to_json_line(delivery);
  auto record = parse_record(line);
  REQUIRE_MESSAGE(record.ok(), (record.ok() ? std::string() : record.error().message));
  REQUIRE(std::holds_alternative<Delivery>(*record));
  return std::get<Delivery>(std::move(record).value());
}

void
check_same(const Event& a, const Event& b)
{
  CHECK(a.id == b.id);
  CHECK(a.time_us == b.time_us);
  CHECK(a.source == b.source);
  CHECK(a.remote == b.remote);
  CHECK(a.method == b.method);
  CHECK(a.target == b.target);
  CHECK(a.http_version == b.http_version);
  CHECK(a.headers == b.headers);
  CHECK(a.body == b.body);
  CHECK(a.chunked == b.chunked);
  CHECK(a.verdict == b.verdict);
  CHECK(a.relay_id == b.relay_id);
}

std::string
error_of(std::string_view line)
{
  auto record = parse_record(line);
  return record.ok() ? std::string("(parsed)") : record.error().message;
}

std::string
replace_once(std::string text, std::string_view from, std::string_view to)
{
  const auto pos = text.find(from);
  REQUIRE(pos != std::string::npos);
  text.replace(pos, from.size(), to);
  return text;
}

} // namespace

TEST_CASE("record_json: event line has the documented fields in order")
{
  CHECK(to_json_line(sample_event()) ==
        R"({"v":1,"kind":"event","id":"evt_0001","time":"2026-11-26T06:45:27.123456Z",)"
        R"("source":"listen:127.0.0.1:7777","remote":"127.0.0.1:50000","method":"POST",)"
        R"("target":"/hook?a=1","http_version":"HTTP/1.1","headers":[["Host","x"],["X-Empty",""]],)"
        R"("body":"hi \"there\"\n\u0001","body_size":12,)"
        R"("body_sha256":"ea2ae3c94a55680070dc3c69e3d6c51f3e020c84e441940737df88d2cdbeb0ee"})");
  auto e = sample_event();
  e.chunked = true;
  e.verdict = "valid";
  e.relay_id = "evt_01KAF0RELAY";
  const auto line = to_json_line(e);
  CHECK(line.find(R"(,"chunked":true,"verdict":"valid","relay_id":"evt_01KAF0RELAY"})") !=
        std::string::npos);
  check_same(round_trip(e), e);
}

TEST_CASE("record_json: delivery lines, success and failure")
{
  CHECK(to_json_line(sample_delivery()) ==
        R"({"v":1,"kind":"delivery","id":"dlv_0002","event_id":"evt_0001",)"
        R"("time":"2026-11-26T06:45:27.123456Z","target":"http://127.0.0.1:3000/hook",)"
        R"("attempt":1,"replay":false,"status":200,"duration_ms":1.234,)"
        R"("response":{"headers":[["Content-Type","text/plain"]],"body":"ok","body_size":2,)"
        R"("truncated":false}})");

  auto failed = sample_delivery();
  failed.status = 0;
  failed.error = "connection refused";
  failed.duration_us = 2'000'005;
  failed.attempt = 3;
  failed.replay = true;
  CHECK(to_json_line(failed) ==
        R"({"v":1,"kind":"delivery","id":"dlv_0002","event_id":"evt_0001",)"
        R"("time":"2026-11-26T06:45:27.123456Z","target":"http://127.0.0.1:3000/hook",)"
        R"("attempt":3,"replay":true,"status":0,"duration_ms":2000.005,)"
        R"("error":"connection refused"})");
  const auto back = round_trip(failed);
  CHECK(back.error == "connection refused");
  CHECK(back.status == 0);
  CHECK(back.attempt == 3);
  CHECK(back.replay);
  CHECK(back.duration_us == 2'000'005);
  CHECK(back.response_headers.empty());
  CHECK(back.response_body.empty());
}

TEST_CASE("record_json: delivery round trip keeps binary and truncated responses")
{
  auto d = sample_delivery();
  d.response_body = std::string("\x89PNG\r\n\x1a\n\0\xff", 10);
  d.response_truncated = true;
  d.response_headers = {{"X-A", "1"}, {"x-a", "2"}, {"X-Bin", "\xff\xfe"}};
  d.duration_us = 0;
  d.time_us = 1;
  const auto line = to_json_line(d);
  CHECK(line.find(R"("body_encoding":"base64","body_size":10,"truncated":true)") !=
        std::string::npos);
  const auto back = round_trip(d);
  CHECK(back.id == d.id);
  CHECK(back.event_id == d.event_id);
  CHECK(back.time_us == 1);
  CHECK(back.target == d.target);
  CHECK(back.status == 200);
  CHECK(back.duration_us == 0);
  CHECK(back.response_headers == d.response_headers);
  CHECK(back.response_body == d.response_body);
  CHECK(back.response_truncated);
  CHECK(back.error.empty());
}

TEST_CASE("record_json: binary body with NUL and 0xFF is base64 and exact")
{
  auto e = sample_event();
  e.body = std::string("\0\xff\x00\x80 binary\n", 12);
  const auto line = to_json_line(e);
  CHECK(line.find("\"body\":\"" + rag::util::base64_encode(e.body) +
                  "\",\"body_encoding\":\"base64\",\"body_size\":12,") != std::string::npos);
  const auto back = round_trip(e);
  CHECK(back.body == e.body);
  CHECK(back.body.size() == 12);
}

TEST_CASE("record_json: text bodies with NUL and control bytes stay text")
{
  auto e = sample_event();
  static constexpr char k_text[] = "a\0b\x1f\x7f\t\r\\ \xC3\xA9 \xF0\x9D\x84\x9E";
  e.body = std::string(k_text, sizeof(k_text) - 1);
  REQUIRE(e.body.size() == 16);
  const auto line = to_json_line(e);
  CHECK(line.find("body_encoding") == std::string::npos);
  CHECK(line.find(R"(a\u0000b\u001f)") != std::string::npos);
  CHECK(round_trip(e).body == e.body);
}

TEST_CASE("record_json: empty body")
{
  auto e = sample_event();
  e.body.clear();
  const auto line = to_json_line(e);
  CHECK(line.find(R"("body":"","body_size":0,"body_sha256":"e3b0c442)") != std::string::npos);
  CHECK(round_trip(e).body.empty());
}

TEST_CASE("record_json: non-UTF-8 header and target use base64 forms")
{
  auto e = sample_event();
  e.headers = {{"X-Bin", "caf\xe9"}, {"X-\xff", "v"}, {"Ok", "fine"}};
  e.target = "/p?q=\xff\xfe";
  const auto line = to_json_line(e);
  CHECK(line.find("[\"" + rag::util::base64_encode("X-Bin") + "\",\"" +
                  rag::util::base64_encode("caf\xe9") + "\",\"base64\"]") != std::string::npos);
  CHECK(line.find(R"(["Ok","fine"])") != std::string::npos);
  CHECK(line.find("\"target\":\"" + rag::util::base64_encode(e.target) +
                  "\",\"target_encoding\":\"base64\",\"http_version\"") != std::string::npos);
  const auto back = round_trip(e);
  CHECK(back.headers == e.headers);
  CHECK(back.target == e.target);
}

TEST_CASE("record_json: duplicate and empty headers are kept in order")
{
  auto e = sample_event();
  e.headers = {{"X-Dup", "a"}, {"x-dup", "b"}, {"X-Empty", ""},
               {"X-DUP", "c"}, {"", ""},       {"Quote\"", "back\\slash"}};
  check_same(round_trip(e), e);
}

TEST_CASE("record_json: fields without a base64 form never produce invalid JSON")
{
  auto e = sample_event();
  e.method = "P\xffST";
  e.source = "import:/tmp/\xfe.har";
  const auto back = round_trip(e);
  CHECK(back.method == "P\xEF\xBF\xBDST");
  CHECK(back.source == "import:/tmp/\xEF\xBF\xBD.har");
}

TEST_CASE("record_json: unknown extra fields are ignored")
{
  auto line = to_json_line(sample_event());
  line.insert(line.size() - 1, R"(,"future":{"x":[1,2]},"z":null)");
  line.insert(1, R"("a_new_first_field":true,)");
  check_same(std::get<Event>(parse_record(line).value()), sample_event());
}

TEST_CASE("record_json: rejects records it cannot trust")
{
  const auto line = to_json_line(sample_event());
  CHECK(error_of("") == "empty line");
  CHECK(error_of("{\"v\":1,") == "not valid JSON");
  CHECK(error_of("[1,2]") == "not a JSON object");
  CHECK(error_of("{}") == "missing field 'v'");
  CHECK(error_of(R"({"v":"1","kind":"event"})") == "field 'v' is not an integer");
  CHECK(error_of(replace_once(line, R"("v":1)", R"("v":2)")) == "unsupported record version 2");
  CHECK(error_of(replace_once(line, R"("v":1)", R"("v":0)")) == "invalid record version 0");
  CHECK(error_of(replace_once(line, R"("kind":"event")", R"("kind":"thing")")) ==
        "unknown record kind 'thing'");
  CHECK(error_of(replace_once(line, R"("id":"evt_0001",)", "")) == "missing field 'id'");
  CHECK(error_of(replace_once(line, R"("method":"POST")", R"("method":7)")) ==
        "field 'method' is not a string");
  CHECK(error_of(replace_once(line, R"("body_size":12)", R"("body_size":13)")) ==
        "body_size 13 does not match the body (12 bytes)");
  CHECK(error_of(replace_once(line, R"("body_size":12)", R"("body_size":-1)")) ==
        "body_size -1 does not match the body (12 bytes)");
  CHECK(error_of(replace_once(line, "\"body_sha256\":\"ea", "\"body_sha256\":\"eb")) ==
        "body_sha256 does not match the body");
  // A changed body character that keeps the size is caught by the digest.
  CHECK(error_of(replace_once(line, "hi \\\"there", "ho \\\"there")) ==
        "body_sha256 does not match the body");
  CHECK(error_of(replace_once(line, R"("time":"2026-11-26T06:45:27.123456Z")",
                              R"("time":"yesterday")")) == "field 'time' is not an RFC 3339 time");
  CHECK(error_of(replace_once(line, R"(["X-Empty",""])", R"(["X-Empty"])")) ==
        "header 2 is not a [name, value] pair");
  CHECK(error_of(replace_once(line, R"(["X-Empty",""])", R"(["X-Empty","","gzip"])")) ==
        "header 2 is not a [name, value] pair");
  CHECK(error_of(replace_once(line, R"(["X-Empty",""])", R"(["!!","","base64"])")) ==
        "header 2 is not valid base64");
  CHECK(error_of(replace_once(line, R"("headers":[)", R"("headers":{"a":1},"x":[)")) ==
        "field 'headers' is not an array");
  CHECK(error_of(replace_once(line, R"("body_size")", R"("body_encoding":"hex","body_size")")) ==
        "unsupported body_encoding 'hex'");
  CHECK(error_of(replace_once(line, R"("body_size")", R"("body_encoding":"base64","body_size")")) ==
        "field 'body' is not valid base64");
  auto chunked = line;
  chunked.insert(chunked.size() - 1, R"(,"chunked":"yes")");
  CHECK(error_of(chunked) == "field 'chunked' is not a boolean");

  const auto delivery = to_json_line(sample_delivery());
  CHECK(error_of(replace_once(delivery, R"(,"response":{)", R"(,"x":{)")) ==
        "missing field 'response'");
  CHECK(error_of(replace_once(delivery, R"("duration_ms":1.234)", R"("duration_ms":"1")")) ==
        "field 'duration_ms' is not a number");
  CHECK(error_of(replace_once(delivery, R"("replay":false)", R"("replay":0)")) ==
        "field 'replay' is not a boolean");
  CHECK(error_of(replace_once(delivery, R"("body_size":2)", R"("body_size":3)")) ==
        "body_size 3 does not match the body (2 bytes)");
}

TEST_CASE("record_json: parse_record survives every prefix and garbage")
{
  auto e = sample_event();
  e.body = std::string("\0\xff", 2);
  e.headers.push_back({"X-Bin", "\xff"});
  for (const auto& line : {to_json_line(e), to_json_line(sample_delivery())}) {
    for (std::size_t len = 0; len < line.size(); ++len) {
      CAPTURE(len);
      CHECK_FALSE(parse_record(std::string_view(line).substr(0, len)).ok());
    }
    CHECK(parse_record(line).ok());
  }
  CHECK_FALSE(parse_record(std::string("\xff\xfe{\"v\":1}\0", 10)).ok());
  CHECK_FALSE(parse_record(std::string(100000, '[')).ok());
  CHECK_FALSE(parse_record(std::string(100000, '[') + std::string(100000, ']')).ok());
  // Deep nesting in an unknown field is parsed and ignored without blowing the stack.
  auto deep = to_json_line(sample_event());
  deep.insert(deep.size() - 1, ",\"x\":" + std::string(100000, '[') + std::string(100000, ']'));
  CHECK(parse_record(deep).ok());
  CHECK_FALSE(parse_record("{\"v\":1,\"kind\":\"event\",\"id\":\"\xff\"}").ok());
}

TEST_CASE("record_json: time formatting")
{
  CHECK(format_time_us(0) == "1970-01-01T00:00:00.000000Z");
  CHECK(format_time_us(1795675527123456) == "2026-11-26T06:45:27.123456Z");
  CHECK(format_time_us(-1) == "1969-12-31T23:59:59.999999Z");
  CHECK(format_time_us(1709251199000000) == "2024-02-29T23:59:59.000000Z");
  CHECK(format_time_us(951782400000000) == "2000-02-29T00:00:00.000000Z");
}

TEST_CASE("record_json: time parsing")
{
  const auto parse = [](std::string_view text) {
    auto t = parse_time_us(text);
    return t.ok() ? *t : INT64_MIN;
  };
  CHECK(parse("2026-11-26T06:45:27.123456Z") == 1795675527123456);
  CHECK(parse("2026-11-26t06:45:27.123456z") == 1795675527123456);
  CHECK(parse("2026-11-26 06:45:27.123456Z") == 1795675527123456);
  CHECK(parse("2026-11-26T06:45:27Z") == 1795675527000000);
  CHECK(parse("2026-11-26T06:45:27.1Z") == 1795675527100000);
  CHECK(parse("2026-11-26T06:45:27.123456789Z") == 1795675527123456);
  CHECK(parse("2026-11-26T07:45:27.123456+01:00") == 1795675527123456);
  CHECK(parse("2026-11-25T22:15:27.123456-08:30") == 1795675527123456);
  CHECK(parse("2026-11-26T06:45:27+00:00") == 1795675527000000);
  CHECK(parse("1970-01-01T00:00:00Z") == 0);
  CHECK(parse("1969-12-31T23:59:59.999999Z") == -1);
  CHECK(parse("2024-02-29T23:59:59Z") == 1709251199000000);
  for (const char* bad :
       {"", "2026-11-26", "2026-11-26T06:45:27", "2026-11-26T06:45:27.Z",
        "2026-11-26T06:45:27.1234567890Z", "2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z",
        "2026-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-11-26T24:00:00Z",
        "2026-11-26T06:60:00Z", "2026-11-26T06:45:27+0100", "2026-11-26T06:45:27+01",
        "2026-11-26T06:45:27Zjunk", "26-11-26T06:45:27Z", "2026-11-26X06:45:27Z",
        "2026-11-26T06:45:27+24:00"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_time_us(bad).ok());
  }
  // Every formatted time parses back to itself.
  for (std::int64_t t : {std::int64_t{0}, std::int64_t{-1}, std::int64_t{1795675527123456},
                         std::int64_t{253402300799999999}, std::int64_t{-62135596800000000}}) {
    CAPTURE(t);
    CHECK(parse(format_time_us(t)) == t);
  }
}

TEST_CASE("record_json: raw_record_id reads the record's own id without parsing")
{
  auto e = sample_event();
  e.id = "evt_1K153RESRMVZ5T0000000000";
  CHECK(raw_record_id(to_json_line(e)) == "evt_1K153RESRMVZ5T0000000000");
  CHECK(raw_record_id(R"({"v":1,"kind":"delivery","id":"dlv_X","event_id":"evt_Y"})") == "dlv_X");
  CHECK(raw_record_id("garbage").empty());
  CHECK(raw_record_id(R"({"id":"unterminated)").empty());
}

TEST_CASE("record_json: what lies deeper than the nesting cap is dropped, not stored")
{
  // An unknown field is ignored however deep (see "parse_record survives every prefix");
  // a known field that deep is wrong, and says so without recursing over it.
  const std::string deep = std::string(50000, '[') + std::string(50000, ']');
  auto line = to_json_line(sample_event());
  auto unknown = line;
  unknown.insert(unknown.size() - 1, R"(,"future":{"x":)" + deep + "}");
  check_same(std::get<Event>(parse_record(unknown).value()), sample_event());
  CHECK_FALSE(
      parse_record(replace_once(line, R"("headers":[)", R"("headers":[)" + deep + ",")).ok());
  CHECK_FALSE(parse_record(replace_once(line, R"("method":"POST")", R"("method":)" + deep)).ok());
  CHECK(error_of(std::string(50000, '[')) == "not valid JSON");
}

TEST_CASE("record json: an id that is not letters, digits, '_' or '-' makes the line no record")
{
  rag::core::Event event;
  event.id = "evt_01KBJ2X7Q9R3M8TZ4D6PNWAHYF";
  event.time_us = 1'700'000'000'000'000;
  event.method = "POST";
  event.target = "/x";
  const std::string good = rag::core::to_json_line(event);
  CHECK(rag::core::parse_record(good).ok());
  for (const char* bad : {"../../x", "evt_a/b", "", R"(evt_\u0000)", "a b"}) {
    CAPTURE(bad);
    std::string line = good;
    line.replace(line.find("evt_01KBJ2X7Q9R3M8TZ4D6PNWAHYF"), 30, bad);
    CHECK_FALSE(rag::core::parse_record(line).ok());
  }
}

TEST_CASE("record json: C1 and bidirectional controls are written escaped, and read back")
{
  rag::core::Event event;
  event.id = "evt_01KBJ2X7Q9R3M8TZ4D6PNWAHYF";
  event.time_us = 1'700'000'000'000'000;
  event.method = "POST";
  event.target = "/x";
  // U+009B (CSI), U+202E (right-to-left override), U+2066, U+061C, DEL; then plain
  // non-ASCII text that must stay as it is.
  event.body = "a\xc2\x9b"
               "b\xe2\x80\xae"
               "c\xe2\x81\xa6"
               "d\xd8\x9c"
               "e\x7f"
               "f \xc3\xa9\xe2\x82\xac";
  event.headers = {{"X-Name", "\xe2\x80\xaetxt.exe"}};
  const std::string line = rag::core::to_json_line(event);
  CHECK(line.find("\\u009b") != std::string::npos);
  CHECK(line.find("\\u202e") != std::string::npos);
  CHECK(line.find("\\u2066") != std::string::npos);
  CHECK(line.find("\\u061c") != std::string::npos);
  CHECK(line.find("\\u007f") != std::string::npos);
  CHECK(line.find("\xc2\x9b") == std::string::npos);
  CHECK(line.find("\xe2\x80\xae") == std::string::npos);
  CHECK(line.find("f \xc3\xa9\xe2\x82\xac") != std::string::npos);
  auto record = rag::core::parse_record(line);
  REQUIRE(record.ok());
  const auto& back = std::get<rag::core::Event>(*record);
  CHECK(back.body == event.body);
  CHECK(back.headers == event.headers);
}
