#include "core/id.hpp"
#include "core/samples.hpp"
#include "core/signature.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>
#include <string>

using namespace rag;
using core::FieldSet;
using core::Sample;
using Json = nlohmann::ordered_json;

namespace {

// The ids sign() makes up (a missing webhook-id) need not be predictable here.
rag::core::RandomIdSource sign_ids;

constexpr std::int64_t k_now_us = 1'764'139'527'123'456; // 2025-11-26T06:45:27Z

// A deterministic "random" source (a simple LCG), so renders are reproducible.
core::SampleContext
fixed_context(std::uint64_t seed = 1)
{
  auto state = std::make_shared<std::uint64_t>(seed);
  return {k_now_us, [state] {
            *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
            return *state >> 11;
          }};
}

Sample
sample_named(const std::string& name)
{
  auto sample = core::find_sample(name);
  if (!sample.ok()) {
    FAIL(sample.error().message);
  }
  return *sample;
}

core::RenderedSample
render(const std::string& name, const std::vector<std::string>& sets = {})
{
  std::vector<FieldSet> parsed;
  for (const auto& text : sets) {
    auto set = core::parse_field_set(text);
    if (!set.ok()) {
      FAIL(set.error().message);
    }
    parsed.push_back(*set);
  }
  auto rendered = core::render_sample(sample_named(name), parsed, fixed_context());
  if (!rendered.ok()) {
    FAIL(rendered.error().message);
  }
  return *rendered;
}

Result<core::RenderedSample>
try_render(const std::string& name, const std::string& set_text)
{
  auto set = core::parse_field_set(set_text);
  if (!set.ok()) {
    return set.error();
  }
  return core::render_sample(sample_named(name), {*set}, fixed_context());
}

const std::string&
header(const core::Headers& headers, const std::string& name)
{
  static const std::string none = "<missing>";
  for (const auto& [key, value] : headers) {
    if (key == name) {
      return value;
    }
  }
  return none;
}

// True for a lower-case version-4 UUID (std::regex is avoided: GCC 12 warns inside it
// under the sanitizers).
bool
is_uuid(const std::string& text)
{
  if (text.size() != 36) {
    return false;
  }
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return text[14] == '4' && std::string_view("89ab").find(text[19]) != std::string_view::npos;
}

const std::vector<std::string> k_required = {"github.push",
                                             "github.pull_request.opened",
                                             "github.ping",
                                             "stripe.payment_intent.succeeded",
                                             "stripe.checkout.session.completed",
                                             "stripe.customer.subscription.updated",
                                             "shopify.orders.create",
                                             "slack.event_callback",
                                             "standard.example"};

} // namespace

TEST_CASE("samples: every file parses and the required samples exist")
{
  auto samples = core::load_samples();
  REQUIRE(samples.ok());
  std::set<std::string> names;
  for (const auto& sample : *samples) {
    CAPTURE(sample.name);
    names.insert(sample.name);
    CHECK_FALSE(sample.description.empty());
    CHECK(sample.description.find('\n') == std::string::npos);
    CHECK(sample.name.rfind(std::string(core::provider_name(sample.provider)) + ".", 0) == 0);
  }
  for (const auto& name : k_required) {
    CHECK_MESSAGE(names.count(name) == 1, name);
  }
  CHECK(std::is_sorted(samples->begin(), samples->end(),
                       [](const Sample& a, const Sample& b) { return a.name < b.name; }));
}

TEST_CASE("samples: each renders to JSON with every placeholder filled, signed as it verifies")
{
  for (const auto& name : k_required) {
    CAPTURE(name);
    const Sample sample = sample_named(name);
    const auto rendered = render(name);
    const Json body = Json::parse(rendered.body, nullptr, false);
    REQUIRE_FALSE(body.is_discarded());
    CHECK(body.is_object());
    CHECK(rendered.body.find("{{") == std::string::npos);
    for (const auto& [key, value] : rendered.headers) {
      CHECK(value.find("{{") == std::string::npos);
    }
    // Rendering is a function of the context: the same context gives the same bytes.
    const auto again = core::render_sample(sample, {}, fixed_context()).value();
    CHECK((again.body == rendered.body && again.headers == rendered.headers));
    // ... and its ids are random: another seed gives other ids (in the headers at least).
    const auto other = core::render_sample(sample, {}, fixed_context(2)).value();
    CHECK((other.body != rendered.body || other.headers != rendered.headers));

    core::SignatureSpec spec;
    spec.provider = sample.provider;
    spec.secret = std::string(core::default_test_secret(sample.provider));
    auto signed_headers = core::sign(spec, rendered.headers, rendered.body, k_now_us, sign_ids);
    REQUIRE(signed_headers.ok());
    // Signature headers are filled where the template put them: no header is added.
    CHECK(signed_headers->size() == rendered.headers.size());
    for (const auto& [key, value] : *signed_headers) {
      CHECK_MESSAGE(!value.empty(), key);
    }
    CHECK(core::verify(spec, *signed_headers, rendered.body, k_now_us).text() == "valid");
    std::string tampered = rendered.body;
    tampered[tampered.size() / 2] = static_cast<char>(tampered[tampered.size() / 2] ^ 1);
    CHECK(core::verify(spec, *signed_headers, tampered, k_now_us).text() ==
          "invalid: signature mismatch");
    // The test secret is a valid spec for its provider.
    CHECK(core::parse_signature_spec(std::string(core::provider_name(sample.provider)) + "=" +
                                     spec.secret)
              .ok());

    switch (sample.provider) {
    case core::Provider::github:
      CHECK(header(rendered.headers, "X-GitHub-Event") == name.substr(7, name.find('.', 7) - 7));
      CHECK(is_uuid(header(rendered.headers, "X-GitHub-Delivery")));
      CHECK(header(rendered.headers, "User-Agent").rfind("GitHub-Hookshot/", 0) == 0);
      CHECK(header(rendered.headers, "Content-Type") == "application/json");
      CHECK(header(rendered.headers, "X-GitHub-Hook-ID") != "<missing>");
      CHECK(header(*signed_headers, "X-Hub-Signature").rfind("sha1=", 0) == 0);
      CHECK(header(*signed_headers, "X-Hub-Signature-256").rfind("sha256=", 0) == 0);
      break;
    case core::Provider::stripe:
      CHECK(header(rendered.headers, "User-Agent") ==
            "Stripe/1.0 (+https://stripe.com/docs/webhooks)");
      CHECK(sample.pretty);
      CHECK(rendered.body.rfind("{\n  \"id\": \"evt_", 0) == 0);
      CHECK(body["id"].get<std::string>().size() == 4 + 24);
      CHECK(body["created"].get<std::int64_t>() == k_now_us / 1'000'000);
      CHECK(body["type"].get<std::string>() == name.substr(7));
      CHECK(body["object"].get<std::string>() == "event");
      break;
    case core::Provider::shopify:
      CHECK(header(rendered.headers, "X-Shopify-Topic") == "orders/create");
      CHECK(header(rendered.headers, "X-Shopify-Shop-Domain").find(".myshopify.com") !=
            std::string::npos);
      CHECK(is_uuid(header(rendered.headers, "X-Shopify-Webhook-Id")));
      CHECK(header(rendered.headers, "X-Shopify-API-Version") != "<missing>");
      CHECK(body["id"].is_number_integer());
      CHECK(body["admin_graphql_api_id"].get<std::string>() ==
            "gid://shopify/Order/" + std::to_string(body["id"].get<std::int64_t>()));
      break;
    case core::Provider::slack:
      CHECK(header(*signed_headers, "X-Slack-Request-Timestamp") ==
            std::to_string(k_now_us / 1'000'000));
      CHECK(header(*signed_headers, "X-Slack-Signature").rfind("v0=", 0) == 0);
      CHECK(body["type"].get<std::string>() == "event_callback");
      CHECK(body["event_time"].get<std::int64_t>() == k_now_us / 1'000'000);
      break;
    case core::Provider::standard:
      CHECK(header(rendered.headers, "webhook-id").rfind("msg_", 0) == 0);
      CHECK(header(*signed_headers, "webhook-id") == header(rendered.headers, "webhook-id"));
      CHECK(header(*signed_headers, "webhook-signature").rfind("v1,", 0) == 0);
      break;
    case core::Provider::hmac: FAIL("no generic sample expected");
    }
    if (sample.provider != core::Provider::stripe) {
      CHECK(rendered.body.find('\n') == std::string::npos); // compact, as those providers send
    }
  }
}

TEST_CASE("samples: named placeholders share one value; times come from the context")
{
  const Json push = Json::parse(render("github.push").body);
  const std::string after = push["after"].get<std::string>();
  CHECK(after.size() == 40);
  CHECK(push["head_commit"]["id"].get<std::string>() == after);
  CHECK(push["commits"][0]["id"].get<std::string>() == after);
  CHECK(push["before"].get<std::string>() != after);
  CHECK(push["compare"].get<std::string>().find(after) != std::string::npos);
  CHECK(push["head_commit"]["timestamp"].get<std::string>() == "2025-11-26T06:45:27Z");
  CHECK(push["repository"]["pushed_at"].get<std::int64_t>() == 1'764'139'527);

  const Json session = Json::parse(render("stripe.checkout.session.completed").body);
  CHECK(session["data"]["object"]["expires_at"].get<std::int64_t>() == 1'764'139'527 + 86280);
  CHECK(session["data"]["object"]["created"].get<std::int64_t>() == 1'764'139'527 - 120);
}

TEST_CASE("samples: --set edits fields by dotted path")
{
  auto rendered = render("stripe.payment_intent.succeeded",
                         {"data.object.amount=5000", "data.object.currency=eur",
                          "data.object.livemode=true", "data.object.description=null",
                          "data.object.metadata.order_id=\"77\"", "data.object.metadata.new.deep=1",
                          "data.object.payment_method_types.0=sepa_debit", "data.object.note=a=b"});
  const Json body = Json::parse(rendered.body);
  const Json& object = body["data"]["object"];
  CHECK(object["amount"].get<int>() == 5000);
  CHECK(object["currency"].get<std::string>() == "eur");
  CHECK(object["livemode"].get<bool>());
  CHECK(object["description"].is_null());
  CHECK(object["metadata"]["order_id"].get<std::string>() == "77"); // quoted: stays a string
  CHECK(object["metadata"]["new"]["deep"].get<int>() == 1);
  CHECK(object["payment_method_types"][0].get<std::string>() == "sepa_debit");
  CHECK(object["note"].get<std::string>() == "a=b");
  // An edited key keeps its place; a new one goes last.
  std::vector<std::string> keys;
  for (const auto& item : object.items()) {
    keys.push_back(item.key());
  }
  CHECK(keys[1] == "object");
  CHECK(keys[2] == "amount");
  CHECK(keys.back() == "note");

  rendered =
      render("shopify.orders.create", {"line_items.1.sku=NEW-SKU", "line_items.0.quantity=3"});
  const Json order = Json::parse(rendered.body);
  CHECK(order["line_items"][1]["sku"].get<std::string>() == "NEW-SKU");
  CHECK(order["line_items"][0]["quantity"].get<int>() == 3);

  auto result = try_render("shopify.orders.create", "line_items.5.sku=x");
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().exit_code == 2);
  CHECK(result.error().message ==
        "cannot set 'line_items.5.sku': index 5 is out of range ('line_items' has 2 items)");
  result = try_render("shopify.orders.create", "line_items.first.sku=x");
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().message.find("is not an index") != std::string::npos);
  result = try_render("shopify.orders.create", "email.domain=x");
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().message == "cannot set 'email.domain': 'email' is a string");

  for (const char* bad : {"amount", "=5", "a..b=1", ".a=1", "a.=1"}) {
    CAPTURE(bad);
    auto set = core::parse_field_set(bad);
    REQUIRE_FALSE(set.ok());
    CHECK(set.error().exit_code == 2);
  }
  auto set = core::parse_field_set("data.object.amount=");
  REQUIRE(set.ok());
  CHECK(set->steps == std::vector<std::string>{"data", "object", "amount"});
  CHECK(set->value.empty());
}

TEST_CASE("samples: unknown names get a did-you-mean")
{
  auto sample = core::find_sample("github.psuh");
  REQUIRE_FALSE(sample.ok());
  CHECK(sample.error().exit_code == 2);
  CHECK(sample.error().message == "unknown sample 'github.psuh'");
  CHECK(sample.error().hint == "did you mean 'github.push'?");
  sample = core::find_sample("nothing-like-it-at-all");
  REQUIRE_FALSE(sample.ok());
  CHECK(sample.error().hint.find("rag trigger --list") != std::string::npos);
}

TEST_CASE("samples: placeholder mistakes in a sample are errors, not crashes")
{
  Sample sample;
  sample.name = "test.broken";
  sample.body_template = R"({"a":"{{nope}}"})";
  CHECK_FALSE(core::render_sample(sample, {}, fixed_context()).ok());
  sample.body_template = R"({"a":"{{hex:0}}"})";
  CHECK_FALSE(core::render_sample(sample, {}, fixed_context()).ok());
  sample.body_template = R"({"a":"{{hex:4"})";
  CHECK_FALSE(core::render_sample(sample, {}, fixed_context()).ok());
  sample.body_template = R"({"a":"x{{digits:3}}","b":"{{digits:3}}","c":"{{unix}}.5"})";
  auto rendered = core::render_sample(sample, {}, fixed_context());
  REQUIRE(rendered.ok());
  const Json body = Json::parse(rendered->body);
  CHECK(body["a"].is_string());
  CHECK(body["a"].get<std::string>().size() == 4);
  CHECK(body["b"].is_number_integer());
  CHECK(body["b"].get<int>() >= 100);
  CHECK(body["c"].get<std::string>() == "1764139527.5");
}
