#include "core/log/record_writer.hpp"
#include "engine/fanout.hpp"

#include "support/fake_http_client.hpp"
#include "support/log_fixture.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace rag;
using namespace std::chrono_literals;

namespace {

using FakeClient = test::FakeHttpClient;

core::Destination
destination(const std::string& text)
{
  auto target = core::parse_target(text);
  REQUIRE(target.ok());
  return core::Destination{*target, {}};
}

std::shared_ptr<const engine::Payload>
payload(const std::string& id, const std::string& path)
{
  auto p = std::make_shared<engine::Payload>();
  p->event_id = id;
  p->method = "POST";
  p->target = path;
  p->headers = {{"Host", "rag"}, {"Content-Length", "2"}};
  p->body = std::make_shared<const std::string>("{}");
  p->context.remote_ip = "127.0.0.1";
  return p;
}

} // namespace

TEST_CASE("fanout: every target gets the event; the primary's answer comes back")
{
  test::TempLog log;
  auto writer = core::EventLogWriter::open(log.path);
  REQUIRE(writer.ok());
  test::StepClock clock;
  core::RandomIdSource ids;
  FakeClient client;
  client.script["http://a:1"] = {201};
  std::atomic<int> printed{0};
  {
    engine::StringConsole console;
    engine::Fanout fanout({}, client, *writer, clock, ids, console,
                          [&](const core::Delivery&) { ++printed; });
    auto primary = fanout.dispatch(payload("evt_A", "/x?q=1"),
                                   {destination("http://a:1"), destination("http://b:2/in")}, true);
    REQUIRE(primary.valid());
    engine::PrimaryOutcome outcome = primary.get();
    REQUIRE(outcome.response.has_value());
    CHECK(outcome.response->status == 201);
    CHECK(outcome.record.target == "http://a:1/x?q=1");
    outcome.finish.run(); // what the caller does once the sender has its answer
    CHECK(fanout.drain(5s) == 0);
  }
  CHECK(printed == 2);
  CHECK(client.seen()["http://b:2/in"] == std::vector<std::string>{"/in?q=1"});
  const auto deliveries = log.deliveries();
  REQUIRE(deliveries.size() == 2);
  for (const auto& d : deliveries) {
    CHECK(d.event_id == "evt_A");
    CHECK(d.attempt == 1);
    CHECK(d.response_body.size() == 100);
  }
}

TEST_CASE("fanout: a held target delays neither the primary nor other events")
{
  test::TempLog log;
  auto writer = core::EventLogWriter::open(log.path);
  REQUIRE(writer.ok());
  test::StepClock clock;
  core::RandomIdSource ids;
  FakeClient client;
  engine::StringConsole console;
  engine::Fanout fanout({}, client, *writer, clock, ids, console, {});
  for (int i = 0; i < 5; ++i) {
    auto primary = fanout.dispatch(payload("evt_" + std::to_string(i), "/h"),
                                   {destination("http://a:1"), destination("http://held:9")}, true);
    CHECK(primary.get().response->status == 200); // returns although "held" never answered
  }
  fanout.flush_records(); // records are queued, not waited for
  CHECK(log.deliveries().size() == 5);
  client.release();
  CHECK(fanout.drain(10s) == 0);
  CHECK(log.deliveries().size() == 10);
}

TEST_CASE("fanout: delivery records are queued, then written with the next append or soon")
{
  test::TempLog log;
  auto writer = core::EventLogWriter::open(log.path);
  REQUIRE(writer.ok());
  test::StepClock clock;
  core::RandomIdSource ids;
  FakeClient client;
  engine::StringConsole console;
  engine::Fanout fanout({}, client, *writer, clock, ids, console, {});
  {
    auto primary = fanout.dispatch(payload("evt_Q", "/q"), {destination("http://a:1")}, true);
    engine::PrimaryOutcome outcome = primary.get();
    outcome.finish.run();
  }
  SUBCASE("the next append carries it")
  {
    core::Event event;
    event.id = "evt_NEXT";
    event.time_us = clock.now_us();
    event.method = "POST";
    event.target = "/next";
    REQUIRE(writer->append(core::to_json_line(event)).ok());
    const auto deliveries = log.deliveries();
    REQUIRE(deliveries.size() == 1);
    CHECK(deliveries[0].event_id == "evt_Q");
  }
  SUBCASE("else the background flush writes it")
  {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (log.deliveries().empty() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(engine::Fanout::k_record_delay);
    }
    CHECK(log.deliveries().size() == 1);
    CHECK_FALSE(writer->has_queued());
  }
}

TEST_CASE("fanout: retries on refusal and 5xx with backoff, each attempt recorded")
{
  test::TempLog log;
  auto writer = core::EventLogWriter::open(log.path);
  REQUIRE(writer.ok());
  test::StepClock clock;
  core::RandomIdSource ids;
  FakeClient client;
  client.script["http://a:1"] = {0, 503, 200};
  client.script["http://c:3"] = {404};
  std::vector<std::chrono::milliseconds> waits;
  engine::FanoutOptions options;
  options.delivery.retries = 5;
  options.sleep = [&](std::chrono::milliseconds delay) { waits.push_back(delay); };
  engine::StringConsole console;
  engine::Fanout fanout(options, client, *writer, clock, ids, console, {});
  auto primary = fanout.dispatch(payload("evt_R", "/r"), {destination("http://a:1")}, true);
  auto outcome = primary.get();
  CHECK_FALSE(outcome.response.has_value()); // the sender hears about the first attempt
  CHECK(outcome.record.error == "connection refused");
  // Its record and the retries wait until the sender has been answered.
  CHECK(log.deliveries().empty());
  CHECK(waits.empty());
  outcome.finish.run();
  fanout.dispatch(payload("evt_N", "/n"), {destination("http://c:3")}, false);
  CHECK(fanout.drain(5s) == 0);
  // The two events' records interleave (evt_R's retries run on a worker); each
  // event's own records are in attempt order.
  std::vector<core::Delivery> retried;
  std::vector<core::Delivery> not_retried;
  for (const auto& delivery : log.deliveries()) {
    (delivery.event_id == "evt_R" ? retried : not_retried).push_back(delivery);
  }
  REQUIRE(retried.size() == 3);
  CHECK(retried[0].attempt == 1);
  CHECK(retried[0].error == "connection refused");
  CHECK(retried[1].attempt == 2);
  CHECK(retried[1].status == 503);
  CHECK(retried[2].attempt == 3);
  CHECK(retried[2].status == 200);
  REQUIRE(not_retried.size() == 1);
  CHECK(not_retried[0].event_id == "evt_N");
  CHECK(not_retried[0].status == 404); // 404 is not retried
  REQUIRE(waits.size() == 2);
  CHECK(waits[1] >= waits[0]);
}

TEST_CASE("fanout: --ordered delivers to a target in dispatch order, one at a time")
{
  test::TempLog log;
  auto writer = core::EventLogWriter::open(log.path);
  REQUIRE(writer.ok());
  test::StepClock clock;
  core::RandomIdSource ids;
  FakeClient client;
  engine::FanoutOptions options;
  options.delivery.ordered = true;
  engine::StringConsole console;
  engine::Fanout fanout(options, client, *writer, clock, ids, console, {});
  for (int i = 0; i < 200; ++i) {
    fanout.dispatch(payload("evt_" + std::to_string(i), "/" + std::to_string(i)),
                    {destination("http://a:1")}, false);
  }
  CHECK(fanout.drain(10s) == 0);
  const auto seen = client.seen()["http://a:1"];
  REQUIRE(seen.size() == 200);
  for (int i = 0; i < 200; ++i) {
    CHECK(seen[static_cast<std::size_t>(i)] == "/" + std::to_string(i));
  }
}

TEST_CASE("fanout: a target that falls behind gets no more queued; those are recorded failed")
{
  test::TempLog log;
  auto writer = core::EventLogWriter::open(log.path);
  REQUIRE(writer.ok());
  test::StepClock clock;
  core::RandomIdSource ids;
  FakeClient client;
  engine::FanoutOptions options;
  options.max_workers_per_target = 1;
  SUBCASE("by count")
  {
    options.max_queued_per_target = 3;
  }
  SUBCASE("by bytes (2-byte bodies)")
  {
    options.max_queued_bytes_per_target = 7;
  }
  std::atomic<int> refused_shown{0};
  engine::StringConsole console;
  engine::Fanout fanout(
      options, client, *writer, clock, ids, console,
      [&](const core::Delivery& d) { refused_shown += d.error.starts_with("not sent: ") ? 1 : 0; });
  for (int i = 0; i < 10; ++i) {
    fanout.dispatch(payload("evt_" + std::to_string(i), "/h"), {destination("http://held:9")},
                    false);
  }
  fanout.flush_records();
  // One delivery is in flight and at most 3 wait: the rest were refused at once.
  const auto refused = log.deliveries();
  CHECK(refused.size() >= 6);
  CHECK(refused.size() <= 7);
  for (const auto& d : refused) {
    CHECK(d.error.find("already wait for this target") != std::string::npos);
    CHECK(d.status == 0);
    CHECK(d.attempt == 1);
  }
  CHECK(refused_shown == static_cast<int>(refused.size()));
  client.release();
  CHECK(fanout.drain(10s) == 0);
  // Every event has exactly one record: delivered or refused, none lost, none twice.
  const auto all = log.deliveries();
  CHECK(all.size() == 10);
  std::set<std::string> events;
  for (const auto& d : all) {
    events.insert(d.event_id);
  }
  CHECK(events.size() == 10);
  CHECK(client.seen()["http://held:9"].size() == 10 - refused.size());
}
