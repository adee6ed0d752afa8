#include "core/event_filter.hpp"
#include "core/log/record_parser.hpp"
#include "core/log/record_writer.hpp"

#include <doctest/doctest.h>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace {

using rag::core::Delivery;
using rag::core::DeliverySummary;
using rag::core::Event;
using rag::core::EventFilter;
using rag::core::FilterSpec;
using rag::core::Rejection;

constexpr std::int64_t k_now = 1'800'000'000'000'000; // 2027-01-15T08:00:00Z
constexpr std::int64_t k_min = 60'000'000;

Event
make_event(std::string method = "POST", std::string target = "/github/push?x=1",
           rag::core::Headers headers = {{"Host", "127.0.0.1:7777"},
                                         {"Content-Type", "application/json"},
                                         {"X-GitHub-Event", "push"}},
           std::string body = R"({"ref":"refs/heads/main"})")
{
  Event event;
  event.id = "evt_1K151Q78NBGSJ62TEXS3STCH1M";
  event.time_us = k_now - 5 * k_min;
  event.source = "listen:127.0.0.1:7777";
  event.remote = "127.0.0.1:50000";
  event.method = std::move(method);
  event.target = std::move(target);
  event.http_version = "HTTP/1.1";
  event.headers = std::move(headers);
  event.body = std::move(body);
  return event;
}

Delivery
make_delivery(std::string target, int status, std::string error = {})
{
  Delivery delivery;
  delivery.id = "dlv_1K151Q78NBGSJ62TEXS3STCH1N";
  delivery.event_id = "evt_1K151Q78NBGSJ62TEXS3STCH1M";
  delivery.time_us = k_now;
  delivery.target = std::move(target);
  delivery.status = status;
  delivery.error = std::move(error);
  return delivery;
}

EventFilter
filter(const FilterSpec& spec)
{
  auto parsed = EventFilter::parse(spec, k_now);
  REQUIRE(parsed.ok());
  return *parsed;
}

bool
matches(const FilterSpec& spec, const Event& event)
{
  return filter(spec).matches(event, DeliverySummary{});
}

FilterSpec
grep(std::string text)
{
  FilterSpec spec;
  spec.grep = std::move(text);
  return spec;
}

// Equivalent spellings of a record line that other JSON writers could produce.
std::vector<std::string>
line_variants(const std::string& line)
{
  std::vector<std::string> variants{line};
  const auto parsed = nlohmann::json::parse(line);
  variants.push_back(parsed.dump(-1, ' ', true)); // non-ASCII as \uXXXX
  std::string slashes;
  for (const char c : line) {
    slashes += c == '/' ? std::string("\\/") : std::string(1, c);
  }
  variants.push_back(slashes);
  // Every letter of the method spelled as \u00XX.
  auto method = parsed;
  std::string escaped_method;
  for (const char c : parsed["method"].get<std::string>()) {
    escaped_method += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
  }
  method.erase("method");
  std::string reordered = method.dump();
  reordered.insert(reordered.size() - 1, ",\"method\":\"" + escaped_method + "\"");
  variants.push_back(reordered);
  return variants;
}

} // namespace

TEST_CASE("an empty filter matches everything")
{
  const auto f = filter(FilterSpec{});
  CHECK(f.empty());
  CHECK(f.matches(make_event(), DeliverySummary{}));
  CHECK(f.may_match_line(rag::core::to_json_line(make_event())));
}

TEST_CASE("--method matches case-insensitively")
{
  FilterSpec spec;
  spec.method = "post";
  CHECK(matches(spec, make_event("POST")));
  CHECK(matches(spec, make_event("Post")));
  CHECK_FALSE(matches(spec, make_event("PUT")));
  CHECK_FALSE(matches(spec, make_event("POSTX")));
}

TEST_CASE("--path is a glob on the path part of the target")
{
  FilterSpec spec;
  spec.path_glob = "/github/*";
  CHECK(matches(spec, make_event("POST", "/github/push")));
  CHECK(matches(spec, make_event("POST", "/github/a/b/c?x=/y"))); // * crosses '/'
  CHECK_FALSE(matches(spec, make_event("POST", "/stripe/github/x")));
  CHECK_FALSE(matches(spec, make_event("POST", "/github")));

  spec.path_glob = "/hook";
  CHECK(matches(spec, make_event("POST", "/hook?github/x"))); // the query is not the path
  CHECK_FALSE(matches(spec, make_event("POST", "/hook/")));

  spec.path_glob = "hooks/*"; // a relative glob means a path under "/"
  CHECK(matches(spec, make_event("POST", "/hooks/x")));

  spec.path_glob = "*/push";
  CHECK(matches(spec, make_event("POST", "http://example.com/a/push?q"))); // absolute form

  spec.path_glob = "/v[12]/*";
  CHECK(matches(spec, make_event("POST", "/v2/x")));
  CHECK_FALSE(matches(spec, make_event("POST", "/v3/x")));
}

TEST_CASE("target_path strips query, fragment and authority")
{
  CHECK(rag::core::target_path("/a/b?c=d") == "/a/b");
  CHECK(rag::core::target_path("/a#frag") == "/a");
  CHECK(rag::core::target_path("http://h:1/p/q?x") == "/p/q");
  CHECK(rag::core::target_path("https://h") == "/");
  CHECK(rag::core::target_path("*") == "*");
}

TEST_CASE("--header matches a name case-insensitively and a value exactly")
{
  FilterSpec spec;
  spec.headers = {"x-github-event"};
  CHECK(matches(spec, make_event()));
  spec.headers = {"X-GitHub-Event=push"};
  CHECK(matches(spec, make_event()));
  spec.headers = {"X-GitHub-Event=Push"};
  CHECK_FALSE(matches(spec, make_event()));
  spec.headers = {"X-GitHub-Event: push"}; // curl style
  CHECK(matches(spec, make_event()));
  spec.headers = {"X-GitHub-Event=pus"};
  CHECK_FALSE(matches(spec, make_event()));
  spec.headers = {"X-Missing"};
  CHECK_FALSE(matches(spec, make_event()));
  spec.headers = {"X-GitHub-Event=push", "content-type=application/json"}; // AND
  CHECK(matches(spec, make_event()));
  spec.headers = {"X-GitHub-Event=push", "content-type=text/plain"};
  CHECK_FALSE(matches(spec, make_event()));

  spec.headers = {"X-Empty="};
  CHECK(matches(spec, make_event("POST", "/", {{"X-Empty", ""}})));
  CHECK_FALSE(matches(spec, make_event("POST", "/", {{"X-Empty", "x"}})));
  spec.headers = {"X-Sig=a=b"}; // the first '=' separates
  CHECK(matches(spec, make_event("POST", "/", {{"x-sig", "a=b"}})));
}

TEST_CASE("--grep finds text in the target, headers or body")
{
  CHECK(matches(grep("push?x"), make_event()));
  CHECK(matches(grep("application/json"), make_event()));
  CHECK(matches(grep("X-GitHub"), make_event()));
  CHECK(matches(grep("refs/heads/main"), make_event()));
  CHECK_FALSE(matches(grep("refs/heads/dev"), make_event()));
  CHECK_FALSE(matches(grep("REFS"), make_event())); // case-sensitive like grep
  const std::string binary("\x00\xff\xfe needle \x01", 12);
  CHECK(matches(grep("needle"), make_event("POST", "/", {}, binary)));
  CHECK(matches(grep(std::string("\xff\xfe", 2)), make_event("POST", "/", {}, binary)));
}

TEST_CASE("--since and --until bound the capture time")
{
  FilterSpec spec;
  spec.since = "10m";
  CHECK(matches(spec, make_event())); // 5 minutes old
  spec.since = "2m";
  CHECK_FALSE(matches(spec, make_event()));
  spec = FilterSpec{};
  spec.until = "2m";
  CHECK(matches(spec, make_event()));
  spec.until = "10m";
  CHECK_FALSE(matches(spec, make_event()));
  spec.since = "2027-01-15T07:50:00Z";
  spec.until = "2027-01-15T07:56:00Z";
  CHECK(matches(spec, make_event()));
  CHECK(filter(spec).has_time_range());
}

TEST_CASE("DeliverySummary keeps the latest outcome per target in first-attempt order")
{
  const auto a1 = make_delivery("http://a", 0, "connection refused");
  const auto a2 = make_delivery("http://a", 200);
  const auto b1 = make_delivery("http://b", 502);

  DeliverySummary forward;
  forward.add_newer(a1);
  forward.add_newer(b1);
  forward.add_newer(a2);
  REQUIRE(forward.targets().size() == 2);
  CHECK(forward.targets()[0].target == "http://a");
  CHECK(forward.targets()[0].status == 200);
  CHECK(forward.targets()[0].error.empty());
  CHECK(forward.targets()[1].status == 502);

  DeliverySummary backward; // the same deliveries read from the end of the log
  backward.add_older(a2);
  backward.add_older(b1);
  backward.add_older(a1);
  REQUIRE(backward.targets().size() == 2);
  CHECK(backward.targets()[0].target == "http://a");
  CHECK(backward.targets()[0].status == 200);
  CHECK(backward.targets()[1].target == "http://b");
}

TEST_CASE("--status looks at the latest attempt per target")
{
  const auto event = make_event();
  DeliverySummary ok;
  ok.add_newer(make_delivery("http://a", 500));
  ok.add_newer(make_delivery("http://a", 200)); // a retry succeeded
  DeliverySummary mixed;
  mixed.add_newer(make_delivery("http://a", 200));
  mixed.add_newer(make_delivery("http://b", 404));
  DeliverySummary refused;
  refused.add_newer(make_delivery("http://a", 0, "connection refused"));

  FilterSpec spec;
  spec.status = "200";
  CHECK(filter(spec).matches(event, ok));
  CHECK(filter(spec).matches(event, mixed));
  CHECK_FALSE(filter(spec).matches(event, refused));
  CHECK_FALSE(filter(spec).matches(event, DeliverySummary{})); // no deliveries: no match

  spec.status = "4xx";
  CHECK_FALSE(filter(spec).matches(event, ok));
  CHECK(filter(spec).matches(event, mixed));
  spec.status = "4XX";
  CHECK(filter(spec).matches(event, mixed));
  spec.status = "5xx";
  CHECK_FALSE(filter(spec).matches(event, ok)); // only the latest attempt counts

  spec.status = "failed";
  CHECK_FALSE(filter(spec).matches(event, ok));
  CHECK(filter(spec).matches(event, mixed));
  CHECK(filter(spec).matches(event, refused));
  CHECK_FALSE(filter(spec).matches(event, DeliverySummary{}));
  CHECK(filter(spec).has_status());
}

TEST_CASE("--status matches what rag answered a request it refused")
{
  auto too_large = make_event();
  too_large.rejected = Rejection{413, "request body too large", 0};
  auto unsigned_event = make_event();
  unsigned_event.rejected = Rejection{401, "signature invalid: no signature header", {}};
  DeliverySummary ok;
  ok.add_newer(make_delivery("http://a", 200));

  FilterSpec spec;
  spec.status = "413";
  CHECK(filter(spec).matches(too_large, DeliverySummary{}));
  CHECK_FALSE(filter(spec).matches(unsigned_event, DeliverySummary{}));
  CHECK_FALSE(filter(spec).matches(make_event(), DeliverySummary{}));
  spec.status = "4xx";
  CHECK(filter(spec).matches(too_large, DeliverySummary{}));
  CHECK(filter(spec).matches(unsigned_event, DeliverySummary{}));
  spec.status = "failed";
  CHECK(filter(spec).matches(too_large, DeliverySummary{}));
  spec.status = "2xx";
  CHECK_FALSE(filter(spec).matches(too_large, DeliverySummary{}));
  // A 401 replayed with --include-rejected: its deliveries count too.
  CHECK(filter(spec).matches(unsigned_event, ok));
  CHECK(filter(spec).matches_status(ok, 401));
  CHECK(EventFilter::refused_status(too_large) == 413);
  CHECK(EventFilter::refused_status(make_event()) == 0);
}

TEST_CASE("bad filter values are usage errors naming the flag")
{
  const auto fails = [](FilterSpec spec, const char* flag) {
    const auto parsed = EventFilter::parse(spec, k_now);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.error().exit_code == 2);
    CHECK(parsed.error().message.find(flag) != std::string::npos);
    CHECK_FALSE(parsed.error().hint.empty());
  };
  FilterSpec spec;
  spec.since = "10x";
  fails(spec, "--since");
  spec = {};
  spec.until = "tomorrow";
  fails(spec, "--until");
  spec = {};
  spec.since = "1m";
  spec.until = "1h";
  fails(spec, "--since");
  for (const char* status : {"abc", "2xxx", "6xx", "20", "600", "099", "x00"}) {
    CAPTURE(status);
    spec = {};
    spec.status = status;
    fails(spec, "--status");
  }
  spec = {};
  spec.method = "PO ST";
  fails(spec, "--method");
  for (const char* header : {"=x", "", "Bad Name=x", ":v"}) {
    CAPTURE(header);
    spec = {};
    spec.headers = {header};
    fails(spec, "--header");
  }
}

TEST_CASE("the raw prefilter rejects event lines that cannot match")
{
  const std::string line = rag::core::to_json_line(make_event());
  FilterSpec spec;
  spec.method = "PUT";
  CHECK_FALSE(filter(spec).may_match_line(line));
  spec = grep("refs/heads/dev");
  CHECK_FALSE(filter(spec).may_match_line(line));
  spec = FilterSpec{};
  spec.headers = {"X-Stripe-Signature"};
  CHECK_FALSE(filter(spec).may_match_line(line));
  spec.headers = {"X-GitHub-Event=pull_request"};
  CHECK_FALSE(filter(spec).may_match_line(line));
  spec = FilterSpec{};
  spec.path_glob = "/stripe/*";
  CHECK_FALSE(filter(spec).may_match_line(line));

  // Delivery lines always pass: the status of the events they belong to needs them.
  spec = FilterSpec{};
  spec.method = "PUT";
  CHECK(filter(spec).may_match_line(rag::core::to_json_line(make_delivery("http://a", 200))));
  CHECK(filter(spec).may_match_line("not json at all"));
}

TEST_CASE("the raw prefilter never rejects a line whose event matches")
{
  const std::string binary("\x00\xff\xfe POST needle \x1b", 16);
  const std::vector<Event> events = {
      make_event(),
      make_event("post", "/github/push"),
      make_event("PoSt", "/GitHub/Push"),
      make_event("POST", "/a\"b\\c?q=\"x\"", {{"X-Quote", "say \"hi\" \\ bye"}}, "tab\there \"q\""),
      make_event("POST", "/bin", {{"Content-Type", "application/octet-stream"}}, binary),
      make_event("POST", "/caf\xc3\xa9/\xe2\x9c\x93", {{"X-Utf8", "\xc3\xa9t\xc3\xa9"}},
                 "\xc3\xa9t\xc3\xa9 needle"),
      make_event("PUT", std::string("/raw\xff", 5), {{"X-Bad", std::string("v\xfe", 2)}}, "needle"),
      make_event("POST", "/ctl",
                 {{"X-Ctl", "a\x01"
                            "b"}},
                 "line1\nline2\r\n\x7f needle"),
  };
  std::vector<FilterSpec> specs;
  for (const char* method : {"post", "POST", "Post", "put"}) {
    FilterSpec spec;
    spec.method = method;
    specs.push_back(spec);
  }
  for (const char* glob :
       {"/github/*", "/GitHub/*", "*/push", "/caf\xc3\xa9/*", "/raw*", "/a\"b*", "/a*b\\\\c"}) {
    FilterSpec spec;
    spec.path_glob = glob;
    specs.push_back(spec);
  }
  for (const std::string& text :
       {std::string("needle"), std::string("POST needle"), std::string("\x1b", 1),
        std::string("say \"hi\""), std::string("\\ bye"), std::string("tab\there"),
        std::string("\xc3\xa9t\xc3\xa9"), std::string("/github/push"),
        std::string("a\x01"
                    "b"),
        std::string("\r\n"), std::string("\xff\xfe", 2), std::string("refs/heads")}) {
    specs.push_back(grep(text));
  }
  for (const char* header : {"x-github-event=push", "X-QUOTE=say \"hi\" \\ bye", "x-utf8",
                             "X-Utf8=\xc3\xa9t\xc3\xa9", "x-bad",
                             "X-Ctl=a\x01"
                             "b",
                             "CONTENT-TYPE=application/octet-stream"}) {
    FilterSpec spec;
    spec.headers = {header};
    specs.push_back(spec);
  }

  int matched = 0;
  for (const auto& spec : specs) {
    const auto f = filter(spec);
    for (const auto& event : events) {
      if (!f.matches_event(event)) {
        continue;
      }
      ++matched;
      for (const auto& line : line_variants(rag::core::to_json_line(event))) {
        CAPTURE(line);
        // The variant must still be the same record, or the test proves nothing.
        const auto record = rag::core::parse_record(line);
        REQUIRE(record.ok());
        REQUIRE(std::get<Event>(*record).method == event.method);
        CHECK(f.may_match_line(line));
      }
    }
  }
  CHECK(matched >= 30); // the table above really exercises matching events
}
