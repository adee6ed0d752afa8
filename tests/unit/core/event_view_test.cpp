#include "core/event_view.hpp"
#include "core/log/record_time.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <ctime>
#include <optional>
#include <string>

namespace {

using namespace rag::core;

class ScopedUtc
{
public:
  ScopedUtc()
  {
    if (const char* old = std::getenv("TZ"); old != nullptr) {
      m_old = old;
    }
    ::setenv("TZ", "UTC", 1);
    ::tzset();
  }
  ~ScopedUtc()
  {
    if (m_old) {
      ::setenv("TZ", m_old->c_str(), 1);
    } else {
      ::unsetenv("TZ");
    }
    ::tzset();
  }
  ScopedUtc(const ScopedUtc&) = delete;
  ScopedUtc& operator=(const ScopedUtc&) = delete;

private:
  std::optional<std::string> m_old;
};

std::int64_t
at(const char* rfc3339)
{
  return *parse_time_us(rfc3339);
}

Event
sample_event()
{
  Event event;
  event.id = "evt_1K151Q78NBGSJ62TEXS3STCH1M";
  event.time_us = at("2026-11-26T06:45:27.123456Z");
  event.source = "listen:127.0.0.1:7777";
  event.remote = "127.0.0.1:50000";
  event.method = "POST";
  event.target = "/github/push?x=1";
  event.http_version = "HTTP/1.1";
  event.headers = {
      {"Host", "127.0.0.1:7777"}, {"Content-Type", "application/json"}, {"X-Empty", ""}};
  event.body = R"({"ref":"refs/heads/main","n":[1,2]})";
  return event;
}

Delivery
delivery(std::string target, int status, std::string error = {})
{
  Delivery d;
  d.id = "dlv_1K151Q78NBGSJ62TEXS3STCH1N";
  d.event_id = "evt_1K151Q78NBGSJ62TEXS3STCH1M";
  d.time_us = at("2026-11-26T06:45:27.200Z");
  d.target = std::move(target);
  d.status = status;
  d.error = std::move(error);
  d.duration_us = 12'000;
  return d;
}

bool
has_escape_byte(const std::string& text)
{
  for (const char c : text) {
    const auto b = static_cast<unsigned char>(c);
    if ((b < 0x20 && c != '\n') || b == 0x7f) {
      return true;
    }
  }
  return text.find("\xc2\x9b") != std::string::npos ||
         text.find("\xe2\x80\xae") != std::string::npos;
}

} // namespace

TEST_CASE("terminal_line neutralises everything that could drive a terminal")
{
  CHECK(terminal_line("plain /path?a=b") == "plain /path?a=b");
  CHECK(terminal_line("\x1b[31mred\x1b[0m") == "\\x1b[31mred\\x1b[0m");
  CHECK(terminal_line("a\nb\rc\td\x7f") == "a\\x0ab\\x0dc\\x09d\\x7f");
  CHECK(terminal_line("caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80") ==
        "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80");
  CHECK(terminal_line("\xc2\x9b"
                      "2J") == "\\u009b2J"); // 8-bit CSI
  CHECK(terminal_line("abc\xe2\x80\xae"
                      "def") == "abc\\u202edef"); // right-to-left override
  CHECK(terminal_line("\xff\xfe"
                      "x\xc3") == "\\xff\\xfex\\xc3");       // invalid UTF-8
  CHECK(terminal_line("\xed\xa0\x80") == "\\xed\\xa0\\x80"); // a surrogate
  CHECK(terminal_line(std::string("a\0b", 3)) == "a\\x00b");
}

TEST_CASE("terminal_text keeps line structure but nothing else")
{
  CHECK(terminal_text("a\nb\tc\r\nd") == "a\nb\tc\r\nd");
  CHECK(terminal_text("over\rwrite") == "over\\x0dwrite");
  CHECK(terminal_text("\x1b]0;title\x07") == "\\x1b]0;title\\x07");
}

TEST_CASE("fit_width cuts on characters and marks the cut")
{
  CHECK(fit_width("/short", 10) == "/short");
  CHECK(fit_width("/0123456789", 6) == "/0123…");
  CHECK(display_width("/0123…") == 6);
  CHECK(fit_width("/caf\xc3\xa9\xc3\xa9\xc3\xa9", 6) == "/caf\xc3\xa9…");
  CHECK(fit_width("abc", 0).empty());
}

TEST_CASE("format_table_time shows the date only for other days")
{
  const ScopedUtc utc;
  const auto t = at("2026-11-26T06:45:27.123456Z");
  CHECK(format_table_time(t, at("2026-11-26T23:00:00Z")) == "06:45:27.123");
  CHECK(format_table_time(t, at("2026-11-27T00:00:01Z")) == "2026-11-26 06:45:27.123");
  CHECK(format_table_time(at("2025-11-26T06:45:27Z"), t) == "2025-11-26 06:45:27.000");
}

TEST_CASE("a table row shows time, short id, method, path, size, statuses and verdict")
{
  const ScopedUtc utc;
  const auto now = at("2026-11-26T12:00:00Z");
  DeliverySummary deliveries;
  deliveries.add_newer(delivery("http://a", 200));
  deliveries.add_newer(delivery("http://b", 502));
  deliveries.add_newer(delivery("http://c", 0, "connection refused"));
  const TableRow row = make_table_row(sample_event(), deliveries, now);
  CHECK(row.time == "06:45:27.123");
  CHECK(row.id == "evt_1K151Q78NBGSJ6");
  CHECK(row.size == "35 B");
  CHECK(row.sig == "-");

  const TableLayout layout = layout_table({row}, 0);
  CHECK(render_table_header(layout, false) ==
        "TIME          ID                  METHOD  PATH              SIZE  STATUS       SIG");
  CHECK(render_table_row(row, layout, false) ==
        "06:45:27.123  evt_1K151Q78NBGSJ6  POST    /github/push?x=1  35 B  200 502 ERR  -");

  const std::string colored = render_table_row(row, layout, true);
  CHECK(colored.find("\x1b[32m200\x1b[0m") != std::string::npos);
  CHECK(colored.find("\x1b[31m502\x1b[0m") != std::string::npos);
  CHECK(colored.find("\x1b[31mERR\x1b[0m") != std::string::npos);

  DeliverySummary redirect;
  redirect.add_newer(delivery("http://a", 301));
  redirect.add_newer(delivery("http://b", 404));
  const std::string classes =
      render_table_row(make_table_row(sample_event(), redirect, now), layout, true);
  CHECK(classes.find("\x1b[36m301\x1b[0m") != std::string::npos);
  CHECK(classes.find("\x1b[33m404\x1b[0m") != std::string::npos);
}

TEST_CASE("a row without deliveries or verdict shows dashes, and a verdict when present")
{
  const ScopedUtc utc;
  Event event = sample_event();
  event.verdict = "valid";
  const TableRow row = make_table_row(event, DeliverySummary{}, at("2026-11-26T12:00:00Z"));
  const TableLayout layout = layout_table({row}, 0);
  CHECK(render_table_row(row, layout, false) ==
        "06:45:27.123  evt_1K151Q78NBGSJ6  POST    /github/push?x=1  35 B  -       valid");
}

TEST_CASE("captured bytes in a row cannot inject terminal escapes")
{
  Event event = sample_event();
  event.method = "P\x1b[2JST";
  event.target = "/x\x1b]0;pwned\x07?\r\xc2\x9b\xe2\x80\xae";
  event.verdict = "in\x1b[5mvalid";
  const TableRow row = make_table_row(event, DeliverySummary{}, event.time_us);
  const TableLayout layout = layout_table({row}, 0);
  const std::string line = render_table_row(row, layout, false);
  CHECK_FALSE(has_escape_byte(line));
  CHECK(line.find("\\x1b]0;pwned\\x07") != std::string::npos);
}

TEST_CASE("layout_table cuts only the path to fit the terminal width")
{
  Event event = sample_event();
  event.target = "/" + std::string(200, 'p');
  const TableRow row = make_table_row(event, DeliverySummary{}, event.time_us);
  const TableLayout layout = layout_table({row}, 100);
  const std::string line = render_table_row(row, layout, false);
  CHECK(display_width(line) <= 100);
  CHECK(line.find("…") != std::string::npos);
  CHECK(line.find("POST") != std::string::npos);
  CHECK(line.find("201 B") == std::string::npos); // the size column shows the body size
  CHECK(line.find("35 B") != std::string::npos);

  const TableLayout unlimited = layout_table({row}, 0);
  CHECK(render_table_row(row, unlimited, false).find(event.target) != std::string::npos);
}

TEST_CASE("a growing (--follow) table leaves room for rows still to come")
{
  const TableLayout empty = layout_table({}, 0, true);
  CHECK(render_table_header(empty, false) ==
        "TIME          ID                  METHOD  PATH                                 SIZE  "
        "STATUS  SIG");
  Event event = sample_event();
  const TableRow row = make_table_row(event, DeliverySummary{}, event.time_us);
  CHECK(display_width(render_table_header(layout_table({row}, 120, true), false)) == 120);
  CHECK(display_width(render_table_header(layout_table({row}, 120, false), false)) < 120);
}

TEST_CASE("hex_dump matches xxd")
{
  CHECK(hex_dump("{\"a\":1}\n", 256) ==
        "00000000: 7b22 6122 3a31 7d0a                      {\"a\":1}.\n");
  CHECK(hex_dump("0123456789abcdefXYZ", 256) ==
        "00000000: 3031 3233 3435 3637 3839 6162 6364 6566  0123456789abcdef\n"
        "00000010: 5859 5a                                  XYZ\n");
  CHECK(hex_dump(std::string("\x00\xff\x1b", 3), 2) ==
        "00000000: 00ff                                     ..\n");
  CHECK(hex_dump("", 256).empty());
}

TEST_CASE("render_body: pretty JSON, safe text, or a binary summary")
{
  BodyStyle style;
  CHECK(render_body("", style).empty());
  CHECK(render_body("{\"a\":1}", style) == "{\"a\":1}\n"); // no pretty-printing asked
  style.pretty_json = true;
  CHECK(render_body("{\"z\":1,\"a\":[true,null]}", style) ==
        "{\n  \"z\": 1,\n  \"a\": [\n    true,\n    null\n  ]\n}\n");
  CHECK(render_body("{not json", style) == "{not json\n");
  CHECK(render_body("text \x1b[31m\nline\n", style) == "text \\x1b[31m\nline\n");
  CHECK(render_body("{\"s\":\"\\u001b[31m\"}", style).find('\x1b') == std::string::npos);

  const std::string binary("\x89PNG\r\n\x1a\n\x00\x00", 10);
  CHECK(render_body(binary, style) ==
        "binary body, 10 bytes\n"
        "00000000: 8950 4e47 0d0a 1a0a 0000                 .PNG......\n");
  CHECK(render_body(std::string(300, '\0'), style).find("… 44 more bytes") != std::string::npos);

  style.max_text_bytes = 4;
  style.indent = "  ";
  CHECK(render_body("abcdefgh", style) == "  abcd\n  … 4 more bytes\n");
}

TEST_CASE("format_request_head is the request head byte for byte")
{
  Event event = sample_event();
  event.headers.push_back({"X-Bin", std::string("a\x00\xff", 3)});
  const std::string expected = "POST /github/push?x=1 HTTP/1.1\n"
                               "Host: 127.0.0.1:7777\n"
                               "Content-Type: application/json\n"
                               "X-Empty: \n"
                               "X-Bin: a" +
                               std::string("\x00\xff\n", 3);
  CHECK(format_request_head(event) == expected);
}

TEST_CASE("render_delivery_line shows status, target, duration and retries")
{
  CHECK(render_delivery_line(delivery("http://127.0.0.1:3000/h", 200), false) ==
        "→ 200 http://127.0.0.1:3000/h 12ms");
  Delivery retry = delivery("http://a", 0, "connection refused");
  retry.attempt = 3;
  retry.replay = true;
  CHECK(render_delivery_line(retry, false) ==
        "→ ERR http://a 12ms (attempt 3, replay): connection refused");
  CHECK(render_delivery_line(delivery("http://a", 503), true).find("\x1b[31m503") !=
        std::string::npos);
}

TEST_CASE("the detail view shows the request, its metadata and every delivery")
{
  const ScopedUtc utc;
  Event event = sample_event();
  event.verdict = "valid";
  Delivery ok = delivery("http://127.0.0.1:3000/h", 200);
  ok.response_headers = {{"Content-Type", "text/plain"}};
  ok.response_body = "ok\x1b[2J";
  const Delivery refused = delivery("http://127.0.0.1:3001/h", 0, "connection refused");
  DetailStyle style;
  style.pretty_json = true;
  style.now_us = event.time_us;
  const std::string detail = render_event_detail(event, {ok, refused}, style);
  CHECK(detail.starts_with("POST /github/push?x=1 HTTP/1.1\n"));
  CHECK(detail.find("id       evt_1K151Q78NBGSJ62TEXS3STCH1M\n") != std::string::npos);
  CHECK(detail.find("size     35 bytes\n") != std::string::npos);
  CHECK(detail.find("2026-11-26 06:45:27.123 (2026-11-26T06:45:27.123456Z)") != std::string::npos);
  CHECK(detail.find("verdict  valid\n") != std::string::npos);
  CHECK(detail.find(
            "\nHost: 127.0.0.1:7777\nContent-Type: application/json\nX-Empty: \n\n{\n  \"ref\"") !=
        std::string::npos);
  CHECK(detail.find("→ 200 http://127.0.0.1:3000/h 12ms") != std::string::npos);
  CHECK(detail.find("  Content-Type: text/plain\n\n  ok\\x1b[2J\n") != std::string::npos);
  CHECK(detail.find("→ ERR http://127.0.0.1:3001/h 12ms: connection refused") != std::string::npos);
  CHECK_FALSE(has_escape_byte(detail));

  CHECK(render_event_detail(sample_event(), {}, style).find("no deliveries") != std::string::npos);
}

TEST_CASE("render_body: a body nested too deep for pretty-printing is shown as it is")
{
  // Pretty-printing recurses per level: 50000 levels used to overflow the stack.
  BodyStyle style;
  style.pretty_json = true;
  style.max_text_bytes = 1 << 20;
  const std::string deep = std::string(50000, '[') + std::string(50000, ']');
  CHECK(render_body(deep, style) == deep + "\n");
  const std::string objects = [] {
    std::string text;
    for (int i = 0; i < 50000; ++i) {
      text += "{\"a\":";
    }
    return text + "1" + std::string(50000, '}');
  }();
  CHECK(render_body(objects, style) == objects + "\n");
  // Within the cap it is still pretty-printed.
  CHECK(render_body("[[[1]]]", style) == "[\n  [\n    [\n      1\n    ]\n  ]\n]\n");
}

TEST_CASE("a refused event says what its sender got in STATUS, before any target's status")
{
  const ScopedUtc utc;
  const auto now = at("2026-11-26T12:00:00Z");
  Event event = sample_event();
  event.body.clear();
  event.rejected = Rejection{413, "request body too large", 0};
  const TableRow row = make_table_row(event, DeliverySummary{}, now);
  CHECK(row.refused == 413);
  const TableLayout layout = layout_table({row}, 0);
  CHECK(render_table_row(row, layout, false) ==
        "06:45:27.123  evt_1K151Q78NBGSJ6  POST    /github/push?x=1     -  413 refused  -");
  CHECK(render_table_row(row, layout, true).find("\x1b[33m413 refused\x1b[0m") !=
        std::string::npos);

  // A 401 of --reject-invalid replayed later with --include-rejected: both are shown.
  Event unsigned_event = sample_event();
  unsigned_event.verdict = "invalid: no signature header";
  unsigned_event.rejected = Rejection{401, "signature invalid: no signature header", {}};
  DeliverySummary replayed;
  replayed.add_newer(delivery("http://a", 200));
  const TableRow both = make_table_row(unsigned_event, replayed, now);
  CHECK(render_table_row(both, layout_table({both}, 0), false)
            .find("  401 refused 200  invalid: no signature header") != std::string::npos);
}

TEST_CASE("the detail view of a refused event says so, and what of its body is missing")
{
  const ScopedUtc utc;
  Event event = sample_event();
  event.body.clear();
  event.chunked = true;
  event.rejected = Rejection{413, "request body too large", 2048};
  DetailStyle style;
  style.now_us = event.time_us;
  const std::string detail = render_event_detail(event, {}, style);
  CHECK(detail.find("refused  413 request body too large\n") != std::string::npos);
  CHECK(detail.find("size     not recorded (2.0 KiB (2048 bytes) read before the refusal), sent "
                    "chunked\n") != std::string::npos);
  CHECK(detail.find("sha256") == std::string::npos);

  Event unreadable;
  unreadable.id = "evt_1K151Q78NBGSJ62TEXS3STCH1M";
  unreadable.remote = "127.0.0.1:5";
  unreadable.rejected = Rejection{400, "invalid method\x1b[2J", 0};
  const std::string nothing = render_event_detail(unreadable, {}, style);
  CHECK(nothing.starts_with("(no request line was read)\n"));
  CHECK(nothing.find("refused  400 invalid method\\x1b[2J\n") != std::string::npos);
  CHECK_FALSE(has_escape_byte(nothing));
}

TEST_CASE("the detail view shows trailers after the body, made safe")
{
  const ScopedUtc utc;
  Event event = sample_event();
  event.chunked = true;
  event.trailers = {{"X-Checksum", "abc"}, {"x-checksum", "\x1b]0;owned\x07"}};
  DetailStyle style;
  style.now_us = event.time_us;
  const std::string detail = render_event_detail(event, {}, style);
  const auto body_at = detail.find(R"({"ref")");
  const auto trailers_at = detail.find("trailers (after the body; not forwarded)\n"
                                       "X-Checksum: abc\nx-checksum: \\x1b]0;owned\\x07\n");
  REQUIRE(body_at != std::string::npos);
  REQUIRE(trailers_at != std::string::npos);
  CHECK(body_at < trailers_at);
  CHECK_FALSE(has_escape_byte(detail));
  CHECK(render_event_detail(sample_event(), {}, style).find("trailers") == std::string::npos);
}
