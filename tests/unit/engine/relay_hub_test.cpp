#include "engine/relay_hub.hpp"

#include "core/sse.hpp"
#include "support/log_fixture.hpp"

#include "support/manual_clock.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <future>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace rag;
using namespace std::chrono_literals;
using engine::HeldEventPtr;
using engine::RelayAwait;
using engine::RelayHub;
using engine::RelayHubOptions;
using engine::RelayPublish;
using engine::ReplyOutcome;

namespace {

core::RelayedRequest
request(std::string target, std::string body = "{}")
{
  core::RelayedRequest r;
  r.method = "POST";
  r.target = std::move(target);
  r.headers = {{"Content-Type", "application/json"}};
  r.body = std::move(body);
  r.remote = "127.0.0.1:1";
  return r;
}

// Every field a message can carry.
constexpr core::MessageFields k_all_fields{true, true};

// Parse a held event's frame back into the request it announces.
core::RelayedRequest
decode(const HeldEventPtr& event, core::MessageFields fields = k_all_fields)
{
  core::SseParser parser;
  auto events = parser.feed(event->frame(fields));
  REQUIRE(events.size() == 1);
  CHECK(events[0].id == event->id);
  CHECK(events[0].event.empty());
  auto parsed = core::parse_relay_message(events[0].data);
  REQUIRE(parsed.ok());
  return *parsed;
}

std::vector<std::string>
ids_of(const std::vector<HeldEventPtr>& events)
{
  std::vector<std::string> ids;
  for (const auto& event : events) {
    ids.push_back(event->id);
  }
  return ids;
}

struct Fixture
{
  test::ManualClock clock{1'800'000'000'000'000};
  core::RandomIdSource ids;
};

} // namespace

TEST_CASE("relay hub: publish gives increasing ids and a frame with the whole request")
{
  Fixture f;
  RelayHub hub({}, f.clock, f.ids);
  std::string last;
  for (int i = 0; i < 50; ++i) {
    const auto event = hub.publish(i % 2 ? "a" : "b", request("/n" + std::to_string(i))).event;
    CHECK(event->id > last); // the clock stands still: ids still strictly increase
    last = event->id;
  }
  const auto event = hub.publish("a", request("/x?y=1", std::string("\0\xff", 2))).event;
  CHECK(event->method == "POST");
  CHECK(event->target == "/x?y=1");
  CHECK(event->body_size == 2);
  const core::RelayedRequest decoded = decode(event);
  CHECK(decoded.id == event->id);
  CHECK(decoded.time_us == f.clock.now_us());
  CHECK(decoded.target == "/x?y=1");
  CHECK(decoded.body == std::string("\0\xff", 2));
  CHECK(decoded.remote == "127.0.0.1:1");
  CHECK(decoded.reply.empty());

  const auto sync = hub.publish("a", request("/s"), true).event;
  CHECK(decode(sync).reply == "/_rag/reply/a/" + sync->id);
  CHECK(hub.post_reply("a", sync->id, {200, {}, ""}) == ReplyOutcome::accepted);
  CHECK(hub.await_reply("a", sync->id, 0ms).kind == RelayAwait::Kind::reply);
}

TEST_CASE("relay hub: an event is serialised once, and each kind of subscriber reads its variant")
{
  Fixture f;
  RelayHub hub({}, f.clock, f.ids);
  const std::string body = R"({"action":"opened","n":[1,2,3]})";
  const auto event = hub.publish("a", request("/gh?x=1", body)).event;
  const auto smee = decode(event, {});
  CHECK(smee.form == core::RelayedRequest::Form::body);
  CHECK(smee.body == body);
  CHECK(smee.target == "/?x=1");
  const auto gosmee = decode(event, {true, false});
  CHECK(gosmee.form == core::RelayedRequest::Form::body_b);
  CHECK(gosmee.body == body);
  const auto tunnel = decode(event, {false, true});
  CHECK(tunnel.form == core::RelayedRequest::Form::rag);
  CHECK(tunnel.target == "/gh?x=1");
  CHECK(tunnel.body == body);
  CHECK(event->frame({}).find("bodyB") == std::string::npos);
  CHECK(event->frame({}).find(R"("rag")") == std::string::npos);
  CHECK(event->frame({false, true}).find("bodyB") == std::string::npos);

  // The backlog counts what is held, once, not one frame per kind of subscriber.
  CHECK(event->bytes() < event->frame({true, true}).size());
  CHECK(event->bytes() < event->frame({}).size() + event->frame({false, true}).size());
  std::vector<std::string_view> pieces;
  event->append_frame({false, true}, pieces);
  std::string joined;
  for (const auto piece : pieces) {
    joined.append(piece);
  }
  CHECK(joined == event->frame({false, true}));
}

TEST_CASE("relay hub: a 50000-deep JSON body is published without a crash")
{
  Fixture f;
  RelayHub hub({}, f.clock, f.ids);
  const std::string deep = std::string(50000, '[') + std::string(50000, ']');
  const auto event = hub.publish("a", request("/", deep)).event;
  CHECK(decode(event).body == deep);
  CHECK(decode(event, {}).body == "{}"); // smee's `body`: not JSON within the cap
  const auto next = hub.publish("a", request("/", R"({"ok":true})")).event;
  CHECK(decode(next, {}).body == R"({"ok":true})");
}

TEST_CASE("relay hub: a live subscriber gets what comes after its ready position, in order")
{
  Fixture f;
  RelayHub hub({}, f.clock, f.ids);
  const auto before = hub.publish("other", request("/before")).event;
  auto sub = hub.subscribe("chan");
  // An empty channel's position sorts after every id issued so far...
  CHECK(sub->ready_id() > before->id);
  CHECK_FALSE(sub->gap());
  CHECK(hub.next(*sub, 0ms).events.empty());

  std::vector<std::string> published;
  for (int i = 0; i < 5; ++i) {
    published.push_back(hub.publish("chan", request("/" + std::to_string(i))).event->id);
  }
  // ...and before every id issued later.
  CHECK(sub->ready_id() < published.front());
  auto batch = hub.next(*sub, 0ms);
  CHECK_FALSE(batch.gap);
  CHECK_FALSE(batch.closed);
  CHECK(ids_of(batch.events) == published);
  CHECK(sub->cursor() == published.back());
  CHECK(hub.next(*sub, 0ms).events.empty()); // once

  // A channel that holds events: the position is its newest id.
  auto second = hub.subscribe("chan");
  CHECK(second->ready_id() == published.back());
  CHECK(hub.next(*second, 0ms).events.empty());
  CHECK(hub.subscriber_count("chan") == 2);
  second.reset();
  CHECK(hub.subscriber_count("chan") == 1);
}

TEST_CASE("relay hub: next() wakes up for a publish from another thread")
{
  Fixture f;
  RelayHub hub({}, f.clock, f.ids);
  auto sub = hub.subscribe("chan");
  auto reader = std::async(std::launch::async, [&] { return hub.next(*sub, 30s); });
  CHECK(reader.wait_for(20ms) == std::future_status::timeout);
  const auto event = hub.publish("chan", request("/")).event;
  REQUIRE(reader.wait_for(10s) == std::future_status::ready);
  CHECK(ids_of(reader.get().events) == std::vector<std::string>{event->id});
}

TEST_CASE("relay hub: Last-Event-ID resumes with everything newer, in order, once")
{
  Fixture f;
  RelayHub hub({}, f.clock, f.ids);
  std::string ready;
  {
    auto first = hub.subscribe("chan");
    ready = first->ready_id();
  }
  std::vector<std::string> published;
  for (int i = 0; i < 20; ++i) {
    f.clock.advance(1ms);
    published.push_back(hub.publish("chan", request("/" + std::to_string(i))).event->id);
  }
  auto sub = hub.subscribe("chan", ready);
  CHECK(sub->ready_id() == ready); // a drop before the replay resumes from the same point
  CHECK_FALSE(sub->gap());
  CHECK(ids_of(hub.next(*sub, 0ms).events) == published);
  CHECK(hub.next(*sub, 0ms).events.empty());

  // From the middle; lower-case ids are the same ids.
  std::string lower = published[9];
  for (auto& c : lower) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  auto middle = hub.subscribe("chan", lower);
  CHECK(ids_of(hub.next(*middle, 0ms).events) ==
        std::vector<std::string>(published.begin() + 10, published.end()));

  // Not an id: live only.
  auto junk = hub.subscribe("chan", "12345");
  CHECK(junk->ready_id() == published.back());
  CHECK(hub.next(*junk, 0ms).events.empty());

  // An id from the future cannot make the subscriber skip what comes next.
  auto future = hub.subscribe("chan", "evt_ZZZZZZZZZZZZZZZZZZZZZZZZZZ");
  CHECK(future->ready_id() == published.back());
  const auto next = hub.publish("chan", request("/next")).event;
  CHECK(ids_of(hub.next(*future, 0ms).events) == std::vector<std::string>{next->id});
}

TEST_CASE("relay hub: the backlog is bounded by count and the newest always stays")
{
  Fixture f;
  RelayHubOptions options;
  options.backlog_count = 5;
  RelayHub hub(options, f.clock, f.ids);
  const std::string start = hub.subscribe("chan")->ready_id();
  std::vector<std::string> published;
  for (int i = 0; i < 8; ++i) {
    published.push_back(hub.publish("chan", request("/" + std::to_string(i))).event->id);
  }
  CHECK(ids_of(hub.recent("chan", 100)) ==
        std::vector<std::string>(published.rbegin(), published.rbegin() + 5));
  CHECK(hub.recent("chan", 2).size() == 2);

  // Resuming from before the evicted ones: what is held, and a warning.
  auto sub = hub.subscribe("chan", start);
  CHECK(sub->gap());
  CHECK(sub->ready_id() == start);
  auto batch = hub.next(*sub, 0ms);
  CHECK_FALSE(batch.gap); // reported once, by subscribe
  CHECK(ids_of(batch.events) == std::vector<std::string>(published.begin() + 3, published.end()));

  // Resuming from the newest evicted one is complete.
  auto exact = hub.subscribe("chan", published[2]);
  CHECK_FALSE(exact->gap());
  CHECK(hub.next(*exact, 0ms).events.size() == 5);
}

TEST_CASE("relay hub: the backlog is bounded by bytes")
{
  Fixture f;
  RelayHubOptions options;
  options.backlog_bytes = 20'000;
  RelayHub hub(options, f.clock, f.ids);
  for (int i = 0; i < 10; ++i) {
    (void)hub.publish("chan", request("/", std::string(3000, 'x'))).event;
  }
  const auto held = hub.recent("chan", 100);
  std::size_t bytes = 0;
  for (const auto& event : held) {
    bytes += event->bytes();
  }
  CHECK(bytes <= 20'000);
  CHECK(held.size() >= 2);
  CHECK(held.size() < 10);

  // One event bigger than the whole budget is still held (until the next one).
  const auto big = hub.publish("chan", request("/", std::string(50'000, 'y'))).event;
  CHECK(ids_of(hub.recent("chan", 100)) == std::vector<std::string>{big->id});
}

TEST_CASE("relay hub: the backlog is bounded by age")
{
  Fixture f;
  RelayHubOptions options;
  options.backlog_age_us = 60'000'000;
  RelayHub hub(options, f.clock, f.ids);
  const std::string start = hub.subscribe("chan")->ready_id();
  const auto old_event = hub.publish("chan", request("/old")).event;
  f.clock.advance(30s);
  const auto newer = hub.publish("chan", request("/newer")).event;
  f.clock.advance(31s); // the first is now 61 s old
  const auto newest = hub.publish("chan", request("/newest")).event;
  CHECK(ids_of(hub.recent("chan", 10)) == std::vector<std::string>{newest->id, newer->id});
  auto sub = hub.subscribe("chan", start);
  CHECK(sub->gap());
  CHECK(hub.next(*sub, 0ms).events.size() == 2);

  // Nothing new for longer than the age: even the newest goes, and so does the idle
  // channel itself.
  sub.reset();
  f.clock.advance(2min);
  (void)hub.publish("elsewhere", request("/")).event; // triggers the sweep
  CHECK(hub.recent("chan", 10).empty());
  CHECK(hub.channel_count() == 1);
  // A channel made again after an id it never saw warns about a possible gap.
  auto again = hub.subscribe("chan", newest->id);
  CHECK(again->gap());
  (void)old_event;
}

TEST_CASE("relay hub: past the count bound, publishes are refused rather than evicting unread "
          "events, and accepted again once the subscriber reads")
{
  Fixture f;
  RelayHubOptions options;
  options.backlog_count = 10;
  RelayHub hub(options, f.clock, f.ids);
  auto slow = hub.subscribe("chan");
  auto fast = hub.subscribe("chan");
  std::vector<std::string> published;
  int refused = 0;
  for (int i = 0; i < 25; ++i) {
    const auto outcome = hub.publish("chan", request("/"));
    if (outcome.event) {
      CHECK(outcome.refused == RelayPublish::Refusal::none);
      published.push_back(outcome.event->id);
    } else {
      CHECK(outcome.refused == RelayPublish::Refusal::channel_full);
      // One start of refusing, not one per request.
      CHECK(outcome.started_refusing == (refused == 0));
      ++refused;
    }
    // The fast one keeps up; the slow one holds the backlog.
    CHECK_FALSE(hub.next(*fast, 0ms).gap);
  }
  CHECK(published.size() == 10);
  CHECK(refused == 15);
  // Everything that was held reaches the slow subscriber, without a gap.
  auto batch = hub.next(*slow, 0ms);
  CHECK_FALSE(batch.gap);
  CHECK(ids_of(batch.events) == published);

  // It has read them: they may go now, and publishing resumes.
  const auto again = hub.publish("chan", request("/again"));
  REQUIRE(again.event);
  CHECK(again.channel_resumed);
  CHECK_FALSE(again.relay_resumed);
  CHECK(hub.recent("chan", 100).size() == 10); // the oldest read one made room
  CHECK(ids_of(hub.next(*slow, 0ms).events) == std::vector<std::string>{again.event->id});
  const auto later = hub.publish("chan", request("/later"));
  REQUIRE(later.event);
  CHECK_FALSE(later.channel_resumed);
}

TEST_CASE("relay hub: the byte and age bounds refuse publishes while a subscriber has not read")
{
  Fixture f;
  RelayHubOptions options;
  options.backlog_bytes = 20'000;
  options.backlog_age_us = 60'000'000;
  RelayHub hub(options, f.clock, f.ids);
  auto sub = hub.subscribe("chan");
  std::vector<std::string> published;
  for (int i = 0; i < 10; ++i) {
    const auto outcome = hub.publish("chan", request("/", std::string(3000, 'x')));
    if (outcome.event) {
      published.push_back(outcome.event->id);
    } else {
      CHECK(outcome.refused == RelayPublish::Refusal::channel_full);
    }
  }
  CHECK(published.size() >= 2);
  CHECK(published.size() < 10);
  CHECK(ids_of(hub.next(*sub, 0ms).events) == published);

  // Unread and older than the age: kept, and publishing is refused.
  const auto old_event = hub.publish("chan", request("/old"));
  REQUIRE(old_event.event);
  f.clock.advance(61s);
  const auto refused = hub.publish("chan", request("/new"));
  CHECK(refused.refused == RelayPublish::Refusal::channel_full);
  CHECK(ids_of(hub.next(*sub, 0ms).events) == std::vector<std::string>{old_event.event->id});
  CHECK(hub.publish("chan", request("/new")).event);
}

TEST_CASE("relay hub: a channel without subscribers still evicts its oldest")
{
  Fixture f;
  RelayHubOptions options;
  options.backlog_count = 5;
  RelayHub hub(options, f.clock, f.ids);
  for (int i = 0; i < 20; ++i) {
    const auto outcome = hub.publish("chan", request("/"));
    CHECK(outcome.refused == RelayPublish::Refusal::none);
  }
  CHECK(hub.recent("chan", 100).size() == 5);
}

TEST_CASE("relay hub: the relay-wide bound refuses publishes on every channel until read")
{
  Fixture f;
  RelayHubOptions options;
  options.max_held = 100'000;
  RelayHub hub(options, f.clock, f.ids);
  auto a = hub.subscribe("a");
  auto b = hub.subscribe("b");
  const std::string body(10'000, 'x');
  std::size_t held = 0;
  bool refused = false;
  for (int i = 0; i < 20 && !refused; ++i) {
    const auto outcome = hub.publish(i % 2 ? "a" : "b", request("/", body));
    if (outcome.event) {
      ++held;
    } else {
      CHECK(outcome.refused == RelayPublish::Refusal::relay_full);
      CHECK(outcome.started_refusing);
      refused = true;
    }
  }
  REQUIRE(refused);
  CHECK(hub.held_bytes() <= options.max_held);
  // Another channel, even one without subscribers, cannot take more either...
  const auto elsewhere = hub.publish("c", request("/", body));
  CHECK(elsewhere.refused == RelayPublish::Refusal::relay_full);
  CHECK_FALSE(elsewhere.started_refusing); // once, not per request
  CHECK(hub.next(*b, 0ms).events.size() + hub.next(*a, 0ms).events.size() == held);
  // ...until the subscribers read: then read events make room.
  const auto after = hub.publish("c", request("/", body));
  REQUIRE(after.event);
  CHECK(after.relay_resumed);
  CHECK(hub.held_bytes() <= options.max_held);
}

TEST_CASE("relay hub: the relay-wide bound evicts from channels nobody subscribes to")
{
  Fixture f;
  RelayHubOptions options;
  options.max_held = 100'000;
  RelayHub hub(options, f.clock, f.ids);
  const std::string body(10'000, 'x');
  for (int i = 0; i < 50; ++i) {
    const auto outcome = hub.publish("c" + std::to_string(i), request("/", body));
    CHECK(outcome.refused == RelayPublish::Refusal::none);
    CHECK(hub.held_bytes() <= options.max_held);
  }
}

TEST_CASE("relay hub: a relay restart is a possible gap for resuming subscribers")
{
  Fixture f;
  std::string seen;
  {
    RelayHub first({}, f.clock, f.ids);
    seen = first.publish("chan", request("/")).event->id;
  }
  f.clock.advance(1s);
  RelayHub second({}, f.clock, f.ids);
  const auto after = second.publish("chan", request("/")).event;
  auto sub = second.subscribe("chan", seen);
  CHECK(sub->gap());
  CHECK(ids_of(second.next(*sub, 0ms).events) == std::vector<std::string>{after->id});
  // An id from this process is not.
  CHECK_FALSE(second.subscribe("chan", after->id)->gap());
}

TEST_CASE("relay hub: sync replies: first wins, later ones conflict, strays are not found")
{
  Fixture f;
  RelayHub hub({}, f.clock, f.ids);
  const auto event = hub.publish("chan", request("/"), true).event;
  auto sender =
      std::async(std::launch::async, [&] { return hub.await_reply("chan", event->id, 30s); });
  CHECK(sender.wait_for(20ms) == std::future_status::timeout);
  core::RelayReply reply{201, {{"Content-Type", "text/plain"}}, "made"};
  CHECK(hub.post_reply("chan", event->id, reply) == ReplyOutcome::accepted);
  REQUIRE(sender.wait_for(10s) == std::future_status::ready);
  const RelayAwait answer = sender.get();
  CHECK(answer.kind == RelayAwait::Kind::reply);
  CHECK(answer.reply.status == 201);
  CHECK(answer.reply.headers == reply.headers);
  CHECK(answer.reply.body == "made");
  CHECK(hub.post_reply("chan", event->id, {500, {}, ""}) == ReplyOutcome::duplicate);

  // Two replies before the sender looks: the first one is what it gets.
  const auto quick = hub.publish("chan", request("/"), true).event;
  CHECK(hub.post_reply("chan", quick->id, {202, {}, "first"}) == ReplyOutcome::accepted);
  CHECK(hub.post_reply("chan", quick->id, {203, {}, "second"}) == ReplyOutcome::duplicate);
  const RelayAwait quick_answer = hub.await_reply("chan", quick->id, 0ms);
  CHECK(quick_answer.kind == RelayAwait::Kind::reply);
  CHECK(quick_answer.reply.body == "first");

  // No reply in time: the sender times out, and a late reply finds nobody.
  const auto late = hub.publish("chan", request("/"), true).event;
  CHECK(hub.await_reply("chan", late->id, 10ms).kind == RelayAwait::Kind::timeout);
  CHECK(hub.post_reply("chan", late->id, {200, {}, ""}) == ReplyOutcome::not_waiting);
  // Events published without a waiter, unknown ids and channels are not waiting.
  const auto plain = hub.publish("chan", request("/")).event;
  CHECK(hub.post_reply("chan", plain->id, {200, {}, ""}) == ReplyOutcome::not_waiting);
  CHECK(hub.post_reply("nope", plain->id, {200, {}, ""}) == ReplyOutcome::not_waiting);
  CHECK(hub.post_reply("chan", "evt_x", {200, {}, ""}) == ReplyOutcome::not_waiting);
  // The event stays in the backlog either way.
  CHECK(hub.recent("chan", 10).size() == 4);
}

TEST_CASE("relay hub: shutdown wakes subscribers and waiting senders")
{
  Fixture f;
  RelayHub hub({}, f.clock, f.ids);
  auto sub = hub.subscribe("chan");
  const auto event = hub.publish("chan", request("/"), true).event;
  CHECK(hub.next(*sub, 0ms).events.size() == 1);
  auto reader = std::async(std::launch::async, [&] { return hub.next(*sub, 60s); });
  auto sender =
      std::async(std::launch::async, [&] { return hub.await_reply("chan", event->id, 60s); });
  CHECK(reader.wait_for(20ms) == std::future_status::timeout);
  hub.shutdown();
  REQUIRE(reader.wait_for(10s) == std::future_status::ready);
  CHECK(reader.get().closed);
  REQUIRE(sender.wait_for(10s) == std::future_status::ready);
  CHECK(sender.get().kind == RelayAwait::Kind::shutdown);
  hub.shutdown(); // idempotent
  // Channels made after the shutdown are closed too.
  auto late = hub.subscribe("late");
  CHECK(hub.next(*late, 0ms).closed);
}

TEST_CASE("relay hub: concurrent publishers and subscribers: all events, in order, once")
{
  test::StepClock clock;
  core::RandomIdSource ids;
  RelayHubOptions options;
  options.backlog_count = 100'000;
  RelayHub hub(options, clock, ids);
  constexpr int k_publishers = 4;
  constexpr int k_each = 500;
  constexpr int k_subscribers = 3;

  std::vector<std::unique_ptr<engine::RelaySubscription>> subs;
  for (int i = 0; i < k_subscribers; ++i) {
    subs.push_back(hub.subscribe("chan"));
  }
  // One subscriber that never reads: publishing must not wait for it.
  auto idle = hub.subscribe("chan");

  std::vector<std::future<std::vector<std::string>>> readers;
  for (auto& sub : subs) {
    readers.push_back(std::async(std::launch::async, [&hub, s = sub.get()] {
      std::vector<std::string> got;
      while (got.size() < static_cast<std::size_t>(k_publishers * k_each)) {
        auto batch = hub.next(*s, 10s);
        if (batch.events.empty() || batch.gap) {
          break;
        }
        for (const auto& event : batch.events) {
          got.push_back(event->id);
        }
      }
      return got;
    }));
  }
  std::vector<std::thread> publishers;
  for (int p = 0; p < k_publishers; ++p) {
    publishers.emplace_back([&hub, p] {
      for (int i = 0; i < k_each; ++i) {
        (void)hub.publish("chan", request("/p" + std::to_string(p))).event;
      }
    });
  }
  for (auto& thread : publishers) {
    thread.join();
  }
  for (auto& reader : readers) {
    REQUIRE(reader.wait_for(30s) == std::future_status::ready);
    const auto got = reader.get();
    CHECK(got.size() == static_cast<std::size_t>(k_publishers * k_each));
    CHECK(std::is_sorted(got.begin(), got.end()));
    CHECK(std::set<std::string>(got.begin(), got.end()).size() == got.size());
  }
  CHECK(hub.next(*idle, 0ms).events.size() == static_cast<std::size_t>(k_publishers * k_each));
}
