#include "core/routing.hpp"

#include "support/targets.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using rag::core::Headers;
using rag::core::RespondPolicy;
using rag::core::route_request;
using rag::core::RouteRule;
using rag::core::RoutingDecision;
using rag::core::RoutingTable;
using rag::core::rule_matches;
using rag::core::Target;
using rag::test::target_of;

namespace {

RouteRule
rule_to(std::vector<std::string_view> targets)
{
  RouteRule rule;
  for (auto text : targets) {
    rule.targets.push_back(target_of(text));
  }
  return rule;
}

std::vector<std::string>
urls(const RoutingDecision& decision)
{
  std::vector<std::string> out;
  for (const auto& destination : decision.destinations) {
    out.push_back(destination.target.url);
  }
  return out;
}

std::string
port_url(int port)
{
  return "http://127.0.0.1:" + std::to_string(port);
}

} // namespace

TEST_CASE("rule_matches: a rule without conditions takes every request")
{
  const RouteRule rule;
  CHECK(rule_matches(rule, "GET", "/", {}));
  CHECK(rule_matches(rule, "POST", "/a/b?c=d", {{"X-A", "1"}}));
  CHECK(rule_matches(rule, "OPTIONS", "*", {}));
}

TEST_CASE("rule_matches: path prefix only at a segment boundary")
{
  RouteRule rule;
  rule.path_prefix = "/github";
  CHECK(rule_matches(rule, "POST", "/github", {}));
  CHECK(rule_matches(rule, "POST", "/github/", {}));
  CHECK(rule_matches(rule, "POST", "/github/app/hook", {}));
  CHECK(rule_matches(rule, "POST", "/github?x=1", {}));
  CHECK_FALSE(rule_matches(rule, "POST", "/githubx", {}));
  CHECK_FALSE(rule_matches(rule, "POST", "/git", {}));
  CHECK_FALSE(rule_matches(rule, "POST", "/other/github", {}));
  CHECK_FALSE(rule_matches(rule, "POST", "/GitHub", {}));    // paths are case-sensitive
  CHECK_FALSE(rule_matches(rule, "POST", "/x?/github", {})); // the query is not the path
}

TEST_CASE("rule_matches: path glob on the path without the query")
{
  RouteRule rule;
  rule.path_glob = "/shops/*/orders";
  CHECK(rule_matches(rule, "POST", "/shops/acme/orders", {}));
  CHECK(rule_matches(rule, "POST", "/shops/acme/orders?page=2", {}));
  // No FNM_PATHNAME, like `rag inspect --path`: '*' crosses '/'.
  CHECK(rule_matches(rule, "POST", "/shops/a/b/orders", {}));
  CHECK_FALSE(rule_matches(rule, "POST", "/shops/acme/orders/1", {}));
  CHECK_FALSE(rule_matches(rule, "POST", "/shops/orders", {}));
  CHECK_FALSE(rule_matches(rule, "POST", "/x/shops/acme/orders", {}));

  rule.path_glob = "/v?/[ab]*";
  CHECK(rule_matches(rule, "GET", "/v1/alpha", {}));
  CHECK(rule_matches(rule, "GET", "/v2/b?q=1", {}));
  CHECK_FALSE(rule_matches(rule, "GET", "/v10/alpha", {}));
  CHECK_FALSE(rule_matches(rule, "GET", "/v1/cat", {}));
}

TEST_CASE("rule_matches: method ignores ASCII case")
{
  RouteRule rule;
  rule.method = "post";
  CHECK(rule_matches(rule, "POST", "/", {}));
  CHECK(rule_matches(rule, "Post", "/", {}));
  CHECK_FALSE(rule_matches(rule, "GET", "/", {}));
  CHECK_FALSE(rule_matches(rule, "POSTX", "/", {}));
}

TEST_CASE("rule_matches: header conditions")
{
  RouteRule present;
  present.headers.push_back({"X-Shopify-Topic", "", true});
  CHECK(present.headers[0].any_value);
  CHECK(rule_matches(present, "POST", "/", {{"x-shopify-topic", "orders/create"}}));
  CHECK(rule_matches(present, "POST", "/", {{"X-SHOPIFY-TOPIC", ""}}));
  CHECK_FALSE(rule_matches(present, "POST", "/", {}));
  CHECK_FALSE(rule_matches(present, "POST", "/", {{"X-Shopify-Topics", "a"}}));

  RouteRule equal;
  equal.headers.push_back({"X-GitHub-Event", "push", false});
  CHECK(rule_matches(equal, "POST", "/", {{"x-github-event", "push"}}));
  CHECK_FALSE(rule_matches(equal, "POST", "/", {{"X-GitHub-Event", "Push"}})); // values exact
  CHECK_FALSE(rule_matches(equal, "POST", "/", {{"X-GitHub-Event", "pushed"}}));
  CHECK_FALSE(rule_matches(equal, "POST", "/", {{"X-GitHub-Event", ""}}));
  // Any one occurrence of a repeated header may satisfy the condition.
  CHECK(rule_matches(equal, "POST", "/",
                     {{"X-GitHub-Event", "ping"}, {"Host", "h"}, {"X-GitHub-Event", "push"}}));

  // An empty value without any_value means "present and empty".
  RouteRule empty;
  empty.headers.push_back({"X-Empty", "", false});
  CHECK(rule_matches(empty, "POST", "/", {{"X-Empty", ""}}));
  CHECK_FALSE(rule_matches(empty, "POST", "/", {{"X-Empty", "x"}}));
  CHECK_FALSE(rule_matches(empty, "POST", "/", {}));
}

TEST_CASE("rule_matches: every set condition must hold")
{
  RouteRule rule;
  rule.path_prefix = "/hooks";
  rule.path_glob = "*/orders";
  rule.method = "POST";
  rule.headers = {{"X-A", "1", false}, {"X-B", "", true}};
  const Headers good = {{"X-B", "z"}, {"X-A", "1"}};
  CHECK(rule_matches(rule, "post", "/hooks/orders", good));
  CHECK_FALSE(rule_matches(rule, "GET", "/hooks/orders", good));
  CHECK_FALSE(rule_matches(rule, "POST", "/other/orders", good));
  CHECK_FALSE(rule_matches(rule, "POST", "/hooks/refunds", good));
  CHECK_FALSE(rule_matches(rule, "POST", "/hooks/orders", {{"X-A", "1"}}));
  CHECK_FALSE(rule_matches(rule, "POST", "/hooks/orders", {{"X-B", "z"}, {"X-A", "2"}}));
}

TEST_CASE("route_request: forward_to first, then each matching route in order")
{
  RoutingTable table;
  table.forward_to = {target_of("3000"), target_of("3001")};
  RouteRule github = rule_to({"4000", "http://127.0.0.1:4001/gh"});
  github.path_prefix = "/github";
  RouteRule posts = rule_to({"5000"});
  posts.method = "POST";
  RouteRule stripe = rule_to({"6000"});
  stripe.path_prefix = "/stripe";
  table.routes = {github, posts, stripe};

  const auto decision = route_request(table, "POST", "/github/push?x=1", {});
  CHECK(urls(decision) == std::vector<std::string>{port_url(3000), port_url(3001), port_url(4000),
                                                   "http://127.0.0.1:4001/gh", port_url(5000)});
  // forward_to targets keep the whole path; route targets strip the route's prefix.
  CHECK(decision.destinations[0].strip_prefix.empty());
  CHECK(decision.destinations[1].strip_prefix.empty());
  CHECK(decision.destinations[2].strip_prefix == "/github");
  CHECK(decision.destinations[3].strip_prefix == "/github");
  CHECK(decision.destinations[4].strip_prefix.empty()); // no prefix to strip
  CHECK_FALSE(decision.respond.has_value());

  CHECK(urls(route_request(table, "GET", "/stripe/evt", {})) ==
        std::vector<std::string>{port_url(3000), port_url(3001), port_url(6000)});

  // With no forward_to the first matching route's first target is the primary.
  table.forward_to.clear();
  CHECK(urls(route_request(table, "GET", "/stripe", {})) ==
        std::vector<std::string>{port_url(6000)});
  CHECK(route_request(table, "GET", "/nothing", {}).destinations.empty());
  CHECK(route_request(RoutingTable{}, "POST", "/", {}).destinations.empty());
}

TEST_CASE("route_request: strip_prefix false keeps the incoming path")
{
  RouteRule rule = rule_to({"3000"});
  rule.path_prefix = "/github";
  rule.strip_prefix = false;
  const auto decision = route_request(RoutingTable{{}, {rule}}, "POST", "/github/x", {});
  REQUIRE(decision.destinations.size() == 1);
  CHECK(decision.destinations[0].strip_prefix.empty());
}

TEST_CASE("route_request: a target URL listed twice is delivered once, at its first place")
{
  RoutingTable table;
  table.forward_to = {target_of("3000"), target_of("http://127.0.0.1:3000")};
  RouteRule first = rule_to({"4000", "3000"});
  first.path_prefix = "/a";
  RouteRule second = rule_to({"127.0.0.1:4000", "5000", "4000"});
  table.routes = {first, second};

  const auto decision = route_request(table, "POST", "/a/b", {});
  CHECK(urls(decision) == std::vector<std::string>{port_url(3000), port_url(4000), port_url(5000)});
  // The surviving copy is the first one: forward_to's (nothing stripped) for 3000,
  // the first route's ("/a" stripped) for 4000.
  CHECK(decision.destinations[0].strip_prefix.empty());
  CHECK(decision.destinations[1].strip_prefix == "/a");
  CHECK(decision.destinations[2].strip_prefix.empty());

  // Different paths on one host:port are different targets.
  RoutingTable paths;
  paths.forward_to = {target_of("127.0.0.1:3000/a"), target_of("127.0.0.1:3000/b"),
                      target_of("http://127.0.0.1:3000/a")};
  CHECK(urls(route_request(paths, "POST", "/", {})) ==
        std::vector<std::string>{"http://127.0.0.1:3000/a", "http://127.0.0.1:3000/b"});
}

TEST_CASE("route_request: the first matching route that sets respond wins")
{
  RouteRule quiet = rule_to({"3000"});
  quiet.path_prefix = "/quiet";
  quiet.respond = RespondPolicy{false, 204};
  RouteRule plain = rule_to({"3001"});
  RouteRule accepted = rule_to({"3002"});
  accepted.respond = RespondPolicy{false, 202};
  RouteRule primary = rule_to({"3003"});
  primary.respond = RespondPolicy{true, 200};
  const RoutingTable table{{}, {quiet, plain, accepted, primary}};

  // "/other" does not match the first route, so its 204 does not count.
  const auto other = route_request(table, "POST", "/other", {});
  REQUIRE(other.respond.has_value());
  CHECK_FALSE(other.respond->primary);
  CHECK(other.respond->status == 202);
  CHECK(urls(other) == std::vector<std::string>{port_url(3001), port_url(3002), port_url(3003)});

  const auto quiet_decision = route_request(table, "POST", "/quiet/x", {});
  REQUIRE(quiet_decision.respond.has_value());
  CHECK(quiet_decision.respond->status == 204);

  const RoutingTable primary_first{{}, {primary, accepted}};
  const auto decision = route_request(primary_first, "POST", "/", {});
  REQUIRE(decision.respond.has_value());
  CHECK(decision.respond->primary);

  const RoutingTable none{{target_of("3000")}, {plain}};
  CHECK_FALSE(route_request(none, "POST", "/", {}).respond.has_value());
}
