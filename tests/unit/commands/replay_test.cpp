#include "commands/replay.hpp"
#include "engine/fanout.hpp"

#include "support/fake_http_client.hpp"
#include "support/log_fixture.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <unistd.h>
#include <vector>

using namespace rag;
using namespace std::chrono_literals;

namespace {

std::shared_ptr<const engine::Payload>
payload(const std::string& id, const std::string& target)
{
  auto p = std::make_shared<engine::Payload>();
  p->event_id = id;
  p->method = "POST";
  p->target = target;
  p->headers = {{"Host", "rag:7777"}, {"X-Sig", "s1"}, {"Content-Length", "2"}};
  p->body = std::make_shared<const std::string>("{}");
  p->context.remote_ip = "10.0.0.1";
  return p;
}

core::Destination
destination(const std::string& text)
{
  auto target = core::parse_target(text);
  REQUIRE(target.ok());
  return core::Destination{*target, {}};
}

} // namespace

TEST_CASE("replay: parse_exact_url splits a recorded URL into origin and raw target")
{
  auto exact = core::parse_exact_url("http://127.0.0.1:4000/hooks/b?a=1&b=%20");
  REQUIRE(exact.ok());
  CHECK(exact->origin.url == "http://127.0.0.1:4000");
  CHECK(exact->origin.host == "127.0.0.1");
  CHECK(exact->origin.port == 4000);
  CHECK(exact->origin.path.empty());
  CHECK(exact->origin.query.empty());
  CHECK(exact->request_target == "/hooks/b?a=1&b=%20");

  exact = core::parse_exact_url("https://example.com");
  REQUIRE(exact.ok());
  CHECK(exact->origin.port == 443);
  CHECK(exact->request_target == "/");

  exact = core::parse_exact_url("http://[::1]:3000?x=1");
  REQUIRE(exact.ok());
  CHECK(exact->origin.url == "http://[::1]:3000");
  CHECK(exact->request_target == "/?x=1");

  exact = core::parse_exact_url("http://h:1/p?q#frag");
  REQUIRE(exact.ok());
  CHECK(exact->request_target == "/p?q");

  CHECK_FALSE(core::parse_exact_url("ftp://h/x").ok());
}

TEST_CASE("replay: plan_delivery keeps a fixed request target and applies --set-header")
{
  const auto p = payload("evt_A", "/orig/path?x=1");
  const auto exact = core::parse_exact_url("http://127.0.0.1:4000/hooks?y=2");
  REQUIRE(exact.ok());
  const core::Destination dest{exact->origin, {}};
  const engine::PlannedDelivery planned =
      engine::plan_delivery(*p, dest, exact->request_target, {{"x-sig", "s2"}, {"X-New", "n"}});
  REQUIRE(planned.request.ok());
  CHECK(planned.request->target == "/hooks?y=2"); // not mapped from /orig/path?x=1
  CHECK(planned.url == "http://127.0.0.1:4000/hooks?y=2");
  const core::Headers expected = {{"Host", "127.0.0.1:4000"},
                                  {"x-sig", "s2"},
                                  {"Content-Length", "2"},
                                  {"X-Forwarded-For", "10.0.0.1"},
                                  {"X-Forwarded-Host", "rag:7777"},
                                  {"X-Forwarded-Proto", "http"},
                                  {"X-New", "n"}};
  CHECK(planned.request->headers == expected);

  // Without a fixed target the destination's path rules apply, as for --forward-to.
  const auto mapped = engine::plan_delivery(*p, destination("http://h:1/in"), {}, {});
  REQUIRE(mapped.request.ok());
  CHECK(mapped.request->target == "/in?x=1");
  CHECK(mapped.url == "http://h:1/in?x=1");
}

TEST_CASE("replay: dispatch_one sends the exact target and marks the record as a replay")
{
  test::TempLog log;
  auto writer = core::EventLogWriter::open(log.path);
  REQUIRE(writer.ok());
  test::StepClock clock;
  core::RandomIdSource ids;
  test::FakeHttpClient client;
  engine::FanoutOptions options;
  options.replay = true;
  options.set_headers = {{"X-Sig", "fresh"}};
  {
    engine::StringConsole console;
    engine::Fanout fanout(options, client, *writer, clock, ids, console, {});
    const auto exact = core::parse_exact_url("http://a:1/gh/push?a=1");
    REQUIRE(exact.ok());
    fanout.dispatch_one(payload("evt_E", "/push"), core::Destination{exact->origin, {}},
                        exact->request_target);
    fanout.dispatch_one(payload("evt_F", "/push?z"), destination("http://b:2"));
    CHECK(fanout.drain(5s) == 0);
  }
  const auto calls = client.calls();
  REQUIRE(calls.size() == 2);
  for (const auto& call : calls) {
    if (call.url == "http://a:1") {
      CHECK(call.request.target == "/gh/push?a=1");
    } else {
      CHECK(call.request.target == "/push?z");
    }
    CHECK(call.request.headers[1] == core::Header{"X-Sig", "fresh"});
  }
  const auto deliveries = log.deliveries();
  REQUIRE(deliveries.size() == 2);
  for (const auto& d : deliveries) {
    CHECK(d.replay);
    CHECK((d.target == "http://a:1/gh/push?a=1" || d.target == "http://b:2/push?z"));
  }
}

TEST_CASE("replay: wait_for_capacity bounds what is queued or running")
{
  test::TempLog log;
  auto writer = core::EventLogWriter::open(log.path);
  REQUIRE(writer.ok());
  test::StepClock clock;
  core::RandomIdSource ids;
  test::FakeHttpClient client;
  engine::StringConsole console;
  engine::Fanout fanout({}, client, *writer, clock, ids, console, {});
  CHECK(fanout.wait_for_capacity(2, 0ms)); // nothing pending
  fanout.dispatch_one(payload("evt_1", "/1"), destination("http://held:1"));
  CHECK(fanout.wait_for_capacity(2, 0ms)); // one pending, room for a second
  fanout.dispatch_one(payload("evt_2", "/2"), destination("http://held:1"));
  client.wait_started(2);
  CHECK_FALSE(fanout.wait_for_capacity(2, 20ms)); // both held: no room
  CHECK_FALSE(fanout.wait_for_capacity(1, 0ms));
  client.release();
  CHECK(fanout.wait_for_capacity(1, 10s)); // both finished
  CHECK(fanout.drain(5s) == 0);
  CHECK(log.deliveries().size() == 2);
}

TEST_CASE("replay: with several --resign an event gets only the schemes whose headers it has")
{
  const auto spec = [](const std::string& text) {
    auto parsed = core::parse_signature_spec(text);
    REQUIRE(parsed.ok());
    return *parsed;
  };
  const std::vector<core::SignatureSpec> several = {
      spec("stripe=sk"), spec("standard=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), spec("slack=sl"),
      spec("github=gh")};
  using Indexes = std::vector<std::size_t>;

  const core::Headers stripe = {{"Host", "x"}, {"stripe-signature", "t=1,v1=00"}};
  CHECK(commands::resign_schemes(several, stripe) == Indexes{0});
  const core::Headers svix = {{"svix-id", "msg_1"}, {"svix-signature", "v1,AA=="}};
  CHECK(commands::resign_schemes(several, svix) == Indexes{1});
  const core::Headers slack = {{"X-Slack-Signature", "v0=00"}, {"X-Slack-Request-Timestamp", "1"}};
  CHECK(commands::resign_schemes(several, slack) == Indexes{2});
  const core::Headers github_sha1 = {{"X-Hub-Signature", "sha1=00"}};
  CHECK(commands::resign_schemes(several, github_sha1) == Indexes{3});
  // Headers of two schemes: both are re-signed, in the order given.
  const core::Headers both = {{"X-Hub-Signature-256", "sha256=00"}, {"Stripe-Signature", "t=1"}};
  CHECK(commands::resign_schemes(several, both) == Indexes{0, 3});

  // None of them: with several, none (the caller warns); with one, that one, as asked.
  const core::Headers plain = {{"Host", "x"}, {"Content-Type", "application/json"}};
  CHECK(commands::resign_schemes(several, plain).empty());
  CHECK(commands::resign_schemes({spec("github=gh")}, plain) == Indexes{0});
  CHECK(commands::resign_schemes({spec("github=gh")}, stripe) == Indexes{0});
  CHECK(commands::resign_schemes({}, stripe).empty());
  // The generic HMAC applies when its own header is there.
  const std::vector<core::SignatureSpec> generic = {spec("hmac:X-Sig:sha256:hex=k"),
                                                    spec("stripe=sk")};
  CHECK(commands::resign_schemes(generic, {{"x-sig", "00"}}) == Indexes{0});
}

TEST_CASE("replay: skip_reason leaves out failed verification and events without a target")
{
  core::Event event;
  event.id = "evt_A";
  CHECK(commands::skip_reason(event, true, false).empty());
  CHECK(commands::skip_reason(event, true, true).empty());

  event.verdict = "valid";
  CHECK(commands::skip_reason(event, true, false).empty());
  event.verdict = "unverified";
  CHECK(commands::skip_reason(event, true, false).empty());

  event.verdict = "invalid: signature mismatch";
  const std::string rejected = commands::skip_reason(event, true, false);
  CHECK(rejected.find("invalid: signature mismatch") != std::string::npos);
  CHECK(rejected.find("--include-rejected") != std::string::npos);
  CHECK(commands::skip_reason(event, true, true).empty());
  // Refused first: --to would not help it.
  CHECK(commands::skip_reason(event, false, false) == rejected);

  const std::string untargeted = commands::skip_reason(event, false, true);
  CHECK(untargeted.find("never delivered") != std::string::npos);
  CHECK(untargeted.find("--to URL") != std::string::npos);
  event.verdict.clear();
  CHECK(commands::skip_reason(event, false, false) == untargeted);
}

TEST_CASE("replay: skip_reason always leaves out a request refused before it was whole")
{
  core::Event event;
  event.id = "evt_A";
  event.rejected = core::Rejection{413, "request body too large", 0};
  const std::string too_large = commands::skip_reason(event, true, true);
  CHECK(too_large.find("413 (request body too large)") != std::string::npos);
  CHECK(too_large.find("nothing to replay") != std::string::npos);
  CHECK(commands::skip_reason(event, true, false) == too_large);
  CHECK(commands::skip_reason(event, false, true) == too_large);

  // A 401 keeps its body: left out unless --include-rejected, whatever the verdict says.
  event.rejected = core::Rejection{401, "signature unverified", {}};
  event.verdict = "unverified";
  const std::string unverified = commands::skip_reason(event, true, false);
  CHECK(unverified.find("401 (signature unverified)") != std::string::npos);
  CHECK(unverified.find("--include-rejected") != std::string::npos);
  CHECK(commands::skip_reason(event, true, true).empty());
}
