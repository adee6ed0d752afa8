#include "core/har.hpp"

#include "core/log/record_time.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace {

using namespace rag::core;
using Json = nlohmann::json;

Event
json_event()
{
  Event event;
  event.id = "evt_1K151Q78NBGSJ62TEXS3STCH1M";
  event.time_us = 1'764'139'527'123'456; // 2025-11-26T06:45:27.123456Z
  event.source = "listen:127.0.0.1:7777";
  event.remote = "127.0.0.1:50000";
  event.method = "POST";
  event.target = "/github/push?a=1&b=two+words&c=%2Fx&&flag";
  event.http_version = "HTTP/1.1";
  event.headers = {{"Host", "hooks.example:7777"},
                   {"Content-Type", "application/json"},
                   {"X-Dup", "a"},
                   {"x-dup", "b"},
                   {"X-Empty", ""},
                   {"Cookie", "session=abc; theme=dark"}};
  event.body = "{\"action\":\"opened\",\"nul\":\"a\u0000b\"}";
  event.body += std::string(1, '\0') + "tail";
  return event;
}

Event
binary_event()
{
  Event event;
  event.id = "evt_1K151Q78NBGSJ62TEXS3STCH2M";
  event.time_us = 1'764'139'528'000'001;
  event.source = "listen:127.0.0.1:7777";
  event.method = "PUT";
  event.target = "/upload";
  event.http_version = "HTTP/1.0";
  event.headers = {{"Host", "127.0.0.1:7777"}, {"Content-Type", "application/octet-stream"}};
  for (int i = 0; i < 256; ++i) {
    event.body.push_back(static_cast<char>(i));
  }
  event.chunked = true;
  return event;
}

Delivery
delivery(const std::string& target, std::int64_t time_us, int attempt, bool replay, int status)
{
  Delivery d;
  d.id = "dlv_" + std::to_string(time_us);
  d.event_id = "evt_1K151Q78NBGSJ62TEXS3STCH1M";
  d.time_us = time_us;
  d.target = target;
  d.attempt = attempt;
  d.replay = replay;
  d.status = status;
  d.duration_us = 12'345;
  d.response_headers = {{"Content-Type", "application/json"},
                        {"Set-Cookie", "id=7; Path=/; HttpOnly"}};
  d.response_body = "{\"ok\":true}";
  return d;
}

std::string
document(const std::vector<std::pair<Event, const Delivery*>>& items)
{
  HarWriter writer("9.9.9");
  std::string out = writer.begin();
  for (const auto& [event, response] : items) {
    out += writer.entry(event, response);
  }
  return out + writer.end();
}

bool
is_number(const Json& value)
{
  return value.is_number();
}

} // namespace

TEST_CASE("har: the response is the latest original attempt to the primary target")
{
  CHECK(har_response({}) == nullptr);

  std::vector<Delivery> deliveries = {
      delivery("http://127.0.0.1:4000/h", 2'000, 1, false, 200), // secondary, written first
      delivery("http://127.0.0.1:3000/h", 1'000, 1, false, 503), // primary, started first
      delivery("http://127.0.0.1:3000/h", 5'000, 2, false, 201), // primary's retry
      delivery("http://127.0.0.1:3000/h", 9'000, 1, true, 500)}; // a later replay
  const Delivery* chosen = har_response(deliveries);
  REQUIRE(chosen != nullptr);
  CHECK(chosen->status == 201);
  CHECK(chosen->attempt == 2);

  // Only replays: the latest replay to the first replayed target.
  std::vector<Delivery> replays = {delivery("http://a/", 1'000, 1, true, 500),
                                   delivery("http://b/", 1'500, 1, true, 404),
                                   delivery("http://a/", 3'000, 1, true, 204)};
  chosen = har_response(replays);
  REQUIRE(chosen != nullptr);
  CHECK(chosen->status == 204);
}

TEST_CASE("har: a document has every field HAR 1.2 requires, of the right type")
{
  const Event text = json_event();
  const Event binary = binary_event();
  const Delivery ok = delivery("http://127.0.0.1:3000/github/push", 1'000, 1, false, 200);
  Delivery refused = delivery("http://127.0.0.1:3000/upload", 1'000, 1, false, 0);
  refused.error = "connection refused";
  refused.response_headers.clear();
  refused.response_body.clear();
  const std::string har = document({{text, &ok}, {binary, &refused}, {text, nullptr}});

  const Json doc = Json::parse(har);
  const Json& log = doc.at("log");
  CHECK(log.at("version") == "1.2");
  CHECK(log.at("creator").at("name") == "rag");
  CHECK(log.at("creator").at("version") == "9.9.9");
  REQUIRE(log.at("entries").size() == 3);
  for (const Json& entry : log.at("entries")) {
    CHECK(entry.at("startedDateTime").is_string());
    CHECK(is_number(entry.at("time")));
    const Json& request = entry.at("request");
    for (const char* key : {"method", "url", "httpVersion"}) {
      CHECK(request.at(key).is_string());
    }
    for (const char* key : {"cookies", "headers", "queryString"}) {
      CHECK(request.at(key).is_array());
    }
    CHECK(is_number(request.at("headersSize")));
    CHECK(is_number(request.at("bodySize")));
    const Json& response = entry.at("response");
    CHECK(is_number(response.at("status")));
    for (const char* key : {"statusText", "httpVersion", "redirectURL"}) {
      CHECK(response.at(key).is_string());
    }
    CHECK(response.at("cookies").is_array());
    CHECK(response.at("headers").is_array());
    CHECK(is_number(response.at("content").at("size")));
    CHECK(response.at("content").at("mimeType").is_string());
    CHECK(is_number(response.at("headersSize")));
    CHECK(is_number(response.at("bodySize")));
    CHECK(entry.at("cache").is_object());
    for (const char* key : {"send", "wait", "receive"}) {
      CHECK(is_number(entry.at("timings").at(key)));
    }
    // time is the sum of the timings that are not -1.
    CHECK(entry.at("time").get<double>() ==
          doctest::Approx(entry.at("timings").at("wait").get<double>()));
  }

  const Json& first = log.at("entries")[0];
  CHECK(first.at("startedDateTime") == "2025-11-26T06:45:27.123Z");
  CHECK(first.at("time").get<double>() == doctest::Approx(12.345));
  CHECK(first.at("_rag_event_id") == text.id);
  CHECK(first.at("_rag_source") == text.source);
  const Json& request = first.at("request");
  CHECK(request.at("url") == "http://hooks.example:7777/github/push?a=1&b=two+words&c=%2Fx&&flag");
  CHECK(request.at("headers")[2] == Json{{"name", "X-Dup"}, {"value", "a"}});
  CHECK(request.at("headers")[3] == Json{{"name", "x-dup"}, {"value", "b"}});
  CHECK(request.at("headers")[4] == Json{{"name", "X-Empty"}, {"value", ""}});
  CHECK(request.at("queryString")[1] == Json{{"name", "b"}, {"value", "two words"}});
  CHECK(request.at("queryString")[2] == Json{{"name", "c"}, {"value", "/x"}});
  CHECK(request.at("queryString").size() == 4);
  CHECK(request.at("cookies")[1] == Json{{"name", "theme"}, {"value", "dark"}});
  CHECK(request.at("postData").at("mimeType") == "application/json");
  CHECK(request.at("postData").at("text").get<std::string>() == text.body);
  CHECK_FALSE(request.at("postData").contains("encoding"));
  CHECK(request.at("bodySize") == text.body.size());
  CHECK(request.at("_rag_target") == text.target);
  const Json& response = first.at("response");
  CHECK(response.at("status") == 200);
  CHECK(response.at("statusText") == "OK");
  CHECK(response.at("content").at("text") == "{\"ok\":true}");
  CHECK(response.at("content").at("size") == 11);
  CHECK(response.at("cookies")[0].at("name") == "id");
  CHECK(response.at("cookies")[0].at("httpOnly") == true);

  const Json& second = log.at("entries")[1];
  const Json& post = second.at("request").at("postData");
  CHECK(post.at("encoding") == "base64");
  CHECK(post.at("_encoding") == "base64");
  CHECK(post.at("text").get<std::string>().starts_with("AAECAwQF"));
  CHECK(second.at("request").at("httpVersion") == "HTTP/1.0");
  CHECK(second.at("response").at("status") == 0);
  CHECK(second.at("response").at("_error") == "connection refused");
  CHECK(second.at("_rag_chunked") == true);

  const Json& third = log.at("entries")[2];
  CHECK(third.at("response").at("status") == 0);
  CHECK(third.at("response").at("_error") == "no delivery");
  CHECK(third.at("time") == 0);
}

TEST_CASE("har: an empty export is a valid document")
{
  const Json doc = Json::parse(document({}));
  CHECK(doc.at("log").at("entries").empty());
  CHECK(doc.at("log").at("version") == "1.2");
}

TEST_CASE("har: export then parse gives the same requests, byte for byte")
{
  Event weird = json_event();
  weird.target = std::string("/odd\xFF?x=1");
  weird.headers.emplace_back(std::string("X-Bin\xFE"), std::string("v\x80"));
  weird.verdict = "valid";
  Event empty = json_event();
  empty.method = "GET";
  empty.body.clear();
  const std::vector<Event> events = {json_event(), binary_event(), weird, empty};
  std::vector<std::pair<Event, const Delivery*>> items;
  for (const auto& event : events) {
    items.emplace_back(event, nullptr);
  }
  const std::string har = document(items);
  CHECK(looks_like_har(har));

  auto parsed = parse_har(har);
  REQUIRE(parsed.ok());
  CHECK(parsed->skipped.empty());
  REQUIRE(parsed->requests.size() == events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    const Event& want = events[i];
    const HarRequest& got = parsed->requests[i];
    CAPTURE(i);
    CHECK(got.index == i + 1);
    CHECK(got.has_time);
    CHECK(got.event.time_us == want.time_us / 1000 * 1000);
    CHECK(got.event.method == want.method);
    CHECK(got.event.target == want.target);
    CHECK(got.event.http_version == want.http_version);
    CHECK(got.event.headers == want.headers);
    CHECK(got.event.body == want.body);
    CHECK(got.event.chunked == want.chunked);
    CHECK(got.event.remote == want.remote);
    CHECK(got.event.verdict == want.verdict);
    CHECK(got.event.id.empty());
  }
}

TEST_CASE("har: DevTools-shaped entries import")
{
  const std::string har = R"({
  "log": {
    "version": "1.2",
    "creator": {"name": "WebInspector", "version": "537.36"},
    "pages": [],
    "entries": [
      {
        "_initiator": {"type": "other"},
        "_priority": "High",
        "_resourceType": "fetch",
        "cache": {},
        "connection": "443",
        "request": {
          "method": "POST",
          "url": "https://hooks.example.com/stripe?live=1#ignored",
          "httpVersion": "h2",
          "headers": [
            {"name": ":authority", "value": "hooks.example.com"},
            {"name": ":method", "value": "POST"},
            {"name": ":path", "value": "/stripe?live=1"},
            {"name": ":scheme", "value": "https"},
            {"name": "content-type", "value": "application/json"},
            {"name": "stripe-signature", "value": "t=1,v1=abc"}
          ],
          "queryString": [{"name": "live", "value": "1"}],
          "cookies": [],
          "headersSize": -1,
          "bodySize": 11,
          "postData": {"mimeType": "application/json", "text": "{\"id\":\"e\"}"}
        },
        "response": {"status": 200, "statusText": "", "httpVersion": "h2", "headers": [],
                     "cookies": [], "content": {"size": 0, "mimeType": "x-unknown"},
                     "redirectURL": "", "headersSize": -1, "bodySize": -1,
                     "_transferSize": 0, "_error": null},
        "serverIPAddress": "203.0.113.7",
        "startedDateTime": "2024-03-01T10:00:00.250+01:00",
        "time": 5.5,
        "timings": {"blocked": 1, "dns": -1, "ssl": -1, "connect": -1, "send": 0.5,
                    "wait": 3, "receive": 1, "_blocked_queueing": 0.5}
      },
      {
        "request": {
          "method": "POST",
          "url": "http://127.0.0.1:3000/form",
          "httpVersion": "HTTP/1.1",
          "headers": [{"name": "Content-Type", "value": "application/x-www-form-urlencoded"}],
          "postData": {"mimeType": "application/x-www-form-urlencoded",
                       "params": [{"name": "who", "value": "Ada L"}, {"name": "n", "value": "1&2"}]}
        }
      },
      {"request": {"method": "POST", "headers": []}},
      {
        "request": {
          "method": "POST", "url": "http://h/bin", "headers": [],
          "postData": {"mimeType": "application/octet-stream", "text": "AP+A", "encoding": "base64"}
        }
      },
      {
        "request": {
          "method": "POST", "url": "http://h/multi", "headers": [],
          "postData": {"mimeType": "multipart/form-data; boundary=x",
                       "params": [{"name": "f", "fileName": "a.txt"}]}
        }
      },
      "not an entry"
    ]
  }
})";
  CHECK(looks_like_har(har));
  auto parsed = parse_har(har);
  REQUIRE(parsed.ok());
  CHECK(parsed->total_entries == 6);
  REQUIRE(parsed->requests.size() == 3);
  REQUIRE(parsed->skipped.size() == 3);
  CHECK(parsed->skipped[0].starts_with("entry 3: request.url"));
  CHECK(parsed->skipped[1].starts_with("entry 5: "));
  CHECK(parsed->skipped[1].find("multipart") != std::string::npos);
  CHECK(parsed->skipped[2] == "entry 6: not an object");

  const HarRequest& h2 = parsed->requests[0];
  CHECK(h2.index == 1);
  CHECK(h2.event.target == "/stripe?live=1");
  CHECK(h2.event.http_version == "HTTP/1.1");
  const Headers want = {{"Host", "hooks.example.com"},
                        {"content-type", "application/json"},
                        {"stripe-signature", "t=1,v1=abc"}};
  CHECK(h2.event.headers == want);
  CHECK(h2.event.body == "{\"id\":\"e\"}");
  CHECK(h2.event.time_us == *parse_time_us("2024-03-01T09:00:00.250Z"));

  const HarRequest& form = parsed->requests[1];
  CHECK(form.index == 2);
  CHECK_FALSE(form.has_time);
  CHECK(form.event.body == "who=Ada+L&n=1%262");
  // No Host and no :authority: Host comes from the URL, first.
  CHECK(form.event.headers.front() == Header{"Host", "127.0.0.1:3000"});

  const HarRequest& bin = parsed->requests[2];
  CHECK(bin.event.body == std::string("\x00\xFF\x80", 3));
}

TEST_CASE("har: documents that are not HAR")
{
  CHECK_FALSE(looks_like_har("{\"v\":1,\"kind\":\"event\"}\n{\"v\":1}\n"));
  CHECK_FALSE(looks_like_har(""));
  CHECK_FALSE(looks_like_har("[1,2]"));
  CHECK(looks_like_har("{\"comment\":\"x\",\"log\":{\"entries\":[]}}"));
  // A damaged HAR is still recognised, so its error is reported as such.
  CHECK(looks_like_har("\xEF\xBB\xBF{\n  \"log\": {\n    \"entries\": [\n"));

  const auto truncated = parse_har("{\n  \"log\": {\n    \"entries\": [\n");
  REQUIRE_FALSE(truncated.ok());
  CHECK(truncated.error().message.starts_with("not valid JSON"));
  const auto no_entries = parse_har("{\"log\": {\"version\": \"1.2\"}}");
  REQUIRE_FALSE(no_entries.ok());
  CHECK(no_entries.error().message == "not a HAR file: log.entries is not an array");
  const auto bad_base64 = parse_har(
      R"({"log":{"entries":[{"request":{"method":"POST","url":"http://h/",
          "postData":{"mimeType":"","text":"%%%","_encoding":"base64"}}}]}})");
  REQUIRE(bad_base64.ok());
  CHECK(bad_base64->requests.empty());
  REQUIRE(bad_base64->skipped.size() == 1);
  CHECK(bad_base64->skipped[0].find("not valid base64") != std::string::npos);
}

TEST_CASE("har: a document nested deeper than the cap is not valid JSON, without a crash")
{
  const std::string deep = std::string(50000, '[') + std::string(50000, ']');
  const std::string har = R"({"comment":)" + deep + R"(,"log":{"entries":[]}})";
  CHECK_FALSE(looks_like_har(har));
  const auto parsed = parse_har(har);
  REQUIRE_FALSE(parsed.ok());
  CHECK(parsed.error().message.starts_with("not valid JSON"));
  CHECK(parsed.error().message.find("nested") != std::string::npos);
  // Inside an entry too; at the cap it is only an unknown field.
  const auto entry = parse_har(R"({"log":{"entries":[{"_x":)" + deep + "}]}}");
  CHECK_FALSE(entry.ok());
  const std::string shallow = std::string(200, '[') + std::string(200, ']');
  const auto fine = parse_har(R"({"comment":)" + shallow + R"(,"log":{"entries":[]}})");
  CHECK(fine.ok());
  CHECK(looks_like_har(R"({"comment":)" + shallow + R"(,"log":{"entries":[]}})"));
}

TEST_CASE("har: a refused request's response is rag's answer; trailers and refusal round trip")
{
  Event too_large = json_event();
  too_large.body.clear();
  too_large.chunked = true;
  too_large.trailers = {{"X-Checksum", "abc"}, {"X-Bin", "\xff"}};
  too_large.rejected = Rejection{413, "request body too large", 4096};
  Event unreadable;
  unreadable.id = "evt_1K151Q78NBGSJ62TEXS3STCH3M";
  unreadable.time_us = 1'764'139'529'000'000;
  unreadable.source = "listen:127.0.0.1:7777";
  unreadable.remote = "127.0.0.1:5";
  unreadable.rejected = Rejection{400, "invalid method", 0};
  // A delivery (a replay of a 401, say) does not change what the sender got.
  const Delivery replayed = delivery("http://127.0.0.1:3000", 1'764'139'530'000'000, 1, true, 200);
  const std::string har = document({{too_large, &replayed}, {unreadable, nullptr}});

  const Json doc = Json::parse(har);
  const Json& entry = doc["log"]["entries"][0];
  CHECK(entry["response"]["status"] == 413);
  CHECK(entry["response"]["statusText"] == "Content Too Large");
  CHECK(entry["response"]["content"]["size"] == 0);
  CHECK(entry["_rag_rejected"] ==
        Json{{"status", 413}, {"reason", "request body too large"}, {"body_dropped", 4096}});
  CHECK(entry["request"]["_rag_trailers"][0] == Json{{"name", "X-Checksum"}, {"value", "abc"}});
  CHECK(entry["request"]["_rag_trailers"][1]["_rag_value_base64"] == "/w==");
  CHECK(doc["log"]["entries"][1]["response"]["status"] == 400);
  CHECK(doc["log"]["entries"][1]["request"]["method"] == "");

  auto parsed = parse_har(har);
  REQUIRE(parsed.ok());
  CHECK(parsed->skipped.empty());
  REQUIRE(parsed->requests.size() == 2);
  CHECK(parsed->requests[0].event.trailers == too_large.trailers);
  CHECK(parsed->requests[0].event.rejected == too_large.rejected);
  // Only a refused entry may lack a method.
  CHECK(parsed->requests[1].event.method.empty());
  CHECK(parsed->requests[1].event.rejected == unreadable.rejected);
  CHECK_FALSE(parse_har(R"({"log":{"entries":[{"request":{"method":"","url":"http://h/"}}]}})")
                  ->skipped.empty());
}

TEST_CASE("har: hostile _rag_rejected and _rag_trailers skip the entry, never crash")
{
  for (const std::string_view extra :
       {R"("_rag_rejected":7)", R"("_rag_rejected":{"status":"413","reason":"x"})",
        R"("_rag_rejected":{"status":99999999999,"reason":"x"})",
        R"("_rag_rejected":{"status":413,"reason":"x","body_dropped":-1})",
        R"("_rag_rejected":{"status":413})"}) {
    CAPTURE(extra);
    auto parsed =
        parse_har(R"({"log":{"entries":[{"request":{"method":"POST","url":"http://h/"},)" +
                  std::string(extra) + "}]}}");
    REQUIRE(parsed.ok());
    CHECK(parsed->skipped.size() == 1);
  }
  for (const std::string_view trailers :
       {R"({})", R"([1])", R"([{"value":"v"}])", R"([{"name":1,"value":"v"}])",
        R"([{"name":"T","value":"v","_rag_name_base64":"!","_rag_value_base64":"!"}])"}) {
    CAPTURE(trailers);
    auto parsed = parse_har(
        R"({"log":{"entries":[{"request":{"method":"POST","url":"http://h/","_rag_trailers":)" +
        std::string(trailers) + "}}]}}");
    REQUIRE(parsed.ok());
    CHECK(parsed->skipped.size() == 1);
  }
}
