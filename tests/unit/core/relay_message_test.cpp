#include "core/relay_message.hpp"

#include "core/json_bounded.hpp"
#include "util/bytes.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

using namespace rag::core;
using Json = nlohmann::json;

namespace {

std::string
all_bytes()
{
  std::string bytes;
  for (int i = 0; i < 256; ++i) {
    bytes.push_back(static_cast<char>(i));
  }
  return bytes + "\r\n\r\n";
}

RelayedRequest
sample_request()
{
  RelayedRequest request;
  request.id = "evt_01KAF2J9ZC4M7T2S5XG1V9ARQD";
  request.time_us = 1795675527123456; // 2026-11-26T06:45:27.123456Z
  request.method = "PROPFIND";
  request.target = "/github/a%2Fb?x=1&y=a+b&x=2&empty=&flag";
  request.http_version = "HTTP/1.0";
  request.headers = {{"Content-Type", "application/octet-stream"},
                     {"X-Dup", "a"},
                     {"x-dup", "b"},
                     {"X-DUP", "c"},
                     {"X-Empty", ""},
                     {"Zeta", "last"}};
  request.body = all_bytes();
  request.remote = "203.0.113.7:54321";
  return request;
}

Json
parsed(const std::string& text)
{
  return Json::parse(text);
}

} // namespace

TEST_CASE("relay message round-trips a binary body, duplicate headers, odd method and target")
{
  const RelayedRequest in = sample_request();
  const std::string data = relay_message_json(in);
  CHECK(data.find('\n') == std::string::npos); // one SSE data line
  CHECK(data.find('\r') == std::string::npos);

  auto out = parse_relay_message(data);
  REQUIRE(out.ok());
  CHECK(out->form == RelayedRequest::Form::rag);
  CHECK(out->id == in.id);
  CHECK(out->time_us == in.time_us);
  CHECK(out->method == "PROPFIND");
  CHECK(out->target == in.target);
  CHECK(out->http_version == "HTTP/1.0");
  CHECK(out->headers == in.headers);
  CHECK(out->body == in.body);
  CHECK(out->remote == in.remote);
  CHECK(out->reply.empty());

  RelayedRequest with_reply = in;
  with_reply.reply = "/_rag/reply/chan/" + in.id;
  auto replied = parse_relay_message(relay_message_json(with_reply));
  REQUIRE(replied.ok());
  CHECK(replied->reply == with_reply.reply);

  RelayedRequest empty;
  empty.method = "GET";
  auto empty_out = parse_relay_message(relay_message_json(empty));
  REQUIRE(empty_out.ok());
  CHECK(empty_out->method == "GET");
  CHECK(empty_out->target == "/");
  CHECK(empty_out->body.empty());
  CHECK(empty_out->headers.empty());
}

TEST_CASE("relay message carries smee's and gosmee's fields")
{
  RelayedRequest in = sample_request();
  in.method = "POST";
  in.headers = {{"Content-Type", "application/json"},
                {"X-GitHub-Event", "push"},
                {"X-Dup", "a"},
                {"x-dup", "b"}};
  in.body = R"({"zeta":1,"alpha":[true,null,"x"]})";
  const Json message = parsed(relay_message_json(in));
  CHECK(message["content-type"] == "application/json");
  CHECK(message["x-github-event"] == "push");
  CHECK(message["x-dup"] == "a, b");
  CHECK(message["body"] == Json::parse(in.body));
  CHECK(message["query"] == Json::parse(R"({"x":"2","y":"a b","empty":"","flag":""})"));
  CHECK(message["timestamp"] == 1795675527123);
  CHECK(message["bodyB"] == rag::util::base64_encode(in.body));
  const Json& rag = message["rag"];
  CHECK(rag["v"] == 1);
  CHECK(rag["id"] == in.id);
  CHECK(rag["time"] == "2026-11-26T06:45:27.123456Z");
  CHECK(rag["method"] == "POST");
  CHECK(rag["target"] == in.target);
  CHECK(rag["http_version"] == "HTTP/1.0");
  CHECK(rag["headers"] == Json::parse(R"([["Content-Type","application/json"],
      ["X-GitHub-Event","push"],["X-Dup","a"],["x-dup","b"]])"));
  CHECK(rag["body_b64"] == message["bodyB"]);
  CHECK(rag["remote"] == in.remote);
  CHECK_FALSE(rag.contains("reply"));

  // Bodies that are not JSON give smee's empty object; the bytes are in bodyB.
  in.body = "not json {";
  CHECK(parsed(relay_message_json(in))["body"] == Json::object());
  in.body = all_bytes();
  CHECK(parsed(relay_message_json(in))["body"] == Json::object());
}

TEST_CASE("relay message turns a form-urlencoded body into an object of strings")
{
  RelayedRequest in = sample_request();
  in.headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
  in.body = "payload=%7B%22a%22%3A1%7D&name=two+words&n=1&n=2&bare";
  const Json message = parsed(relay_message_json(in));
  CHECK(message["body"] ==
        Json::parse(R"({"payload":"{\"a\":1}","name":"two words","n":"2","bare":""})"));
  CHECK(message["bodyB"] == rag::util::base64_encode(in.body));
}

TEST_CASE("relay message fields win over headers of the same name")
{
  RelayedRequest in = sample_request();
  in.headers = {{"Body", "header"}, {"Query", "q"}, {"Timestamp", "t"}, {"Rag", "r"}};
  in.body = "{}";
  const Json message = parsed(relay_message_json(in));
  CHECK(message["body"] == Json::object());
  CHECK(message["query"].is_object());
  CHECK(message["timestamp"].is_number());
  CHECK(message["rag"].is_object());
  // The rag object still has every header exactly.
  auto out = parse_relay_message(message.dump());
  REQUIRE(out.ok());
  CHECK(out->headers == in.headers);
}

TEST_CASE("relay message keeps invalid UTF-8 in headers from breaking the JSON")
{
  RelayedRequest in = sample_request();
  in.headers = {{"X-Latin", "caf\xE9"}};
  const std::string data = relay_message_json(in);
  CHECK(Json::accept(data));
  auto out = parse_relay_message(data);
  REQUIRE(out.ok());
  CHECK(out->headers.at(0).second == "caf\xEF\xBF\xBD");
  CHECK(out->body == in.body); // the body is base64, so it stays exact
}

TEST_CASE("parse_relay_message reads a smee.io message without `rag`")
{
  const std::string data = R"({"host":"smee.io","content-type":"application/json",
    "x-github-event":"push","x-hub-signature-256":"sha256=abc","content-length":"27",
    "body":{"ref":"refs/heads/main","n":1},"query":{"a":"1","b":"x y"},
    "timestamp":1795675527123})";
  auto out = parse_relay_message(data);
  REQUIRE(out.ok());
  CHECK(out->form == RelayedRequest::Form::body);
  CHECK(out->id.empty());
  CHECK(out->method == "POST");
  CHECK(out->target == "/?a=1&b=x+y");
  CHECK(out->time_us == 1795675527123000);
  const Headers want = {{"host", "smee.io"},
                        {"content-type", "application/json"},
                        {"x-github-event", "push"},
                        {"x-hub-signature-256", "sha256=abc"},
                        {"content-length", "27"}};
  CHECK(out->headers == want);
  CHECK(Json::parse(out->body) == Json::parse(R"({"ref":"refs/heads/main","n":1})"));
  CHECK(out->body == R"({"ref":"refs/heads/main","n":1})"); // compact

  // Repeated headers as Node arrays, numbers as text; objects are not headers.
  auto node = parse_relay_message(
      R"({"set-cookie":["a=1","b=2"],"x-n":5,"x-obj":{"k":1},"body":{},"query":{}})");
  REQUIRE(node.ok());
  const Headers node_want = {{"set-cookie", "a=1"}, {"set-cookie", "b=2"}, {"x-n", "5"}};
  CHECK(node->headers == node_want);
  CHECK(node->body == "{}");
  CHECK(node->target == "/");

  // No body at all: an empty body.
  auto bare = parse_relay_message(R"({"x-a":"1"})");
  REQUIRE(bare.ok());
  CHECK(bare->body.empty());
  CHECK(bare->time_us == 0);
}

TEST_CASE("parse_relay_message reads a gosmee message's raw body from bodyB")
{
  const std::string raw = all_bytes();
  const std::string data = R"({"content-type":"application/octet-stream","x-a":"1",)"
                           R"("body":{},"bodyB":")" +
                           rag::util::base64_encode(raw) +
                           R"(","query":{"q":["1","2"]},"timestamp":1000})";
  auto out = parse_relay_message(data);
  REQUIRE(out.ok());
  CHECK(out->form == RelayedRequest::Form::body_b);
  CHECK(out->body == raw);
  CHECK(out->target == "/?q=1&q=2");
  CHECK(out->time_us == 1000000);
  const Headers want = {{"content-type", "application/octet-stream"}, {"x-a", "1"}};
  CHECK(out->headers == want);
}

TEST_CASE("parse_relay_message rejects what is not a message")
{
  CHECK_FALSE(parse_relay_message("").ok());
  CHECK_FALSE(parse_relay_message("{").ok());
  CHECK_FALSE(parse_relay_message("[1,2]").ok());
  CHECK_FALSE(parse_relay_message("\"text\"").ok());
  CHECK_FALSE(parse_relay_message(R"({"query":"a=1"})").ok());
  CHECK_FALSE(parse_relay_message(R"({"query":{"a":{"b":1}}})").ok());
  CHECK_FALSE(parse_relay_message(R"({"timestamp":"yesterday"})").ok());
  CHECK_FALSE(parse_relay_message(R"({"bodyB":"***"})").ok());
  CHECK_FALSE(parse_relay_message(R"({"bodyB":5})").ok());

  const Json good = parsed(relay_message_json(sample_request()));
  auto broken = [&](const char* field, const Json& value) {
    Json message = good;
    if (value.is_null()) {
      message["rag"].erase(field);
    } else {
      message["rag"][field] = value;
    }
    return parse_relay_message(message.dump());
  };
  CHECK(broken("method", nullptr).error().message.find("rag.method") != std::string::npos);
  CHECK_FALSE(broken("method", 5).ok());
  CHECK_FALSE(broken("target", nullptr).ok());
  CHECK_FALSE(broken("target", "no-slash").ok());
  CHECK_FALSE(broken("headers", nullptr).ok());
  CHECK_FALSE(broken("headers", Json::parse(R"([["a"]])")).ok());
  CHECK_FALSE(broken("headers", Json::parse(R"([["a",1]])")).ok());
  CHECK_FALSE(broken("headers", "x").ok());
  CHECK_FALSE(broken("body_b64", nullptr).ok());
  CHECK_FALSE(broken("body_b64", "%%%").ok());
  CHECK_FALSE(broken("time", "later").ok());
  CHECK_FALSE(broken("v", 2).ok());
  CHECK(broken("remote", nullptr).ok()); // optional
  CHECK(broken("id", nullptr).ok());
  Json not_object = good;
  not_object["rag"] = "x";
  CHECK_FALSE(parse_relay_message(not_object.dump()).ok());
}

TEST_CASE("relay reply JSON round-trips")
{
  RelayReply in;
  in.status = 201;
  in.headers = {{"Content-Type", "application/json"}, {"Set-Cookie", "a=1"}, {"Set-Cookie", "b"}};
  in.body = all_bytes();
  const std::string text = relay_reply_json(in);
  const Json json = parsed(text);
  CHECK(json["status"] == 201);
  CHECK(json["body_b64"] == rag::util::base64_encode(in.body));
  auto out = parse_relay_reply(text);
  REQUIRE(out.ok());
  CHECK(out->status == 201);
  CHECK(out->headers == in.headers);
  CHECK(out->body == in.body);

  // The documented example.
  auto example = parse_relay_reply(R"({"status":201,"headers":[["Content-Type",)"
                                   R"("application/json"]],"body_b64":"eyJvayI6dHJ1ZX0="})");
  REQUIRE(example.ok());
  CHECK(example->body == R"({"ok":true})");

  // Headers and body are optional.
  auto bare = parse_relay_reply(R"({"status":204})");
  REQUIRE(bare.ok());
  CHECK(bare->status == 204);
  CHECK(bare->headers.empty());
  CHECK(bare->body.empty());
}

TEST_CASE("parse_relay_reply names what is wrong")
{
  auto message = [](const char* text) {
    auto reply = parse_relay_reply(text);
    REQUIRE_FALSE(reply.ok());
    return reply.error().message;
  };
  CHECK(message("").find("not a JSON object") != std::string::npos);
  CHECK(message("[]").find("not a JSON object") != std::string::npos);
  CHECK(message("{}").find("status") != std::string::npos);
  CHECK(message(R"({"status":"200"})").find("status") != std::string::npos);
  CHECK(message(R"({"status":99})").find("status") != std::string::npos);
  CHECK(message(R"({"status":600})").find("status") != std::string::npos);
  CHECK(message(R"({"status":200.5})").find("status") != std::string::npos);
  CHECK(message(R"({"status":200,"headers":{}})").find("headers") != std::string::npos);
  CHECK(message(R"({"status":200,"headers":[["a"]]})").find("headers") != std::string::npos);
  CHECK(message(R"({"status":200,"body_b64":1})").find("body_b64") != std::string::npos);
  CHECK(message(R"({"status":200,"body_b64":"!!"})").find("body_b64") != std::string::npos);
}

namespace {

std::string
nested_arrays(std::size_t depth)
{
  return std::string(depth, '[') + std::string(depth, ']');
}

RelayedRequest
json_request(std::string body)
{
  RelayedRequest request = sample_request();
  request.method = "POST";
  request.headers = {{"Content-Type", "application/json"}, {"X-GitHub-Event", "push"}};
  request.body = std::move(body);
  return request;
}

} // namespace

TEST_CASE("relay message: a 50000-deep JSON body is not JSON to smee, and exact in bodyB and rag")
{
  // The anonymous POST that killed `rag relay` (issue 12, item 14).
  const RelayedRequest in = json_request(nested_arrays(50000));
  const std::string data = relay_message_json(in);
  const Json message = parsed(data);
  CHECK(message["body"] == Json::object());
  CHECK(message["bodyB"] == rag::util::base64_encode(in.body));
  auto out = parse_relay_message(data);
  REQUIRE(out.ok());
  CHECK(out->form == RelayedRequest::Form::rag);
  CHECK(out->body == in.body);

  // The deepest body smee's field carries is one level less than the cap (the message
  // wraps it), so that every message a relay writes passes the tunnel's cap.
  const std::string deepest = nested_arrays(k_json_max_depth - 1);
  CHECK(parsed(relay_message_json(json_request(deepest)))["body"] == Json::parse(deepest));
  CHECK(parse_relay_message(relay_message_json(json_request(deepest))).ok());
  CHECK(parsed(relay_message_json(json_request(nested_arrays(k_json_max_depth))))["body"] ==
        Json::object());
}

TEST_CASE("parse_relay_message: a deep `body` from a relay is an error, not a crash")
{
  // smee.io-style, as a hostile relay could send it.
  const std::string deep = nested_arrays(50000);
  auto smee = parse_relay_message(R"({"x-a":"1","body":)" + deep + R"(,"query":{}})");
  REQUIRE_FALSE(smee.ok());
  CHECK(smee.error().message.find("not a JSON object") != std::string::npos);
  // Next to a valid rag object or bodyB, the message is still refused as a whole.
  const Json good = parsed(relay_message_json(sample_request()));
  std::string with_rag = good.dump();
  with_rag.insert(1, R"("body":)" + deep + ",");
  CHECK_FALSE(parse_relay_message(with_rag).ok());
  CHECK_FALSE(parse_relay_message(R"({"bodyB":"","body":)" + deep + "}").ok());
  // A deep `gap`-like or reply document too.
  CHECK_FALSE(parse_relay_reply(R"({"status":200,"headers":)" + deep + "}").ok());

  // At the cap (the body one level inside the message) it is read and serialised again.
  const std::string deepest = nested_arrays(k_json_max_depth - 1);
  auto at_cap = parse_relay_message(R"({"x-a":"1","body":)" + deepest + "}");
  REQUIRE(at_cap.ok());
  CHECK(at_cap->form == RelayedRequest::Form::body);
  CHECK(at_cap->body == deepest);
}

TEST_CASE("relay message splices a JSON body as sent: one line, same value, exact numbers")
{
  // Big and precise numbers survive, which parse + dump would round.
  const std::string compact =
      R"({"id":123456789012345678901234567890,"f":1.10,"e":1E5,"s":"a\"b\\[","u":"\u00e9"})";
  const std::string data = relay_message_json(json_request(compact));
  CHECK(data.find(R"("body":)" + compact + R"(,"query":)") != std::string::npos);

  // Whitespace between tokens stays, but no CR or LF: the data is one SSE line.
  const std::string pretty = "\xEF\xBB\xBF \r\n{\r\n  \"a\": [1,\n 2],\t\"b\": \"x y\"\n}\n\n";
  const std::string spaced = relay_message_json(json_request(pretty));
  CHECK(spaced.find('\n') == std::string::npos);
  CHECK(spaced.find('\r') == std::string::npos);
  CHECK(spaced.find("\xEF\xBB\xBF") == std::string::npos);
  const Json message = parsed(spaced);
  CHECK(message["body"] == Json::parse(R"({"a":[1,2],"b":"x y"})"));
  CHECK(message["bodyB"] == rag::util::base64_encode(pretty));

  // Top-level scalars are JSON too; invalid UTF-8 or invalid JSON is not.
  CHECK(parsed(relay_message_json(json_request("  42 ")))["body"] == 42);
  CHECK(parsed(relay_message_json(json_request(R"("text")")))["body"] == "text");
  CHECK(parsed(relay_message_json(json_request("[\"caf\xE9\"]")))["body"] == Json::object());
  CHECK(parsed(relay_message_json(json_request(R"({"a":1} {"b":2})")))["body"] == Json::object());
  CHECK(parsed(relay_message_json(json_request("[1e400]")))["body"] == Json::object());
}

TEST_CASE("relay message variants: smee's fields for everyone, bodyB and rag for who asks")
{
  RelayedRequest in = json_request(R"({"zeta":1,"alpha":[true,null,"x"]})");
  in.headers.emplace_back("Rag", "a header");
  const RelayMessage message(in);

  const Json smee = parsed(message.json({}));
  CHECK_FALSE(smee.contains("bodyB"));
  CHECK_FALSE(smee.contains("rag")); // not even the sender's `Rag` header
  CHECK(smee["body"] == Json::parse(in.body));
  CHECK(smee["x-github-event"] == "push");
  CHECK(smee["query"] == Json::parse(R"({"x":"2","y":"a b","empty":"","flag":""})"));
  CHECK(smee["timestamp"] == 1795675527123);
  auto smee_out = parse_relay_message(message.json({}));
  REQUIRE(smee_out.ok());
  CHECK(smee_out->form == RelayedRequest::Form::body);
  CHECK(smee_out->body == in.body);

  const Json gosmee = parsed(message.json({true, false}));
  CHECK(gosmee["bodyB"] == rag::util::base64_encode(in.body));
  CHECK_FALSE(gosmee.contains("rag"));
  auto gosmee_out = parse_relay_message(message.json({true, false}));
  REQUIRE(gosmee_out.ok());
  CHECK(gosmee_out->form == RelayedRequest::Form::body_b);
  CHECK(gosmee_out->body == in.body);

  const Json tunnel = parsed(message.json({false, true}));
  CHECK_FALSE(tunnel.contains("bodyB"));
  CHECK(tunnel["rag"]["body_b64"] == rag::util::base64_encode(in.body));
  CHECK(tunnel["body"] == Json::parse(in.body));
  auto tunnel_out = parse_relay_message(message.json({false, true}));
  REQUIRE(tunnel_out.ok());
  CHECK(tunnel_out->form == RelayedRequest::Form::rag);
  CHECK(tunnel_out->headers == in.headers);
  CHECK(tunnel_out->body == in.body);

  // Every variant is made of the same pieces: the body and its base64 are held once.
  CHECK(message.json({true, true}) == relay_message_json(in));
  const std::size_t b64_size = rag::util::base64_encode(in.body).size();
  CHECK(message.json({true, true}).size() - message.size() < b64_size + 20);
  std::vector<std::string_view> pieces;
  message.append_pieces({false, true}, pieces);
  std::string joined;
  for (const auto piece : pieces) {
    joined.append(piece);
  }
  CHECK(joined == message.json({false, true}));
}
