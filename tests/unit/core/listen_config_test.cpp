#include "cli/secret_arg.hpp"
#include "core/listen_config.hpp"

#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

using rag::Error;
using rag::core::ListenConfig;
using rag::core::load_listen_config;
using rag::core::parse_listen_config;

namespace {

using rag::test::TempDir;

// The repository's docs/, found from this source file's path (CMake compiles with
// absolute paths), so the test reads the example that ships.
std::string
example_path()
{
  const std::filesystem::path here(__FILE__);
  return (here.parent_path().parent_path().parent_path().parent_path() / "docs" /
          "rag.example.json")
      .string();
}

ListenConfig
parse_ok(std::string_view text)
{
  auto config = parse_listen_config(text, "rag.json");
  if (!config) {
    FAIL_CHECK(config.error().message);
  }
  REQUIRE(config.ok());
  return std::move(config).value();
}

Error
error_of(std::string_view text)
{
  auto config = parse_listen_config(text, "rag.json");
  REQUIRE_MESSAGE(!config.ok(), text);
  return config.error();
}

const char* const k_target_hint =
    "give a port (3000), HOST:PORT[/PATH] or an http:// or https:// URL";

} // namespace

TEST_CASE("listen config: the shipped example parses into the documented rules")
{
  auto loaded = load_listen_config(example_path());
  REQUIRE_MESSAGE(loaded.ok(), (loaded.ok() ? "" : loaded.error().message));
  const ListenConfig& config = *loaded;

  REQUIRE(config.forward_to.size() == 1);
  CHECK(config.forward_to[0].url == "http://127.0.0.1:3000");
  REQUIRE(config.respond.has_value());
  CHECK(config.respond->primary);

  REQUIRE(config.routes.size() == 3);
  const auto& github = config.routes[0];
  CHECK(github.name == "routes[0]");
  CHECK(github.path_prefix == "/github");
  CHECK(github.path_glob.empty());
  CHECK(github.method == "POST");
  REQUIRE(github.headers.size() == 1);
  CHECK(github.headers[0].name == "X-GitHub-Event");
  CHECK(github.headers[0].value == "push");
  CHECK_FALSE(github.headers[0].any_value);
  REQUIRE(github.targets.size() == 2);
  CHECK(github.targets[0].url == "http://127.0.0.1:3001");
  CHECK(github.targets[1].url == "http://127.0.0.1:4000/hooks");
  CHECK(github.strip_prefix);
  CHECK_FALSE(github.respond.has_value());

  const auto& shopify = config.routes[1];
  CHECK(shopify.name == "routes[1]");
  CHECK(shopify.path_prefix.empty());
  CHECK(shopify.path_glob == "/shops/*/orders");
  CHECK(shopify.method.empty());
  REQUIRE(shopify.headers.size() == 1);
  CHECK(shopify.headers[0].name == "X-Shopify-Topic");
  CHECK(shopify.headers[0].any_value);
  REQUIRE(shopify.targets.size() == 1);
  CHECK(shopify.targets[0].url == "http://127.0.0.1:3002");
  REQUIRE(shopify.respond.has_value());
  CHECK_FALSE(shopify.respond->primary);
  CHECK(shopify.respond->status == 202);
  CHECK_FALSE(shopify.strip_prefix);

  const auto& stripe = config.routes[2];
  CHECK(stripe.path_prefix == "/stripe"); // trailing '/' removed, as --route does
  REQUIRE(stripe.targets.size() == 1);
  CHECK(stripe.targets[0].url == "https://localhost:8443/webhooks/stripe");
  REQUIRE(stripe.respond.has_value());
  CHECK(stripe.respond->status == 200);
  CHECK_FALSE(stripe.respond->primary);

  // The documented walk-through: a GitHub push goes to the forward_to target
  // first (the primary), then to the route's two targets.
  const rag::core::RoutingTable table{config.forward_to, config.routes};
  const auto push =
      rag::core::route_request(table, "POST", "/github/app?x=1", {{"x-github-event", "push"}});
  REQUIRE(push.destinations.size() == 3);
  CHECK(push.destinations[0].target.url == "http://127.0.0.1:3000");
  CHECK(push.destinations[1].target.url == "http://127.0.0.1:3001");
  CHECK(push.destinations[1].strip_prefix == "/github");
  CHECK(push.destinations[2].target.url == "http://127.0.0.1:4000/hooks");
  CHECK_FALSE(push.respond.has_value());

  const auto order = rag::core::route_request(table, "POST", "/shops/acme/orders",
                                              {{"X-Shopify-Topic", "orders/create"}});
  REQUIRE(order.destinations.size() == 2);
  CHECK(order.destinations[1].target.url == "http://127.0.0.1:3002");
  CHECK(order.destinations[1].strip_prefix.empty());
  REQUIRE(order.respond.has_value());
  CHECK(order.respond->status == 202);
}

TEST_CASE("listen config: the smallest configs")
{
  const ListenConfig empty = parse_ok("{}");
  CHECK(empty.forward_to.empty());
  CHECK(empty.routes.empty());
  CHECK_FALSE(empty.respond.has_value());

  const ListenConfig targets_only = parse_ok(R"({"forward_to": ["3000", "localhost:4000/in"]})");
  REQUIRE(targets_only.forward_to.size() == 2);
  CHECK(targets_only.forward_to[1].url == "http://localhost:4000/in");

  // A route without conditions matches everything; "/" normalises to the empty prefix.
  const ListenConfig catch_all = parse_ok(R"({"routes": [{"to": ["3000"]}, {"path": "/",
                                              "to": ["3001"]}]})");
  REQUIRE(catch_all.routes.size() == 2);
  CHECK(catch_all.routes[0].path_prefix.empty());
  CHECK(catch_all.routes[0].strip_prefix);
  CHECK(catch_all.routes[1].path_prefix.empty());
  CHECK(catch_all.routes[1].name == "routes[1]");

  const ListenConfig status = parse_ok(R"({"respond": 599, "routes": [{"to": ["1"],
                                           "respond": "primary"}]})");
  REQUIRE(status.respond.has_value());
  CHECK_FALSE(status.respond->primary);
  CHECK(status.respond->status == 599);
  REQUIRE(status.routes[0].respond.has_value());
  CHECK(status.routes[0].respond->primary);

  // Header conditions keep file order; "" is an exact (empty) value, not "any".
  const ListenConfig headers =
      parse_ok(R"({"routes": [{"headers": {"B": "", "a": true, "C": "x y"}, "to": ["1"]}]})");
  const auto& matches = headers.routes[0].headers;
  REQUIRE(matches.size() == 3);
  CHECK(matches[0].name == "B");
  CHECK(matches[0].value.empty());
  CHECK_FALSE(matches[0].any_value);
  CHECK(matches[1].name == "a");
  CHECK(matches[1].any_value);
  CHECK(matches[2].value == "x y");

  // A UTF-8 byte order mark is tolerated.
  CHECK(parse_ok("\xEF\xBB\xBF{}").routes.empty());
}

TEST_CASE("listen config: field errors name the file, the place and the problem")
{
  struct Row
  {
    const char* text;
    const char* message;
    const char* hint;
  };
  const std::vector<Row> rows = {
      // Targets, through core::parse_target.
      {R"({"forward_to": ["htp://x"]})",
       "rag.json: forward_to[0]: invalid target 'htp://x': scheme 'htp' is not supported",
       k_target_hint},
      {R"({"routes": [{"to": ["1"]}, {"to": ["2", "htp://x"]}]})",
       "rag.json: routes[1].to[1]: invalid target 'htp://x': scheme 'htp' is not supported",
       k_target_hint},
      {R"({"routes": [{"to": ["99999"]}]})",
       "rag.json: routes[0].to[0]: invalid target '99999': port '99999' is not a number from 1 "
       "to 65535",
       k_target_hint},
      {R"({"routes": [{"to": [3000]}]})",
       "rag.json: routes[0].to[0]: expected a target string, got a number",
       "write it as a string: \"3000\""},
      {R"({"routes": [{"to": "3000"}]})",
       "rag.json: routes[0].to: expected an array of targets, got a string",
       "write a list, even of one target: [\"3000\"]"},
      {R"({"forward_to": {"a": 1}})",
       "rag.json: forward_to: expected an array of targets, got an object", ""},
      {R"({"routes": [{"to": []}]})", "rag.json: routes[0].to: needs at least one target",
       "for example [\"3000\"]"},
      {R"({"routes": [{"path": "/a"}]})", "rag.json: routes[0]: missing key 'to'",
       "every route needs its targets, for example \"to\": [\"3000\"]"},
      // Unknown keys.
      {R"({"routes": [{"methd": "POST", "to": ["1"]}]})",
       "rag.json: routes[0]: unknown key 'methd'", "did you mean 'method'?"},
      {R"({"rotues": []})", "rag.json: unknown key 'rotues'", "did you mean 'routes'?"},
      {R"({"listen": 7777})", "rag.json: unknown key 'listen'",
       "known keys: forward_to, respond, routes"},
      {R"({"routes": [{"to": ["1"], "stripprefix": false}]})",
       "rag.json: routes[0]: unknown key 'stripprefix'", "did you mean 'strip_prefix'?"},
      // Types.
      {"[]", "rag.json: expected an object at the top level, got an array", ""},
      {R"({"routes": {}})", "rag.json: routes: expected an array of routes, got an object", ""},
      {R"({"routes": ["3000"]})", "rag.json: routes[0]: expected an object, got a string", ""},
      {R"({"routes": [{"to": ["1"], "method": 1}]})",
       "rag.json: routes[0].method: expected a string, got a number", ""},
      {R"({"routes": [{"to": ["1"], "path": null}]})",
       "rag.json: routes[0].path: expected a string, got null", ""},
      {R"({"routes": [{"to": ["1"], "strip_prefix": "no"}]})",
       "rag.json: routes[0].strip_prefix: expected true or false, got a string", ""},
      {R"({"routes": [{"to": ["1"], "headers": ["X-A"]}]})",
       "rag.json: routes[0].headers: expected an object of header names, got an array",
       "for example {\"X-GitHub-Event\": \"push\", \"X-Hub-Signature-256\": true}"},
      {R"({"routes": [{"to": ["1"], "headers": {"X-A": false}}]})",
       "rag.json: routes[0].headers.X-A: expected a string (this exact value) or true (any "
       "value), got false",
       ""},
      {R"({"routes": [{"to": ["1"], "headers": {"X-A": 1}}]})",
       "rag.json: routes[0].headers.X-A: expected a string (this exact value) or true (any "
       "value), got a number",
       ""},
      // Values.
      {R"({"routes": [{"to": ["1"], "headers": {"X A": true}}]})",
       "rag.json: routes[0].headers: 'X A' is not a valid header name", ""},
      {R"({"routes": [{"to": ["1"], "method": "PO ST"}]})",
       "rag.json: routes[0].method: 'PO ST' is not a valid HTTP method", ""},
      {R"({"routes": [{"to": ["1"], "method": ""}]})",
       "rag.json: routes[0].method: '' is not a valid HTTP method", ""},
      {R"({"routes": [{"to": ["1"], "path": "github"}]})",
       "rag.json: routes[0].path: 'github' must start with '/'", ""},
      {R"({"routes": [{"to": ["1"], "path": "/a?b=1"}]})",
       "rag.json: routes[0].path: '/a?b=1' must be a plain path (no spaces, '?' or '#')", ""},
      {R"({"routes": [{"to": ["1"], "path": "/a b"}]})",
       "rag.json: routes[0].path: '/a b' must be a plain path (no spaces, '?' or '#')", ""},
      {R"({"routes": [{"to": ["1"], "glob": "shops/*"}]})",
       "rag.json: routes[0].glob: 'shops/*' must start with '/'",
       "a glob matches the whole path, for example \"/shops/*/orders\""},
      {R"({"routes": [{"to": ["1"], "glob": "/a\tb"}]})",
       "rag.json: routes[0].glob: '/a?b' must not contain spaces or control characters", ""},
      // respond.
      {R"({"respond": "fast"})",
       "rag.json: respond: expected \"primary\" or a status from 200 to 599, got 'fast'", ""},
      {R"({"respond": "202"})",
       "rag.json: respond: expected \"primary\" or a status from 200 to 599, got '202'", ""},
      {R"({"respond": 202.5})",
       "rag.json: respond: expected \"primary\" or a status from 200 to 599, got a number", ""},
      {R"({"respond": true})",
       "rag.json: respond: expected \"primary\" or a status from 200 to 599, got true", ""},
      {R"({"respond": 600})", "rag.json: respond: status 600 is not from 200 to 599", ""},
      {R"({"respond": 199})", "rag.json: respond: status 199 is not from 200 to 599", ""},
      {R"({"respond": -202})", "rag.json: respond: status -202 is not from 200 to 599", ""},
      {R"({"respond": 18446744073709551615})",
       "rag.json: respond: status 18446744073709551615 is not from 200 to 599", ""},
      {R"({"routes": [{"to": ["1"], "respond": 100}]})",
       "rag.json: routes[0].respond: status 100 is not from 200 to 599", ""},
      // Duplicate keys (nlohmann alone would keep the last one silently).
      {R"({"respond": 202, "respond": "primary"})", "rag.json: duplicate key 'respond'", ""},
      {R"({"routes": [{"to": ["1"], "to": ["2"]}]})", "rag.json: routes[0]: duplicate key 'to'",
       ""},
      {R"({"routes": [{"to": ["1", "2"], "headers": {"A": [[1], {}]}},
                      {"to": ["3"], "headers": {"X-A": "1", "X-A": "2"}}]})",
       "rag.json: routes[1].headers: duplicate key 'X-A'", ""},
      // The first problem in file order wins.
      {R"({"routes": [{"to": [], "methd": "x"}]})",
       "rag.json: routes[0].to: needs at least one target", "for example [\"3000\"]"},
      {R"({"routes": [{"methd": "x", "to": []}]})", "rag.json: routes[0]: unknown key 'methd'",
       "did you mean 'method'?"},
      // Control bytes in the file never break the one-line message.
      {R"({"a\nb": 1})", "rag.json: unknown key 'a?b'", "known keys: forward_to, respond, routes"},
      {R"({"forward_to": ["30\r\n00"]})",
       "rag.json: forward_to[0]: invalid target '30??00': it contains spaces or control "
       "characters",
       k_target_hint},
  };
  for (const Row& row : rows) {
    CAPTURE(row.text);
    const Error err = error_of(row.text);
    CHECK(err.message == row.message);
    CHECK(err.hint == row.hint);
    CHECK(err.exit_code == 2);
  }
}

TEST_CASE("listen config: JSON syntax errors give FILE:LINE:COLUMN and a short reason")
{
  struct Row
  {
    const char* text;
    const char* message;
  };
  const std::vector<Row> rows = {
      {"", "rag.json:1:1: invalid JSON (unexpected end of input; expected '[', '{', or a "
           "literal)"},
      {"{", "rag.json:1:2: invalid JSON (unexpected end of input; expected string literal)"},
      {"{\n", "rag.json:2:1: invalid JSON (unexpected end of input; expected string literal)"},
      {R"({"respond": 202,})",
       "rag.json:1:17: invalid JSON (unexpected '}'; expected string literal)"},
      {R"({"respond": tru})", "rag.json:1:16: invalid JSON (invalid literal)"},
      // nlohmann reports the last byte it read: the end of the unexpected token.
      {R"({"respond" 202})", "rag.json:1:14: invalid JSON (unexpected number literal; expected "
                             "':')"},
      {"{} x", "rag.json:1:4: invalid JSON (invalid literal; expected end of input)"},
      {"{\n  \"routes\": [1,\n  2,,\n]}",
       "rag.json:3:5: invalid JSON (unexpected ','; expected '[', '{', or a literal)"},
      // The offending LF is on line 1 (nlohmann itself would say "line 2, column 0").
      {"{\"a\": \"x\ny\"}",
       "rag.json:1:9: invalid JSON (invalid string: control character U+000A (LF) must be "
       "escaped to \\u000A or \\n)"},
      {"{\"a\": \"\xff\"}", "rag.json:1:8: invalid JSON (invalid string: ill-formed UTF-8 byte)"},
      {"{\"respond\": 1e999}", "rag.json:1:17: invalid JSON (number overflow parsing '1e999')"},
      {"{\"a\": 1, // no comments\n}",
       "rag.json:1:10: invalid JSON (invalid literal; expected string literal)"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.text);
    const Error err = error_of(row.text);
    CHECK(err.message == row.message);
    CHECK(err.hint.empty());
    CHECK(err.exit_code == 2);
  }
}

TEST_CASE("listen config: a JSON error's line and column with one byte per line")
{
  // [[1],{},,2] with a newline after every byte: the second ',' of ",," is byte 8
  // of the compact text, so it is on line 9, column 1.
  const std::string compact = "[[1],{},,2]";
  std::string spread;
  for (char c : compact) {
    spread += c;
    spread += '\n';
  }
  CHECK(error_of(spread).message ==
        "rag.json:9:1: invalid JSON (unexpected ','; expected '[', '{', or a literal)");

  // CRLF line ends: the CR counts as a byte of its line, the LF ends it.
  std::string crlf;
  for (char c : compact) {
    crlf += c;
    crlf += "\r\n";
  }
  CHECK(error_of(crlf).message ==
        "rag.json:9:1: invalid JSON (unexpected ','; expected '[', '{', or a literal)");

  // Deep in a long line: the column counts bytes from the line start.
  const std::string long_line = "{\"routes\": [\n" + std::string(100, ' ') + "{\"to\": [\"1\"],}]}";
  CHECK(error_of(long_line).message ==
        "rag.json:2:114: invalid JSON (unexpected '}'; expected string literal)");
}

TEST_CASE("listen config: loading a file")
{
  const TempDir dir;

  SUBCASE("missing file: a runtime error naming the path and the reason")
  {
    const std::string path = dir.file("nope.json");
    auto config = load_listen_config(path);
    REQUIRE_FALSE(config.ok());
    CHECK(config.error().message ==
          "cannot read config file '" + path + "': No such file or directory");
    CHECK(config.error().exit_code == 1);
  }

  SUBCASE("a directory: a runtime error")
  {
    auto config = load_listen_config(dir.path());
    REQUIRE_FALSE(config.ok());
    CHECK(config.error().message == "cannot read config file '" + dir.path() + "': Is a directory");
    CHECK(config.error().exit_code == 1);
  }

  SUBCASE("errors are named by the path")
  {
    const std::string path = dir.file("rag.json");
    {
      std::ofstream out(path, std::ios::binary);
      out << "{\n  \"routes\": [\n    {\"to\": [\"3000\"], \"methd\": \"GET\"}\n  ]\n}\n";
    }
    auto config = load_listen_config(path);
    REQUIRE_FALSE(config.ok());
    CHECK(config.error().message == path + ": routes[0]: unknown key 'methd'");
    CHECK(config.error().exit_code == 2);

    {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out << "{\n  \"routes\": [\n    {\"to\": [\"3000\"]}\n  \n}\n";
    }
    config = load_listen_config(path);
    REQUIRE_FALSE(config.ok());
    CHECK(config.error().message == path + ":5:1: invalid JSON (unexpected '}'; expected ']')");
  }

  SUBCASE("a good file loads")
  {
    const std::string path = dir.file("ok.json");
    {
      std::ofstream out(path, std::ios::binary);
      out << R"({"forward_to": ["3000"], "respond": 202})";
    }
    auto config = load_listen_config(path);
    REQUIRE(config.ok());
    REQUIRE(config->forward_to.size() == 1);
    CHECK(config->respond->status == 202);
  }
}

TEST_CASE("listen config: per-route verify")
{
  ::setenv("RAG_TEST_ROUTE_SECRET", "s3cret", 1);
  auto config = rag::core::parse_listen_config(
      R"({"routes": [{"path": "/gh", "to": ["3000"],
                    "verify": ["github=env:RAG_TEST_ROUTE_SECRET", "stripe=whsec"]},
                   {"path": "/x", "to": ["3001"], "verify": "shopify=abc"}]})",
      "rag.json", rag::cli::resolve_secret_arg);
  REQUIRE(config.ok());
  REQUIRE(config->routes[0].verify.size() == 2);
  CHECK(config->routes[0].verify[0].provider == rag::core::Provider::github);
  CHECK(config->routes[0].verify[0].secret == "s3cret");
  CHECK(config->routes[0].verify[1].provider == rag::core::Provider::stripe);
  REQUIRE(config->routes[1].verify.size() == 1);
  CHECK(config->routes[1].verify[0].provider == rag::core::Provider::shopify);

  auto bad = rag::core::parse_listen_config(
      R"({"routes": [{"path": "/gh", "to": ["3000"], "verify": ["gitlab=x"]}]})", "rag.json");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().exit_code == 2);
  CHECK(bad.error().message.find("rag.json: routes[0].verify[0]") == 0);

  auto wrong_type = rag::core::parse_listen_config(
      R"({"routes": [{"path": "/gh", "to": ["3000"], "verify": [42]}]})", "rag.json");
  REQUIRE_FALSE(wrong_type.ok());
  CHECK(wrong_type.error().message.find("expected \"PROVIDER=SECRET\"") != std::string::npos);
}
