#include "core/log/record_parser.hpp"

#include "core/log/record_writer.hpp"

#include "support/record_samples.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>

using namespace rag::core;
using namespace rag::test;

namespace {

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

TEST_CASE("record_parser: unknown extra fields are ignored")
{
  auto line = to_json_line(sample_event());
  line.insert(line.size() - 1, R"(,"future":{"x":[1,2]},"z":null)");
  line.insert(1, R"("a_new_first_field":true,)");
  check_same(std::get<Event>(parse_record(line).value()), sample_event());
}

TEST_CASE("record_parser: rejects records it cannot trust")
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

  const auto with = [&](std::string_view field) {
    auto edited = line;
    edited.insert(edited.size() - 1, field);
    return error_of(edited);
  };
  CHECK(with(R"(,"trailers":{"T":"1"})") == "field 'trailers' is not an array");
  CHECK(with(R"(,"trailers":[["T"]])") == "header 1 is not a [name, value] pair");
  CHECK(with(R"(,"rejected":413)") == "field 'rejected' is not an object");
  CHECK(with(R"(,"rejected":{"reason":"x"})") == "missing field 'status'");
  CHECK(with(R"(,"rejected":{"status":"413","reason":"x"})") == "field 'status' is not an integer");
  CHECK(with(R"(,"rejected":{"status":4130,"reason":"x"})") ==
        "rejected status 4130 is not an HTTP status");
  CHECK(with(R"(,"rejected":{"status":413})") == "missing field 'reason'");
  CHECK(with(R"(,"rejected":{"status":413,"reason":"x","body_dropped":-1})") ==
        "field 'body_dropped' is negative");
  CHECK(with(R"(,"rejected":{"status":413,"reason":"x","body_dropped":1.5})") ==
        "field 'body_dropped' is not an integer");
  // Unknown fields inside `rejected` are ignored like any unknown field.
  CHECK(with(R"(,"rejected":{"status":413,"reason":"x","later":[1]})") == "(parsed)");

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

TEST_CASE("record_parser: parse_record survives every prefix and garbage")
{
  auto e = sample_event();
  e.body = std::string("\0\xff", 2);
  e.headers.push_back({"X-Bin", "\xff"});
  auto refused = sample_event();
  refused.trailers = {{"T", "1"}};
  refused.rejected = Rejection{431, "request header fields too large", 0};
  for (const auto& line :
       {to_json_line(e), to_json_line(sample_delivery()), to_json_line(refused)}) {
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

TEST_CASE("record_parser: raw_record_id reads the record's own id without parsing")
{
  auto e = sample_event();
  e.id = "evt_1K153RESRMVZ5T0000000000";
  CHECK(raw_record_id(to_json_line(e)) == "evt_1K153RESRMVZ5T0000000000");
  CHECK(raw_record_id(R"({"v":1,"kind":"delivery","id":"dlv_X","event_id":"evt_Y"})") == "dlv_X");
  CHECK(raw_record_id("garbage").empty());
  CHECK(raw_record_id(R"({"id":"unterminated)").empty());
}

TEST_CASE("record_parser: what lies deeper than the nesting cap is dropped, not stored")
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

TEST_CASE("record_parser: an id that is not letters, digits, '_' or '-' makes the line no record")
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
