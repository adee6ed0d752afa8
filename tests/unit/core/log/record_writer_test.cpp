#include "core/log/record_writer.hpp"

#include "core/log/record_parser.hpp"
#include "util/bytes.hpp"

#include "support/record_samples.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>

using namespace rag::core;
using namespace rag::test;

TEST_CASE("record_writer: event line has the documented fields in order")
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

TEST_CASE("record_writer: delivery lines, success and failure")
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

TEST_CASE("record_writer: delivery round trip keeps binary and truncated responses")
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

TEST_CASE("record_writer: binary body with NUL and 0xFF is base64 and exact")
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

TEST_CASE("record_writer: text bodies with NUL and control bytes stay text")
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

TEST_CASE("record_writer: empty body")
{
  auto e = sample_event();
  e.body.clear();
  const auto line = to_json_line(e);
  CHECK(line.find(R"("body":"","body_size":0,"body_sha256":"e3b0c442)") != std::string::npos);
  CHECK(round_trip(e).body.empty());
}

TEST_CASE("record_writer: non-UTF-8 header and target use base64 forms")
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

TEST_CASE("record_writer: duplicate and empty headers are kept in order")
{
  auto e = sample_event();
  e.headers = {{"X-Dup", "a"}, {"x-dup", "b"}, {"X-Empty", ""},
               {"X-DUP", "c"}, {"", ""},       {"Quote\"", "back\\slash"}};
  check_same(round_trip(e), e);
}

TEST_CASE("record_writer: fields without a base64 form never produce invalid JSON")
{
  auto e = sample_event();
  e.method = "P\xffST";
  e.source = "import:/tmp/\xfe.har";
  const auto back = round_trip(e);
  CHECK(back.method == "P\xEF\xBF\xBDST");
  CHECK(back.source == "import:/tmp/\xEF\xBF\xBD.har");
}

TEST_CASE("record_writer: C1 and bidirectional controls are written escaped, and read back")
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

TEST_CASE("record_writer: trailers are written after chunked, in order, and read back")
{
  auto e = sample_event();
  e.chunked = true;
  e.trailers = {{"x-Checksum", "abc"}, {"X-EMPTY", ""}, {"x-checksum", "again"}, {"T", "\xff"}};
  e.verdict = "valid";
  const auto line = to_json_line(e);
  CHECK(line.find(R"(,"chunked":true,"trailers":[["x-Checksum","abc"],["X-EMPTY",""],)"
                  R"(["x-checksum","again"],["VA==","/w==","base64"]],"verdict":"valid"})") !=
        std::string::npos);
  check_same(round_trip(e), e);
  // No trailers, no field: lines of requests without trailers are as they always were.
  CHECK(to_json_line(sample_event()).find("trailers") == std::string::npos);
}

TEST_CASE("record_writer: a refused event carries what rag answered, last")
{
  // A 413: the head as read, no body, and how much of it was read and dropped.
  auto refused = sample_event();
  refused.body.clear();
  refused.relay_id = "r1";
  refused.rejected = Rejection{413, "request body too large", 0};
  const auto line = to_json_line(refused);
  CHECK(line.find(R"("body":"","body_size":0,)") != std::string::npos);
  CHECK(line.ends_with(R"(,"relay_id":"r1","rejected":{"status":413,)"
                       R"("reason":"request body too large","body_dropped":0}})"));
  check_same(round_trip(refused), refused);

  // A request nothing could be read of: empty method, target and version, still a record.
  Event unreadable;
  unreadable.id = "evt_0003";
  unreadable.time_us = 1;
  unreadable.source = "listen:127.0.0.1:7777";
  unreadable.remote = "127.0.0.1:50001";
  unreadable.rejected = Rejection{400, "invalid method", 12};
  CHECK(to_json_line(unreadable) ==
        R"({"v":1,"kind":"event","id":"evt_0003","time":"1970-01-01T00:00:00.000001Z",)"
        R"("source":"listen:127.0.0.1:7777","remote":"127.0.0.1:50001","method":"","target":"",)"
        R"("http_version":"","headers":[],"body":"","body_size":0,)"
        R"("body_sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",)"
        R"("rejected":{"status":400,"reason":"invalid method","body_dropped":12}})");
  check_same(round_trip(unreadable), unreadable);

  // A 401 of --reject-invalid keeps its body: no body_dropped.
  auto unsigned_event = sample_event();
  unsigned_event.verdict = "invalid: signature mismatch";
  unsigned_event.rejected = Rejection{401, "signature invalid: signature mismatch", std::nullopt};
  CHECK(to_json_line(unsigned_event)
            .ends_with(
                R"("rejected":{"status":401,"reason":"signature invalid: signature mismatch"}})"));
  check_same(round_trip(unsigned_event), unsigned_event);
}
