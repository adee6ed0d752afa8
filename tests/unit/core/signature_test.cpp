#include "core/id.hpp"
#include "core/signature.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <string>

using namespace rag;
using core::Headers;
using core::Provider;
using core::SignatureSpec;

// Every expected signature below was computed independently with
// `openssl dgst -sha256 -hmac SECRET` (or -sha1, -sha512, -binary | base64) over the
// exact signed string, before being written down here.

namespace {

// The ids sign() makes up (a missing webhook-id) need not be predictable here.
rag::core::RandomIdSource sign_ids;

constexpr std::int64_t k_second = 1'000'000;

SignatureSpec
spec_of(const std::string& text)
{
  auto spec = core::parse_signature_spec(text);
  if (!spec.ok()) {
    FAIL(spec.error().message);
  }
  return *spec;
}

std::string
verdict(const std::string& spec, const Headers& headers, std::string_view body, std::int64_t now_s)
{
  return core::verify(spec_of(spec), headers, body, now_s * k_second).text();
}

// Return `text` with its byte at `index` changed.
std::string
flip(std::string text, std::size_t index)
{
  text[index] = static_cast<char>(text[index] ^ 1);
  return text;
}

class FixedIds final : public core::IdSource
{
public:
  std::string next(std::string_view prefix, std::int64_t) override
  {
    ++calls;
    return std::string(prefix) + "_FIXED";
  }
  int calls = 0;
};

const std::string*
value_of(const Headers& headers, const std::string& name)
{
  for (const auto& [key, value] : headers) {
    if (key == name) {
      return &value;
    }
  }
  return nullptr;
}

std::size_t
count_of(const Headers& headers, const std::string& lower_name)
{
  std::size_t n = 0;
  for (const auto& [key, value] : headers) {
    std::string lower = key;
    for (auto& c : lower) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    n += lower == lower_name ? 1 : 0;
  }
  return n;
}

} // namespace

TEST_CASE("signature: GitHub's documented example (It's a Secret to Everybody)")
{
  const std::string secret = "github=It's a Secret to Everybody";
  const std::string body = "Hello, World!";
  const std::string sig256 =
      "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
  const Headers headers = {{"X-Hub-Signature-256", sig256}};
  CHECK(verdict(secret, headers, body, 0) == "valid");
  // Header names are matched ignoring case; hex digits in either case.
  std::string upper_hex = sig256;
  for (std::size_t i = 7; i < upper_hex.size(); ++i) {
    upper_hex[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(upper_hex[i])));
  }
  CHECK(verdict(secret, {{"x-hub-signature-256", upper_hex}}, body, 0) == "valid");

  CHECK(verdict(secret, headers, flip(body, 0), 0) == "invalid: signature mismatch");
  CHECK(verdict(secret, headers, body + " ", 0) == "invalid: signature mismatch");
  CHECK(verdict("github=It's a Secret to Everybodz", headers, body, 0) ==
        "invalid: signature mismatch");
  CHECK(verdict(secret, {{"X-Hub-Signature-256", flip(sig256, 20)}}, body, 0) ==
        "invalid: signature mismatch");
  CHECK(verdict(secret, {{"X-Hub-Signature-256", sig256.substr(7)}}, body, 0) ==
        "invalid: malformed signature header");
  CHECK(verdict(secret, {{"X-Hub-Signature-256", "sha256=zz"}}, body, 0) ==
        "invalid: malformed signature header");
  CHECK(verdict(secret, {{"Content-Type", "application/json"}}, body, 0) ==
        "invalid: no signature header");

  // The legacy SHA-1 header alone is accepted; with both, SHA-256 decides.
  const std::string sig1 = "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59";
  CHECK(verdict(secret, {{"X-Hub-Signature", sig1}}, body, 0) == "valid");
  CHECK(verdict(secret, {{"X-Hub-Signature", sig1}}, flip(body, 3), 0) ==
        "invalid: signature mismatch");
  CHECK(verdict(secret, {{"X-Hub-Signature", sig1}, {"X-Hub-Signature-256", flip(sig256, 9)}}, body,
                0) == "invalid: signature mismatch");

  // Signing reproduces the documented header; the sha1 one only when it was there.
  auto signed_headers =
      core::sign(spec_of(secret), {{"Content-Type", "application/json"}}, body, 0, sign_ids);
  REQUIRE(signed_headers.ok());
  CHECK(*signed_headers ==
        Headers{{"Content-Type", "application/json"}, {"X-Hub-Signature-256", sig256}});
  signed_headers =
      core::sign(spec_of(secret), {{"X-Hub-Signature", "sha1=old"}, {"x-hub-signature-256", "old"}},
                 body, 0, sign_ids);
  REQUIRE(signed_headers.ok());
  CHECK(*signed_headers == Headers{{"X-Hub-Signature", sig1}, {"x-hub-signature-256", sig256}});
}

TEST_CASE("signature: the Standard Webhooks spec test vector")
{
  const std::string secret = "standard=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const std::string body = R"({"test": 2432232314})";
  const std::string id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
  const std::int64_t ts = 1614265330;
  const std::string sig = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
  const auto headers_with = [&](const std::string& ts_text, const std::string& signature) {
    return Headers{
        {"webhook-id", id}, {"webhook-timestamp", ts_text}, {"webhook-signature", signature}};
  };
  const Headers headers = headers_with(std::to_string(ts), sig);
  CHECK(verdict(secret, headers, body, ts) == "valid");
  CHECK(verdict(secret, headers, body, ts + 299) == "valid");
  CHECK(verdict(secret, headers, body, ts - 299) == "valid");
  // Without the whsec_ prefix the secret is the same base64 key.
  CHECK(verdict("standard=MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", headers, body, ts) == "valid");

  CHECK(verdict(secret, headers, flip(body, 10), ts) == "invalid: signature mismatch");
  CHECK(verdict("standard=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSx", headers, body, ts) ==
        "invalid: signature mismatch");
  CHECK(verdict(secret, headers_with(std::to_string(ts + 1), sig), body, ts) ==
        "invalid: signature mismatch");
  Headers other_id = headers;
  other_id[0].second = flip(id, 5);
  CHECK(verdict(secret, other_id, body, ts) == "invalid: signature mismatch");
  // A correct signature whose timestamp is 10 minutes old (or ahead) is a stale replay.
  CHECK(verdict(secret, headers, body, ts + 600) == "invalid: timestamp outside tolerance");
  CHECK(verdict(secret, headers, body, ts - 600) == "invalid: timestamp outside tolerance");

  // Several signatures in one header (key rotation): any v1 that matches is enough.
  CHECK(verdict(secret, headers_with(std::to_string(ts), "v1a,xyz v1,AAAA " + sig), body, ts) ==
        "valid");
  CHECK(verdict(secret, headers_with(std::to_string(ts), "v1,AAAA v1,BBBB"), body, ts) ==
        "invalid: signature mismatch");
  CHECK(verdict(secret, headers_with(std::to_string(ts), "v2,abcd"), body, ts) ==
        "invalid: malformed signature header");
  CHECK(verdict(secret, headers_with("yesterday", sig), body, ts) ==
        "invalid: malformed timestamp");
  CHECK(verdict(secret, {{"webhook-id", id}, {"webhook-signature", sig}}, body, ts) ==
        "invalid: no timestamp header");
  CHECK(verdict(secret, {{"webhook-timestamp", "1"}, {"webhook-signature", sig}}, body, ts) ==
        "invalid: no id header");
  CHECK(verdict(secret, {{"webhook-id", id}}, body, ts) == "invalid: no signature header");

  // The Svix spelling of the same headers.
  const Headers svix = {
      {"svix-id", id}, {"svix-timestamp", std::to_string(ts)}, {"svix-signature", sig}};
  CHECK(verdict(secret, svix, body, ts) == "valid");
  CHECK(verdict("svix=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", svix, body, ts) == "valid");
  CHECK(verdict(secret, svix, flip(body, 1), ts) == "invalid: signature mismatch");

  // Signing at the vector's time with its id reproduces its signature exactly.
  FixedIds ids;
  auto resigned =
      core::sign(spec_of(secret), headers_with("0", "v1,old"), body, ts * k_second, ids);
  REQUIRE(resigned.ok());
  CHECK(*resigned == headers);
  CHECK(ids.calls == 0);
}

TEST_CASE("signature: Stripe's scheme (t=, v1= over \"t.body\")")
{
  const std::string secret = "stripe=whsec_test_secret";
  const std::string body = R"({"id":"evt_test_webhook","object":"event"})";
  const std::int64_t ts = 1492774577;
  const std::string v1 = "88a022085c6bdb887b02cb26ff76dd681234d9675c0f22844059f55552a8883a";
  const Headers headers = {{"Stripe-Signature", "t=1492774577,v1=" + v1}};
  CHECK(verdict(secret, headers, body, ts) == "valid");
  CHECK(verdict(secret, headers, body, ts + 300) == "valid");
  CHECK(verdict(secret, {{"stripe-signature", "t=1492774577, v1=00ff, v1=" + v1 + ",v0=abcd"}},
                body, ts) == "valid");

  CHECK(verdict(secret, headers, flip(body, 2), ts) == "invalid: signature mismatch");
  CHECK(verdict("stripe=whsec_test_secreT", headers, body, ts) == "invalid: signature mismatch");
  CHECK(verdict(secret, {{"Stripe-Signature", "t=1492774578,v1=" + v1}}, body, ts) ==
        "invalid: signature mismatch");
  CHECK(verdict(secret, headers, body, ts + 600) == "invalid: timestamp outside tolerance");
  CHECK(verdict(secret, {{"Stripe-Signature", "v1=" + v1}}, body, ts) ==
        "invalid: malformed signature header");
  CHECK(verdict(secret, {{"Stripe-Signature", "t=1492774577,v0=" + v1}}, body, ts) ==
        "invalid: malformed signature header");
  CHECK(verdict(secret, {{"Stripe-Signature", "t=soon,v1=" + v1}}, body, ts) ==
        "invalid: malformed timestamp");
  CHECK(verdict(secret, {}, body, ts) == "invalid: no signature header");

  // Signing: the header's structure, the documented HMAC at the vector's time, and a
  // fresh timestamp (the old header replaced in place) that verifies now.
  auto at_vector = core::sign(spec_of(secret), {}, body, ts * k_second, sign_ids);
  REQUIRE(at_vector.ok());
  CHECK(*at_vector == headers);
  const std::int64_t now = ts + 3600;
  auto fresh = core::sign(spec_of(secret),
                          {{"Host", "h"}, {"Stripe-Signature", "t=1,v1=00"}, {"Accept", "*/*"}},
                          body, now * k_second + 123, sign_ids);
  REQUIRE(fresh.ok());
  REQUIRE(fresh->size() == 3);
  CHECK((*fresh)[1].first == "Stripe-Signature");
  CHECK((*fresh)[1].second.rfind("t=" + std::to_string(now) + ",v1=", 0) == 0);
  CHECK((*fresh)[1].second.size() == std::string("t=,v1=").size() + 10 + 64);
  CHECK(core::verify(spec_of(secret), *fresh, body, now * k_second).is_valid());
  CHECK(core::verify(spec_of(secret), headers, body, now * k_second).text() ==
        "invalid: timestamp outside tolerance");
}

TEST_CASE("signature: Slack's documented example (v0:timestamp:body)")
{
  const std::string secret = "slack=8f742231b10e8888abcd99yyyzzz85a5";
  const std::string body =
      "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id="
      "G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-"
      "collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%"
      "2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121."
      "803a0bc887a14d10d2c447fce8b6703c";
  const std::int64_t ts = 1531420618;
  const std::string sig = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
  const Headers headers = {{"X-Slack-Request-Timestamp", "1531420618"}, {"X-Slack-Signature", sig}};
  CHECK(verdict(secret, headers, body, ts) == "valid");
  CHECK(verdict(secret, headers, flip(body, body.size() - 1), ts) == "invalid: signature mismatch");
  CHECK(verdict("slack=8f742231b10e8888abcd99yyyzzz85a6", headers, body, ts) ==
        "invalid: signature mismatch");
  CHECK(verdict(secret, {{"X-Slack-Request-Timestamp", "1531420619"}, {"X-Slack-Signature", sig}},
                body, ts) == "invalid: signature mismatch");
  CHECK(verdict(secret, headers, body, ts + 301) == "invalid: timestamp outside tolerance");
  CHECK(verdict(secret, {{"X-Slack-Signature", sig}}, body, ts) == "invalid: no timestamp header");
  CHECK(verdict(secret, {{"X-Slack-Request-Timestamp", "1531420618"}}, body, ts) ==
        "invalid: no signature header");
  CHECK(verdict(secret,
                {{"X-Slack-Request-Timestamp", "1531420618"}, {"X-Slack-Signature", sig.substr(3)}},
                body, ts) == "invalid: malformed signature header");

  auto resigned =
      core::sign(spec_of(secret), {{"X-Slack-Signature", "v0=00"}}, body, ts * k_second, sign_ids);
  REQUIRE(resigned.ok());
  CHECK(*resigned ==
        Headers{{"X-Slack-Signature", sig}, {"X-Slack-Request-Timestamp", "1531420618"}});
}

TEST_CASE("signature: Shopify (base64 HMAC-SHA256 of the body)")
{
  const std::string secret = "shopify=shpss_test_secret";
  const std::string body = R"({"id":820982911946154508,"email":"jon@example.com"})";
  const Headers headers = {
      {"X-Shopify-Hmac-Sha256", "LnwdZPLBbdjkBwPD/lDL1/rYEGby/GHPtL1aAH6Dxjc="}};
  CHECK(verdict(secret, headers, body, 0) == "valid");
  CHECK(verdict(secret, headers, flip(body, 7), 0) == "invalid: signature mismatch");
  CHECK(verdict("shopify=shpss_test_secreT", headers, body, 0) == "invalid: signature mismatch");
  CHECK(verdict(secret, {{"X-Shopify-Hmac-Sha256", "!!!"}}, body, 0) ==
        "invalid: malformed signature header");
  CHECK(verdict(secret, {}, body, 0) == "invalid: no signature header");
  auto signed_headers = core::sign(spec_of(secret), {}, body, 0, sign_ids);
  REQUIRE(signed_headers.ok());
  CHECK(*signed_headers == headers);
}

TEST_CASE("signature: the generic HMAC (header, algorithm, encoding, prefix)")
{
  // openssl dgst -sha512 -hmac k3y -binary | base64; openssl dgst -sha1 -hmac k3y
  const std::string sha512_b64 = "JuSf83Z2yw25qDKLDtJMsChhbbZ15zML629Z6xWJDKTf6zK9vvXWciALB0LlhDZ"
                                 "Nrys3VCgMkuMmfyycxz/+QA==";
  CHECK(verdict("hmac:X-Sig:sha512:base64=k3y", {{"x-sig", sha512_b64}}, "payload", 0) == "valid");
  CHECK(verdict("hmac:X-Sig:sha512:base64=k3y", {{"X-Sig", sha512_b64}}, "payloaD", 0) ==
        "invalid: signature mismatch");
  const std::string sha1_hex = "e10dd497e214d3c12496ef4a215a79532e324e2a";
  CHECK(verdict("hmac:X-Sig:sha1:hex:sha1==k3y", {{"X-Sig", "sha1=" + sha1_hex}}, "payload", 0) ==
        "valid");
  CHECK(verdict("hmac:X-Sig:sha1:hex:sha1==k3z", {{"X-Sig", "sha1=" + sha1_hex}}, "payload", 0) ==
        "invalid: signature mismatch");
  CHECK(verdict("hmac:X-Sig:sha1:hex:sha1==k3y", {{"X-Sig", sha1_hex}}, "payload", 0) ==
        "invalid: malformed signature header");
  CHECK(verdict("hmac:X-Sig:sha1:hex=k3y", {{"X-Other", sha1_hex}}, "payload", 0) ==
        "invalid: no signature header");

  // GitHub's example through the generic form gives GitHub's answer.
  const auto spec =
      spec_of("hmac:X-Hub-Signature-256:sha256:hex:sha256==It's a Secret to Everybody");
  auto signed_headers = core::sign(spec, {}, "Hello, World!", 0, sign_ids);
  REQUIRE(signed_headers.ok());
  CHECK(*signed_headers ==
        Headers{{"X-Hub-Signature-256",
                 "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"}});
  CHECK(core::spec_label(spec) == "hmac:X-Hub-Signature-256:sha256:hex:sha256=");
}

TEST_CASE("signature: parsing PROVIDER=SECRET")
{
  auto spec = core::parse_signature_spec("github=a=b");
  REQUIRE(spec.ok());
  CHECK(spec->provider == Provider::github);
  CHECK(spec->secret == "a=b"); // only the first '=' separates
  spec = core::parse_signature_spec("svix=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  REQUIRE(spec.ok());
  CHECK(spec->provider == Provider::standard);
  CHECK(spec->svix);
  CHECK(core::spec_label(*spec) == "svix");

  spec = core::parse_signature_spec("hmac:X-Signature:sha512:base64:v1,=s");
  REQUIRE(spec.ok());
  CHECK(spec->provider == Provider::hmac);
  CHECK(spec->header == "X-Signature");
  CHECK(spec->algorithm == util::HashAlgorithm::sha512);
  CHECK(spec->encoding == core::SignatureEncoding::base64);
  CHECK(spec->prefix == "v1,");
  CHECK(spec->secret == "s");
  spec = core::parse_signature_spec("hmac:X-Signature:sha256:hex=s==");
  REQUIRE(spec.ok());
  CHECK(spec->prefix.empty());
  CHECK(spec->secret == "s==");

  for (const char* bad : {"github", "github=", "gihtub=x", "hmac=x", "hmac:X:md5:hex=x",
                          "hmac:X:sha256:b32=x", "hmac::sha256:hex=x", "hmac:X Y:sha256:hex=x",
                          "hmac:X:sha256:hex", "standard=not base64!", "standard=whsec_"}) {
    CAPTURE(bad);
    spec = core::parse_signature_spec(bad);
    REQUIRE_FALSE(spec.ok());
    CHECK(spec.error().exit_code == 2);
  }
  spec = core::parse_signature_spec("gihtub=topsecret");
  REQUIRE_FALSE(spec.ok());
  CHECK(spec.error().hint == "did you mean 'github'?");
  CHECK(spec.error().message.find("topsecret") == std::string::npos);
  spec = core::parse_signature_spec("github");
  REQUIRE_FALSE(spec.ok());
  CHECK(spec.error().message.find("PROVIDER=SECRET") != std::string::npos);
}

TEST_CASE("signature: sign keeps the webhook id, makes one only when missing, keeps spelling")
{
  const auto spec = spec_of("standard=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  const std::int64_t now = 1700000000;
  FixedIds ids;
  const Headers captured = {{"Content-Type", "application/json"},
                            {"svix-id", "msg_original"},
                            {"svix-timestamp", "1600000000"},
                            {"svix-signature", "v1,stale"},
                            {"SVIX-SIGNATURE", "v1,duplicate"}};
  auto resigned = core::sign(spec, captured, "{}", now * k_second, ids);
  REQUIRE(resigned.ok());
  CHECK(ids.calls == 0);
  REQUIRE(resigned->size() == 4);
  CHECK(*value_of(*resigned, "svix-id") == "msg_original");
  CHECK(*value_of(*resigned, "svix-timestamp") == std::to_string(now));
  CHECK(count_of(*resigned, "svix-signature") == 1);
  CHECK(count_of(*resigned, "webhook-signature") == 0);
  CHECK(core::verify(spec, *resigned, "{}", now * k_second).is_valid());
  CHECK(core::verify(spec, captured, "{}", now * k_second).text() == "invalid: signature mismatch");

  resigned = core::sign(spec, {{"Content-Type", "application/json"}}, "{}", now * k_second, ids);
  REQUIRE(resigned.ok());
  CHECK(ids.calls == 1);
  CHECK(*value_of(*resigned, "webhook-id") == "msg_FIXED");
  CHECK(core::verify(spec, *resigned, "{}", now * k_second).is_valid());
  resigned = core::sign(spec_of("svix=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), {}, "{}",
                        now * k_second, ids);
  REQUIRE(resigned.ok());
  CHECK(value_of(*resigned, "svix-id") != nullptr);
  // The real id source makes msg_ ids too.
  resigned = core::sign(spec, {}, "{}", now * k_second, sign_ids);
  REQUIRE(resigned.ok());
  CHECK(value_of(*resigned, "webhook-id")->rfind("msg_", 0) == 0);

  SignatureSpec broken = spec;
  broken.secret = "whsec_***";
  CHECK_FALSE(core::sign(broken, {}, "{}", 0, ids).ok());
}

TEST_CASE("signature: verify_any picks the spec whose header is present")
{
  const auto github = spec_of("github=It's a Secret to Everybody");
  const auto shopify = spec_of("shopify=other");
  const Headers headers = {
      {"X-Hub-Signature-256",
       "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"}};
  CHECK(core::verify_any({shopify, github}, headers, "Hello, World!", 0).text() == "valid");
  CHECK(core::verify_any({shopify, github}, headers, "Hello, World?", 0).text() ==
        "invalid: signature mismatch");
  CHECK(core::verify_any({shopify}, headers, "Hello, World!", 0).text() ==
        "invalid: no signature header");
  CHECK(core::verify_any({}, headers, "Hello, World!", 0).text() == "unverified");
  CHECK(core::has_signature_header(github, headers));
  CHECK_FALSE(core::has_signature_header(shopify, headers));
  CHECK(core::Verdict{}.text() == "unverified");
}

TEST_CASE("signature: provider names")
{
  const auto& names = core::provider_names();
  for (const char* name : {"github", "stripe", "standard", "svix", "shopify", "slack", "hmac"}) {
    CHECK(std::find(names.begin(), names.end(), name) != names.end());
  }
  CHECK(core::provider_name(Provider::slack) == "slack");
}
