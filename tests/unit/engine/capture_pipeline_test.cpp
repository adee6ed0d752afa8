#include "core/log/record_parser.hpp"
#include "engine/capture_pipeline.hpp"

#include "support/fake_http_client.hpp"
#include "support/log_fixture.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace rag;
using namespace std::chrono_literals;

namespace {

// Answers 201 (with a hop-by-hop header) and refuses host "down".
struct FakeClient : test::FakeHttpClient
{
  FakeClient()
  {
    refused_hosts = {"down"};
    status = 201;
    response_headers = {{"Content-Type", "text/plain"}, {"Keep-Alive", "timeout=5"}};
    response_body = "made";
  }
};

struct Rig
{
  test::TempLog log;
  core::EventLogWriter writer = open_writer(log.path);
  test::StepClock clock;
  core::RandomIdSource ids;
  FakeClient client;
  std::vector<std::string> lines;
  std::mutex mutex;
  engine::StringConsole console;

  static core::EventLogWriter open_writer(const std::string& path)
  {
    auto writer = core::EventLogWriter::open(path);
    REQUIRE(writer.ok());
    return std::move(writer).value();
  }

  engine::CapturePipeline make(engine::PipelineOptions options)
  {
    return engine::CapturePipeline(std::move(options), client, writer, clock, ids, console,
                                   [this](const std::string& line) {
                                     std::lock_guard lock(mutex);
                                     lines.push_back(line);
                                   });
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
};

core::HttpRequest
request(const std::string& target = "/hook?x=1")
{
  core::HttpRequest r;
  r.method = "POST";
  r.target = target;
  r.http_version = "HTTP/1.1";
  r.headers = {{"Host", "rag.test"}, {"Content-Type", "application/json"}};
  r.body = R"({"a":1})";
  return r;
}

engine::CaptureOrigin
origin()
{
  engine::CaptureOrigin o;
  o.source = "tunnel:https://relay.test/c";
  o.remote = "198.51.100.4:999";
  o.relay_id = "r-1";
  o.context = core::ForwardContext{"198.51.100.4", "https", false};
  return o;
}

std::string
header(const core::Headers& headers, const std::string& name)
{
  for (const auto& [n, v] : headers) {
    if (n == name) {
      return v;
    }
  }
  return "<missing>";
}

engine::PipelineOptions
forwarding_to(const std::string& url)
{
  engine::PipelineOptions options;
  auto target = core::parse_target(url);
  REQUIRE(target.ok());
  options.routing.forward_to.push_back(*target);
  return options;
}

} // namespace

TEST_CASE("capture pipeline: no target: logged with its origin, answered by rag")
{
  Rig rig;
  auto pipeline = rig.make({});
  const engine::SenderResponse answer = pipeline.handle(request(), origin());
  CHECK(answer.status == 200);
  const auto events = rig.events();
  REQUIRE(events.size() == 1);
  CHECK(events[0].source == "tunnel:https://relay.test/c");
  CHECK(events[0].remote == "198.51.100.4:999");
  CHECK(events[0].relay_id == "r-1");
  CHECK(events[0].target == "/hook?x=1");
  CHECK(events[0].body == R"({"a":1})");
  CHECK(header(answer.headers, "Rag-Event-Id") == events[0].id);
  CHECK(answer.body == R"({"id":")" + events[0].id + R"("})");
  CHECK(pipeline.captured_count() == 1);
  REQUIRE(rig.lines.size() == 1);
  CHECK(rig.lines[0].find("POST /hook?x=1") != std::string::npos);
}

TEST_CASE("capture pipeline: the primary's answer goes back without hop-by-hop headers")
{
  Rig rig;
  auto pipeline = rig.make(forwarding_to("http://up:3000"));
  engine::SenderResponse answer = pipeline.handle(request(), origin());
  CHECK(answer.status == 201);
  CHECK(answer.body == "made");
  CHECK(answer.headers == core::Headers{{"Content-Type", "text/plain"}});
  // The event is in the log before the answer; the delivery record comes after it.
  CHECK(rig.events().size() == 1);
  CHECK(rig.log.deliveries().empty());
  CHECK(pipeline.drain(0ms) == 1);
  REQUIRE(answer.after_answer);
  answer.after_answer.run();
  CHECK(pipeline.drain(5s) == 0);
  REQUIRE(rig.client.sent().size() == 1);
  // The caller's forward context reaches the delivery.
  CHECK(header(rig.client.sent()[0].headers, "X-Forwarded-For") == "198.51.100.4");
  CHECK(header(rig.client.sent()[0].headers, "X-Forwarded-Proto") == "https");
  CHECK(rig.log.deliveries().size() == 1);
}

TEST_CASE("capture pipeline: a dead primary gives 502; --respond STATUS answers at once")
{
  SUBCASE("502")
  {
    Rig rig;
    auto pipeline = rig.make(forwarding_to("http://down:3000"));
    const engine::SenderResponse answer = pipeline.handle(request(), origin());
    CHECK(answer.status == 502);
    CHECK(answer.body.find("connection refused") != std::string::npos);
  }
  SUBCASE("202")
  {
    Rig rig;
    auto options = forwarding_to("http://up:3000");
    options.respond = core::RespondPolicy{false, 202};
    auto pipeline = rig.make(options);
    const engine::SenderResponse answer = pipeline.handle(request(), origin());
    CHECK(answer.status == 202);
    CHECK(pipeline.drain(5s) == 0);
    CHECK(rig.client.sent().size() == 1);
  }
}

TEST_CASE("capture pipeline: --reject-invalid answers 401 and forwards nothing")
{
  Rig rig;
  auto options = forwarding_to("http://up:3000");
  auto spec = core::parse_signature_spec("github=secret");
  REQUIRE(spec.ok());
  options.verify = {*spec};
  options.reject_invalid = true;
  auto pipeline = rig.make(options);
  engine::CapturedRequest captured = pipeline.capture(request(), origin());
  CHECK(captured.logged);
  REQUIRE(captured.answer.has_value());
  CHECK(captured.answer->status == 401);
  const engine::SenderResponse answer = pipeline.forward(std::move(captured)).get();
  CHECK(answer.status == 401);
  CHECK(pipeline.drain(5s) == 0);
  CHECK(rig.client.sent().empty());
  const auto events = rig.events();
  REQUIRE(events.size() == 1);
  CHECK(events[0].verdict == "invalid: no signature header");
  // The event says what its sender was answered, and keeps its body.
  REQUIRE(events[0].rejected.has_value());
  CHECK(events[0].rejected->status == 401);
  CHECK(events[0].rejected->reason == "signature invalid: no signature header");
  CHECK_FALSE(events[0].rejected->body_dropped.has_value());
  CHECK(events[0].body == R"({"a":1})");
  CHECK(answer.body.find("signature invalid: no signature header") != std::string::npos);
}

TEST_CASE("capture pipeline: a refused request is logged with what was read, forwarded nowhere")
{
  Rig rig;
  auto pipeline = rig.make(forwarding_to("http://up:3000"));
  core::HttpRequest partial = request("/big");
  partial.body = "never recorded";
  partial.trailers = {{"T", "1"}};
  CHECK(pipeline.record_refused(std::move(partial), origin(),
                                core::Rejection{413, "request body too large", 4096}));
  // Nothing of the head could be read: still a record, with what is known.
  CHECK(pipeline.record_refused(core::HttpRequest{}, origin(),
                                core::Rejection{400, "invalid method", std::nullopt}));
  CHECK(pipeline.drain(5s) == 0);
  CHECK(rig.client.sent().empty());
  CHECK(rig.log.deliveries().empty());

  const auto events = rig.events();
  REQUIRE(events.size() == 2);
  CHECK(events[0].target == "/big");
  CHECK(events[0].headers == request().headers);
  CHECK(events[0].source == "tunnel:https://relay.test/c");
  CHECK(events[0].remote == "198.51.100.4:999");
  CHECK(events[0].body.empty());
  CHECK(events[0].trailers.empty());
  CHECK(events[0].rejected == core::Rejection{413, "request body too large", 4096});
  CHECK(events[1].method.empty());
  CHECK(events[1].target.empty());
  CHECK(events[1].remote == "198.51.100.4:999");
  // The body not kept is said so, with the bytes the request had (none).
  CHECK(events[1].rejected == core::Rejection{400, "invalid method", 0});
  CHECK(events[0].id < events[1].id);
  REQUIRE(rig.lines.size() == 2);
  CHECK(rig.lines[0].find("POST /big") != std::string::npos);
  CHECK(rig.lines[0].find("refused 413 request body too large") != std::string::npos);
}

TEST_CASE("capture pipeline: trailers go into the log but not to the targets")
{
  Rig rig;
  auto options = forwarding_to("http://up:3000");
  options.respond = core::RespondPolicy{false, 202};
  auto pipeline = rig.make(options);
  core::HttpRequest chunked = request();
  chunked.chunked = true;
  chunked.trailers = {{"X-Checksum", "abc"}, {"x-checksum", "again"}};
  CHECK(pipeline.handle(std::move(chunked), origin()).status == 202);
  CHECK(pipeline.drain(5s) == 0);
  const auto events = rig.events();
  REQUIRE(events.size() == 1);
  CHECK(events[0].trailers == core::Headers{{"X-Checksum", "abc"}, {"x-checksum", "again"}});
  REQUIRE(rig.client.sent().size() == 1);
  CHECK(header(rig.client.sent()[0].headers, "X-Checksum") == "<missing>");
  CHECK(header(rig.client.sent()[0].headers, "x-checksum") == "<missing>");
}

TEST_CASE("capture pipeline: a primary called before the log failed: 500, no other target")
{
  Rig rig;
  engine::PipelineOptions options = forwarding_to("http://up:3000");
  options.routing.forward_to.push_back(*core::parse_target("http://up:4000"));
  auto pipeline = rig.make(std::move(options));
  std::filesystem::remove(rig.log.path);
  std::filesystem::create_directory(rig.log.path);
  engine::SenderResponse answer = pipeline.handle(request(), origin());
  CHECK(answer.status == 500);
  answer.after_answer.run();
  CHECK(pipeline.drain(5s) == 0);
  CHECK(rig.client.sent().size() == 1); // the primary only: the event never reached the log
  CHECK(pipeline.captured_count() == 0);
}

TEST_CASE("capture pipeline: after a failed append, events are logged before any target sees them")
{
  Rig rig;
  auto pipeline = rig.make(forwarding_to("http://up:3000"));
  std::filesystem::remove(rig.log.path);
  std::filesystem::create_directory(rig.log.path);
  // The first failure is found while the primary already has the request.
  CHECK(pipeline.handle(request(), origin()).status == 500);
  CHECK(rig.client.sent().size() == 1);
  // While the log keeps failing, no target gets anything the log lacks.
  for (int i = 0; i < 5; ++i) {
    engine::SenderResponse answer = pipeline.handle(request(), origin());
    CHECK(answer.status == 500);
    answer.after_answer.run();
  }
  CHECK(rig.client.sent().size() == 1);
  // Once the log takes events again, they are logged and forwarded as before.
  std::filesystem::remove(rig.log.path);
  engine::SenderResponse answer = pipeline.handle(request(), origin());
  CHECK(answer.status == 201);
  answer.after_answer.run();
  CHECK(pipeline.drain(5s) == 0);
  CHECK(rig.client.sent().size() == 2);
  CHECK(rig.events().size() == 1);
  CHECK(pipeline.captured_count() == 1);
}

TEST_CASE("capture pipeline: an answer cut at the client's limit reaches the sender as 502")
{
  Rig rig;
  rig.client.body_truncated = true;
  auto pipeline = rig.make(forwarding_to("http://up:3000"));
  engine::SenderResponse answer = pipeline.handle(request(), origin());
  CHECK(answer.status == 502);
  CHECK(answer.body.find("with a body larger than rag passes on") != std::string::npos);
  answer.after_answer.run();
  CHECK(pipeline.drain(5s) == 0);
  const auto deliveries = rig.log.deliveries();
  REQUIRE(deliveries.size() == 1);
  CHECK(deliveries[0].status == 201); // the record says what the target answered
}

TEST_CASE("capture pipeline: an event the log cannot take is answered 500")
{
  Rig rig;
  auto pipeline = rig.make(forwarding_to("http://up:3000"));
  std::filesystem::remove(rig.log.path);
  std::filesystem::create_directory(rig.log.path);
  engine::CapturedRequest captured = pipeline.capture(request(), origin());
  CHECK_FALSE(captured.logged);
  CHECK(captured.event_id.empty());
  REQUIRE(captured.answer.has_value());
  CHECK(captured.answer->status == 500);
  CHECK(pipeline.forward(std::move(captured)).get().status == 500);
  CHECK(pipeline.drain(5s) == 0);
  CHECK(rig.client.sent().empty());
  CHECK(pipeline.captured_count() == 0);
}

TEST_CASE("capture pipeline: a secondary target gets as many deliveries at once as senders send")
{
  // Issue 12: with 8 workers per target, a secondary as fast as the primary fell
  // thousands of deliveries behind 32 concurrent senders. Here the secondary holds
  // every call: all 40 deliveries must be in flight at once, none waiting for a worker.
  Rig rig;
  auto options = forwarding_to("http://up:3000");
  auto held = core::parse_target("http://held:4000");
  REQUIRE(held.ok());
  options.routing.forward_to.push_back(*held);
  options.respond = core::RespondPolicy{false, 202};
  auto pipeline = rig.make(options);
  constexpr std::size_t k_events = 40;
  static_assert(k_events <= engine::k_pipeline_workers_per_target);
  for (std::size_t i = 0; i < k_events; ++i) {
    CHECK(pipeline.handle(request(), origin()).status == 202);
  }
  std::size_t in_flight = 0;
  for (int i = 0; i < 500 && in_flight < k_events; ++i) {
    const auto seen = rig.client.seen();
    const auto calls = seen.find("http://held:4000");
    in_flight = calls == seen.end() ? 0 : calls->second.size();
    std::this_thread::sleep_for(10ms);
  }
  CHECK(in_flight == k_events);
  rig.client.release();
  CHECK(pipeline.drain(10s) == 0);
  CHECK(rig.log.deliveries().size() == 2 * k_events);
}
