#include "core/log/record_parser.hpp"
#include "core/log/writer.hpp"
#include "core/relay_message.hpp"
#include "core/sse.hpp"
#include "engine/tunnel.hpp"
#include "util/bytes.hpp"

#include "support/fake_http_client.hpp"
#include "support/log_fixture.hpp"

#include <doctest/doctest.h>
#include <fmt/core.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

using namespace rag;
using namespace std::chrono_literals;

namespace {

const std::string k_channel = "http://relay.test:8080/hooks/chan-1";

// Rag ids in increasing order (time part 0..9, fixed random part).
std::string
rag_id(int n)
{
  return "evt_01KAF2J9Z" + std::to_string(n) + std::string(16, '0');
}

// One subscription's script: the stream's bytes (in pieces) and how it ends.
struct Connection
{
  std::vector<std::string> chunks;
  core::StreamEnd end;
  bool opens = true;
};

class FakeStream final : public core::EventStream
{
public:
  std::vector<Connection> script;
  std::vector<core::StreamRequest> requests;
  struct Post
  {
    std::string url;
    std::string token;
    std::string json;
  };
  std::vector<Post> posts;
  std::mutex mutex;
  // Called with each chunk's index before the chunk is fed (what a test checks or changes
  // meanwhile), and with the number of chunks after the last one.
  std::function<void(std::size_t)> on_chunk;

  core::StreamEnd subscribe(const core::StreamRequest& request, const OpenFn& on_open,
                            const BytesFn& on_bytes) override
  {
    requests.push_back(request);
    core::StreamEnd stopped;
    stopped.kind = core::StreamEnd::Kind::stopped;
    if (requests.size() > script.size()) {
      return stopped; // the script is over: as if Ctrl-C
    }
    const Connection& connection = script[requests.size() - 1];
    core::StreamEnd end = connection.end;
    if (connection.opens) {
      end.opened = true;
      on_open();
      for (std::size_t i = 0; i < connection.chunks.size(); ++i) {
        if (on_chunk) {
          on_chunk(i);
        }
        if (!on_bytes(connection.chunks[i])) {
          stopped.opened = true;
          return stopped;
        }
      }
      if (on_chunk) {
        on_chunk(connection.chunks.size());
      }
    }
    return end;
  }

  void stop() override {}

  core::NewChannel new_channel(const std::string&) override { return {}; }

  Result<int> post_json(const std::string& url, const std::string& token,
                        std::string_view json) override
  {
    std::lock_guard lock(mutex);
    posts.push_back(Post{url, token, std::string(json)});
    return 204;
  }
};

// Answers every request 201 "created" and records what it was asked to send.
struct FakeClient : test::FakeHttpClient
{
  FakeClient()
  {
    status = 201;
    response_headers = {{"Content-Type", "text/plain"}, {"Connection", "close"}};
    response_body = "created";
  }
};

// A tunnel wired to fakes, a real pipeline and a temporary log.
struct Rig
{
  test::TempLog log;
  core::EventLogWriter writer = open_writer(log.path);
  test::StepClock clock;
  core::RandomIdSource ids;
  FakeClient client;
  FakeStream stream;
  std::vector<std::string> lines; // stdout lines of the pipeline
  engine::StringConsole console;  // the tunnel's stderr lines
  std::vector<std::chrono::milliseconds> sleeps;
  std::mutex mutex;
  engine::TunnelConfig config;
  engine::PipelineOptions pipeline_options;
  double random = 0.5;
  std::chrono::steady_clock::time_point now{}; // what the tunnel's clock says

  Rig()
  {
    auto channel = engine::parse_channel_url(k_channel);
    REQUIRE(channel.ok());
    config.channel = *channel;
    auto target = core::parse_target("http://127.0.0.1:3000");
    REQUIRE(target.ok());
    pipeline_options.routing.forward_to.push_back(*target);
  }

  static core::EventLogWriter open_writer(const std::string& path)
  {
    auto writer = core::EventLogWriter::open(path);
    REQUIRE(writer.ok());
    return std::move(writer).value();
  }

  // Run a tunnel over the scripted stream until the script ends.
  Result<int> run(engine::Tunnel** out = nullptr)
  {
    engine::CapturePipeline pipeline(pipeline_options, client, writer, clock, ids, console,
                                     [this](const std::string& line) {
                                       std::lock_guard lock(mutex);
                                       lines.push_back(line);
                                     });
    engine::TunnelHooks hooks;
    hooks.sleep = [this](std::chrono::milliseconds delay) {
      sleeps.push_back(delay);
      return true;
    };
    hooks.random01 = [this] { return random; };
    hooks.now = [this] { return now; };
    engine::Tunnel tunnel(config, stream, pipeline, console, hooks);
    if (out != nullptr) {
      *out = &tunnel;
    }
    Result<int> result = tunnel.run(5s);
    received = tunnel.received();
    skipped = tunnel.skipped();
    return result;
  }

  std::vector<core::Event> events() const
  {
    std::vector<core::Event> out;
    std::ifstream in(log.path);
    for (std::string line; std::getline(in, line);) {
      auto record = core::parse_record(line);
      REQUIRE(record.ok());
      if (auto* event = std::get_if<core::Event>(&*record)) {
        out.push_back(*event);
      }
    }
    return out;
  }

  // The tunnel's stderr lines so far.
  std::vector<std::string> statuses() const
  {
    std::vector<std::string> out;
    std::istringstream in(console.err_text());
    for (std::string line; std::getline(in, line);) {
      out.push_back(line);
    }
    return out;
  }

  bool status_contains(const std::string& text) const
  {
    for (const auto& line : statuses()) {
      if (line.find(text) != std::string::npos) {
        return true;
      }
    }
    return false;
  }

  std::uint64_t received = 0;
  std::uint64_t skipped = 0;
};

std::string
frame(const std::string& id, const std::string& event, const std::string& data)
{
  return core::format_sse(core::SseEvent{id, event, data});
}

std::string
ready(const std::string& id = {})
{
  return frame(id, "ready", "{}");
}

// A rag-form message for a request with `id`.
std::string
rag_message(const std::string& id, const std::string& method = "POST",
            const std::string& target = "/", const std::string& body = "{}",
            const std::string& reply = {})
{
  core::RelayedRequest request;
  request.id = id;
  request.time_us = 1'795'671'123'456'000;
  request.method = method;
  request.target = target;
  request.headers = {{"Host", "relay.test:8080"},
                     {"Content-Type", "application/json"},
                     {"X-Dup", "1"},
                     {"x-dup", "2"}};
  request.body = body;
  request.remote = "203.0.113.7:4711";
  request.reply = reply;
  return frame(id, "", core::relay_message_json(request));
}

core::StreamEnd
closed()
{
  core::StreamEnd end;
  end.kind = core::StreamEnd::Kind::closed;
  end.message = "the relay closed the stream";
  return end;
}

// Split `text` into pieces of `size` bytes, to feed a stream in odd places.
std::vector<std::string>
pieces(const std::string& text, std::size_t size)
{
  std::vector<std::string> out;
  for (std::size_t at = 0; at < text.size(); at += size) {
    out.push_back(text.substr(at, size));
  }
  return out;
}

} // namespace

TEST_CASE("tunnel: reads rag, gosmee (bodyB) and smee (body) messages in any split")
{
  Rig rig;
  const std::string binary("\x00\x01\xff\r\n{", 6);
  const std::string smee =
      R"({"host":"smee.io","content-type":"application/json","x-github-event":"push",)"
      R"("body":{"zen":"hi","n":[1,true,null]},"query":{"a":"1"},"timestamp":1795671123456})";
  const std::string gosmee =
      R"({"content-type":"application/octet-stream","x-custom":"v","body":{},"query":{},)"
      R"("timestamp":1795671123456,"bodyB":")" +
      util::base64_encode(binary) + R"("})";
  const std::string stream = ready() + frame("", "", smee) + frame("g-1", "", gosmee) +
                             frame("", "ping", "{}") +
                             rag_message(rag_id(1), "PROPFIND", "/sub/path?x=%20y", binary);
  Connection connection;
  connection.chunks = pieces(stream, 7);
  connection.end.kind = core::StreamEnd::Kind::stopped;
  rig.stream.script.push_back(connection);

  REQUIRE(rig.run().ok());
  CHECK(rig.received == 3);
  const auto events = rig.events();
  REQUIRE(events.size() == 3);
  for (const auto& event : events) {
    CHECK(event.source == "tunnel:" + k_channel);
  }
  // smee: the parsed body again as JSON, the query as the target, lower-case headers.
  CHECK(events[0].method == "POST");
  CHECK(events[0].target == "/?a=1");
  CHECK(events[0].body == R"({"zen":"hi","n":[1,true,null]})");
  CHECK(events[0].relay_id == "");
  REQUIRE(events[0].headers.size() == 3);
  CHECK(events[0].headers[2] == core::Header{"x-github-event", "push"});
  // gosmee: the raw bytes of bodyB.
  CHECK(events[1].body == binary);
  CHECK(events[1].relay_id == "g-1");
  // rag: everything exact.
  CHECK(events[2].method == "PROPFIND");
  CHECK(events[2].target == "/sub/path?x=%20y");
  CHECK(events[2].body == binary);
  CHECK(events[2].remote == "203.0.113.7:4711");
  CHECK(events[2].relay_id == rag_id(1));
  CHECK(events[2].headers == core::Headers{{"Host", "relay.test:8080"},
                                           {"Content-Type", "application/json"},
                                           {"X-Dup", "1"},
                                           {"x-dup", "2"}});

  REQUIRE(rig.client.calls().size() == 3);
  for (const auto& sent : rig.client.calls()) {
    CHECK(sent.url == "http://127.0.0.1:3000"); // only the target on the command line
    if (sent.request.method == "PROPFIND") {
      CHECK(sent.request.target == "/sub/path?x=%20y");
      CHECK(sent.request.body_view() == binary);
      bool forwarded_for = false;
      for (const auto& [name, value] : sent.request.headers) {
        if (name == "X-Forwarded-For") {
          forwarded_for = value == "203.0.113.7";
        }
      }
      CHECK(forwarded_for);
    }
  }
}

TEST_CASE("tunnel: resumes after the log's id, then after the last handled one; skips repeats")
{
  Rig rig;
  rig.config.resume_id = rag_id(2);
  Connection first;
  first.chunks = {ready(rag_id(2)), rag_message(rag_id(1)), rag_message(rag_id(2)),
                  rag_message(rag_id(3), "POST", "/three")};
  first.end = closed();
  Connection second;
  second.chunks = {ready(rag_id(3)), rag_message(rag_id(3)),
                   rag_message(rag_id(4), "POST", "/four")};
  second.end.kind = core::StreamEnd::Kind::stopped;
  rig.stream.script = {first, second};

  REQUIRE(rig.run().ok());
  REQUIRE(rig.stream.requests.size() == 2);
  CHECK(rig.stream.requests[0].last_event_id == rag_id(2));
  CHECK(rig.stream.requests[1].last_event_id == rag_id(3));
  CHECK(rig.stream.requests[0].url == k_channel);
  CHECK(rig.received == 2);
  CHECK(rig.skipped == 3);
  const auto events = rig.events();
  REQUIRE(events.size() == 2);
  CHECK(events[0].target == "/three");
  CHECK(events[0].relay_id == rag_id(3));
  CHECK(events[1].target == "/four");
  // The first retry is fast; the drop was reported.
  REQUIRE(rig.sleeps.size() == 1);
  CHECK(rig.sleeps[0] < 500ms);
  CHECK(rig.status_contains("Disconnected: the relay closed the stream"));
  CHECK(rig.status_contains("Reconnecting in"));
  CHECK(rig.status_contains("resuming after " + rag_id(3)));
}

TEST_CASE("tunnel: with nothing in the log, the ready event's id is the resume point")
{
  Rig rig;
  Connection first;
  first.chunks = {ready(rag_id(7))};
  first.end = closed();
  rig.stream.script = {first};
  REQUIRE(rig.run().ok());
  REQUIRE(rig.stream.requests.size() == 2);
  CHECK(rig.stream.requests[0].last_event_id == "");
  CHECK(rig.stream.requests[1].last_event_id == rag_id(7));
}

TEST_CASE("tunnel: foreign ids are de-duplicated; messages without an id never are")
{
  Rig rig;
  const std::string smee = R"({"content-type":"text/plain","body":{},"query":{},"timestamp":1})";
  Connection first;
  first.chunks = {ready("r-0"), frame("", "", smee), frame("a", "", smee), frame("b", "", smee)};
  first.end = closed();
  Connection second;
  // "b" again, then an id-less one (inherits "c" from the parser: not a repeat), then "c".
  second.chunks = {ready("r-1"), frame("b", "", smee), frame("c", "", smee), frame("", "", smee)};
  second.end.kind = core::StreamEnd::Kind::stopped;
  rig.stream.script = {first, second};
  REQUIRE(rig.run().ok());
  CHECK(rig.received == 5);
  CHECK(rig.skipped == 1);
  CHECK(rig.stream.requests[1].last_event_id == "b");
  const auto events = rig.events();
  REQUIRE(events.size() == 5);
  CHECK(events[0].relay_id == "");
  CHECK(events[1].relay_id == "a");
  CHECK(events[2].relay_id == "b");
  CHECK(events[3].relay_id == "c");
  CHECK(events[4].relay_id == "");
}

TEST_CASE("tunnel: a refused token ends the tunnel; other failures back off and retry")
{
  SUBCASE("401 is final")
  {
    Rig rig;
    Connection refused;
    refused.opens = false;
    refused.end.kind = core::StreamEnd::Kind::refused;
    refused.end.status = 401;
    refused.end.message = "the relay answered 401";
    rig.stream.script = {refused, refused};
    auto result = rig.run();
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().exit_code == 1);
    CHECK(result.error().message.find("401") != std::string::npos);
    CHECK(result.error().hint.find("--token") != std::string::npos);
    CHECK(rig.stream.requests.size() == 1);
    CHECK(rig.sleeps.empty());
  }
  SUBCASE("unreachable and 503 are retried, with growing waits capped at 10 s")
  {
    Rig rig;
    rig.random = 0.999;
    Connection down;
    down.opens = false;
    down.end.kind = core::StreamEnd::Kind::failed;
    down.end.message = "cannot connect to http://relay.test:8080";
    Connection busy = down;
    busy.end.kind = core::StreamEnd::Kind::refused;
    busy.end.status = 503;
    Connection good;
    good.chunks = {ready(), rag_message(rag_id(1))};
    good.end = closed();
    rig.stream.script = {down, busy, down, down, down, down, down, good, down};
    REQUIRE(rig.run().ok());
    REQUIRE(rig.sleeps.size() == 9);
    for (std::size_t i = 1; i < 7; ++i) {
      CHECK(rig.sleeps[i] >= rig.sleeps[i - 1]);
    }
    CHECK(rig.sleeps[0] < 500ms);
    CHECK(rig.sleeps[6] > 5s);
    CHECK(rig.sleeps[6] <= 10s);
    // A connection that delivered something starts the backoff over.
    CHECK(rig.sleeps[7] < 500ms);
    CHECK(rig.status_contains("Cannot connect to the relay: cannot connect to"));
    CHECK(rig.received == 1);
  }
}

TEST_CASE("tunnel: --respond-back posts the local answer to the relay's reply path only")
{
  Rig rig;
  rig.config.respond_back = true;
  rig.config.token = "s3cret";
  Connection connection;
  connection.chunks = {
      ready(),
      rag_message(rag_id(1), "POST", "/a", "{}", "/_rag/reply/chan-1/" + rag_id(1)),
      rag_message(rag_id(2), "POST", "/b", "{}", "https://evil.example/steal"),
      rag_message(rag_id(3), "POST", "/c", "{}", "//evil.example/steal"),
      rag_message(rag_id(4), "POST", "/d"), // not in sync mode: nothing to answer
  };
  connection.end.kind = core::StreamEnd::Kind::stopped;
  rig.stream.script = {connection};
  REQUIRE(rig.run().ok());

  CHECK(rig.received == 4);
  REQUIRE(rig.stream.posts.size() == 1);
  const auto& post = rig.stream.posts[0];
  CHECK(post.url == "http://relay.test:8080/hooks/_rag/reply/chan-1/" + rag_id(1));
  CHECK(post.token == "s3cret");
  auto reply = core::parse_relay_reply(post.json);
  REQUIRE(reply.ok());
  CHECK(reply->status == 201);
  CHECK(reply->body == "created");
  CHECK(reply->headers == core::Headers{{"Content-Type", "text/plain"}}); // hop-by-hop dropped
  CHECK(rig.status_contains("refusing reply path 'https://evil.example/steal'"));
  CHECK(rig.status_contains("refusing reply path '//evil.example/steal'"));
  // Every webhook still reached the local target, and nothing else was called.
  REQUIRE(rig.client.calls().size() == 4);
  for (const auto& sent : rig.client.calls()) {
    CHECK(sent.url == "http://127.0.0.1:3000");
  }
}

TEST_CASE("tunnel: without --respond-back no reply is ever posted")
{
  Rig rig;
  Connection connection;
  connection.chunks = {ready(), rag_message(rag_id(1), "POST", "/a", "{}", "/_rag/reply/c/e")};
  connection.end.kind = core::StreamEnd::Kind::stopped;
  rig.stream.script = {connection};
  REQUIRE(rig.run().ok());
  CHECK(rig.received == 1);
  CHECK(rig.stream.posts.empty());
}

TEST_CASE("tunnel: a failed signature with --reject-invalid is answered 401, not forwarded")
{
  Rig rig;
  rig.config.respond_back = true;
  auto spec = core::parse_signature_spec("github=topsecret");
  REQUIRE(spec.ok());
  rig.pipeline_options.verify = {*spec};
  rig.pipeline_options.reject_invalid = true;
  Connection connection;
  connection.chunks = {ready(), rag_message(rag_id(1), "POST", "/gh", "{}", "/_rag/reply/c/1")};
  connection.end.kind = core::StreamEnd::Kind::stopped;
  rig.stream.script = {connection};
  REQUIRE(rig.run().ok());
  const auto events = rig.events();
  REQUIRE(events.size() == 1);
  CHECK(events[0].verdict.rfind("invalid", 0) == 0);
  CHECK(rig.client.calls().empty());
  REQUIRE(rig.stream.posts.size() == 1);
  auto reply = core::parse_relay_reply(rig.stream.posts[0].json);
  REQUIRE(reply.ok());
  CHECK(reply->status == 401);
}

TEST_CASE("tunnel: signatures are checked at the relay's receive time")
{
  Rig rig;
  auto spec = core::parse_signature_spec("stripe=whsec_test");
  REQUIRE(spec.ok());
  rig.pipeline_options.verify = {*spec};
  core::RelayedRequest request;
  request.id = rag_id(1);
  // Received by the relay long before the tunnel catches up (the StepClock's epoch).
  request.time_us = 1'500'000'000'000'000;
  request.headers = {{"Content-Type", "application/json"}};
  request.body = R"({"id":"evt_1"})";
  core::RandomIdSource sign_ids;
  auto signed_headers = core::sign(*spec, request.headers, request.body, request.time_us, sign_ids);
  REQUIRE(signed_headers.ok());
  request.headers = *signed_headers;
  Connection connection;
  connection.chunks = {ready(), frame(request.id, "", core::relay_message_json(request))};
  connection.end.kind = core::StreamEnd::Kind::stopped;
  rig.stream.script = {connection};
  REQUIRE(rig.run().ok());
  const auto events = rig.events();
  REQUIRE(events.size() == 1);
  CHECK(events[0].verdict == "valid");
}

TEST_CASE("tunnel: messages that are not webhooks are skipped with a warning")
{
  Rig rig;
  core::RelayedRequest absolute;
  absolute.id = rag_id(2);
  absolute.target = "http://evil.example/x";
  Connection connection;
  connection.chunks = {ready(),
                       frame("x1", "", "not json"),
                       frame("", "gap", R"({"after":"evt_1","message":"dropped"})"),
                       frame(rag_id(2), "", core::relay_message_json(absolute)),
                       frame("", "custom", "{}"),
                       rag_message(rag_id(3), "POST", "/ok")};
  connection.end.kind = core::StreamEnd::Kind::stopped;
  rig.stream.script = {connection};
  REQUIRE(rig.run().ok());
  CHECK(rig.received == 1);
  const auto events = rig.events();
  REQUIRE(events.size() == 1);
  CHECK(events[0].target == "/ok");
  CHECK(rig.status_contains("skipped a message that is not a webhook (x1)"));
  CHECK(rig.status_contains("skipped a message that is not a webhook (" + rag_id(2) + ")"));
  CHECK(rig.status_contains("the relay lost webhooks after evt_1: dropped"));
  REQUIRE(rig.client.calls().size() == 1);
}

TEST_CASE("tunnel: an event the log cannot take is received again after a reconnect")
{
  Rig rig;
  Connection first;
  first.chunks = {ready(), rag_message(rag_id(1), "POST", "/one")};
  first.end = closed();
  rig.stream.script = {first};
  // The log path becomes a directory: the writer cannot reopen it.
  std::filesystem::remove(rig.log.path);
  std::filesystem::create_directory(rig.log.path);
  REQUIRE(rig.run().ok());
  CHECK(rig.received == 0);
  CHECK(rig.status_contains("Disconnected: cannot write the event log"));
  REQUIRE(rig.stream.requests.size() == 2);
  CHECK(rig.stream.requests[1].last_event_id == ""); // not marked handled

  std::filesystem::remove(rig.log.path);
  rig.writer = Rig::open_writer(rig.log.path);
  Connection again;
  again.chunks = {ready(), rag_message(rag_id(1), "POST", "/one")};
  again.end.kind = core::StreamEnd::Kind::stopped;
  rig.stream.script = {again};
  rig.stream.requests.clear();
  REQUIRE(rig.run().ok());
  CHECK(rig.received == 1);
  REQUIRE(rig.events().size() == 1);
}

TEST_CASE("tunnel: a message or gap nested 50000 deep is skipped, and the next one forwarded")
{
  Rig rig;
  const std::string deep = std::string(50000, '[') + std::string(50000, ']');
  Connection connection;
  connection.chunks = {
      ready(),
      // smee.io-style: a deep `body` used to crash the tunnel when serialised again.
      frame("deep-1", "", R"({"content-type":"application/json","body":)" + deep + "}"),
      frame("", "gap", R"({"after":)" + deep + "}"), rag_message(rag_id(3), "POST", "/after")};
  connection.chunks = pieces(connection.chunks[0] + connection.chunks[1] + connection.chunks[2] +
                                 connection.chunks[3],
                             4096);
  connection.end.kind = core::StreamEnd::Kind::stopped;
  rig.stream.script = {connection};
  REQUIRE(rig.run().ok());
  CHECK(rig.received == 1);
  CHECK(rig.status_contains("skipped a message that is not a webhook (deep-1)"));
  CHECK(rig.status_contains("the relay lost webhooks after ?: ?"));
  const auto events = rig.events();
  REQUIRE(events.size() == 1);
  CHECK(events[0].target == "/after");
  REQUIRE(rig.client.calls().size() == 1);
}

TEST_CASE("tunnel: the resume point is kept in the state file from the ready event on")
{
  Rig rig;
  rig.config.state_path = engine::tunnel_state_path(rig.log.path, k_channel);
  const auto warn = [](const std::string& message) { FAIL_CHECK(message); };
  SUBCASE("a run that received nothing keeps where it connected")
  {
    Connection first;
    first.chunks = {ready(rag_id(4))};
    first.end.kind = core::StreamEnd::Kind::stopped;
    rig.stream.script = {first};
    REQUIRE(rig.run().ok());
    CHECK(engine::read_tunnel_state(rig.config.state_path, k_channel, warn) == rag_id(4));
  }
  SUBCASE("written at ready, before any webhook, then the last handled id at the end")
  {
    Connection first;
    first.chunks = {ready(rag_id(4))};
    first.end = closed();
    Connection second;
    second.chunks = {ready(rag_id(4)), rag_message(rag_id(6))};
    second.end.kind = core::StreamEnd::Kind::stopped;
    rig.stream.script = {first, second};
    REQUIRE(rig.run().ok());
    REQUIRE(rig.stream.requests.size() == 2);
    CHECK(rig.stream.requests[1].last_event_id == rag_id(4));
    CHECK(engine::read_tunnel_state(rig.config.state_path, k_channel, warn) == rag_id(6));
  }
  SUBCASE("a state file that cannot be written is one warning, and the tunnel goes on")
  {
    std::filesystem::create_directories(rig.config.state_path); // a directory in its place
    Connection first;
    first.chunks = {ready(rag_id(4)), rag_message(rag_id(5))};
    first.end = closed();
    Connection second;
    second.chunks = {ready(rag_id(5)), rag_message(rag_id(6))};
    second.end.kind = core::StreamEnd::Kind::stopped;
    rig.stream.script = {first, second};
    REQUIRE(rig.run().ok());
    CHECK(rig.received == 2);
    int warnings = 0;
    for (const auto& line : rig.statuses()) {
      warnings += line.find("rag: warning: cannot write") != std::string::npos ? 1 : 0;
    }
    CHECK(warnings == 1);
  }
}

TEST_CASE("tunnel: a crash right after connecting still resumes from the ready id next run")
{
  // The state file is written when `ready` arrives, not only when run() returns.
  Rig rig;
  rig.config.state_path = engine::tunnel_state_path(rig.log.path, k_channel);
  std::string during;
  Connection first;
  first.chunks = {ready(rag_id(4)), ": comment\n\n"};
  first.end.kind = core::StreamEnd::Kind::stopped;
  rig.stream.script = {first};
  rig.stream.on_chunk = [&](std::size_t index) {
    if (index == 1) {
      during =
          engine::read_tunnel_state(rig.config.state_path, k_channel, [](const std::string&) {});
    }
  };
  REQUIRE(rig.run().ok());
  CHECK(during == rag_id(4));
}

namespace {

std::string
gap(const std::string& after)
{
  return frame("", "gap",
               R"({"after":")" + after +
                   R"(","message":"events after this id were dropped by the relay: backlog )"
                   R"(limits, or a restart"})");
}

Connection
unreachable()
{
  Connection down;
  down.opens = false;
  down.end.kind = core::StreamEnd::Kind::failed;
  down.end.message = "connection refused";
  return down;
}

} // namespace

TEST_CASE("tunnel: a relay restart while connected is no loss; a gap otherwise is a warning")
{
  const std::string warning = "rag: warning: the relay lost webhooks after";
  Rig rig;
  Connection live;
  live.chunks = {ready(rag_id(2)), rag_message(rag_id(3))};
  live.end = closed();
  Connection after_restart;
  after_restart.chunks = {ready(rag_id(3)), gap(rag_id(3)), rag_message(rag_id(5))};
  after_restart.end.kind = core::StreamEnd::Kind::stopped;

  SUBCASE("the relay ended the stream, was down, came back: nothing was published meanwhile")
  {
    rig.stream.script = {live, unreachable(), unreachable(), after_restart};
    REQUIRE(rig.run().ok());
    CHECK_FALSE(rig.status_contains(warning));
    CHECK(rig.status_contains("The relay restarted"));
    CHECK(rig.received == 2);
  }
  SUBCASE("the first connection of a run: what the relay held before may be gone")
  {
    rig.config.resume_id = rag_id(3);
    rig.stream.script = {after_restart};
    REQUIRE(rig.run().ok());
    CHECK(rig.status_contains(warning + " " + rag_id(3)));
  }
  SUBCASE("the relay dropped the connection right after live bytes, then was down")
  {
    live.end.kind = core::StreamEnd::Kind::failed;
    live.end.message = "connection lost";
    rig.stream.script = {live, unreachable(), after_restart};
    REQUIRE(rig.run().ok());
    CHECK_FALSE(rig.status_contains(warning));
    CHECK(rig.status_contains("The relay restarted"));
  }
  SUBCASE("the stream failed after a silence (a timeout, the laptop slept): the relay may "
          "have gone on")
  {
    live.end.kind = core::StreamEnd::Kind::failed;
    live.end.message = "connection lost";
    // After the first connection's last chunk the clock jumps: the drop came later.
    rig.stream.on_chunk = [&rig, chunks = live.chunks.size()](std::size_t index) {
      if (rig.stream.requests.size() == 1 && index == chunks) {
        rig.now += 25s;
      }
    };
    rig.stream.script = {live, unreachable(), after_restart};
    REQUIRE(rig.run().ok());
    CHECK(rig.status_contains(warning));
  }
  SUBCASE("reconnected at once (the relay was never down): the gap is eviction")
  {
    rig.stream.script = {live, after_restart};
    REQUIRE(rig.run().ok());
    CHECK(rig.status_contains(warning));
  }
  SUBCASE("a gap after another id than the tunnel's own")
  {
    after_restart.chunks[1] = gap(rag_id(1));
    rig.stream.script = {live, unreachable(), after_restart};
    REQUIRE(rig.run().ok());
    CHECK(rig.status_contains(warning));
  }
  SUBCASE("a gap in the middle of a stream: a slow tunnel fell behind the backlog")
  {
    // Even one naming the id the tunnel resumed from.
    after_restart.chunks = {ready(rag_id(3)), rag_message(rag_id(4)), gap(rag_id(3))};
    rig.stream.script = {live, unreachable(), after_restart};
    REQUIRE(rig.run().ok());
    CHECK(rig.status_contains(warning));
  }
}
