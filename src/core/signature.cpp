#include "core/signature.hpp"

#include "core/http_syntax.hpp"
#include "core/id.hpp"
#include "util/bytes.hpp"
#include "util/text.hpp"

#include <fmt/core.h>

#include <optional>

namespace rag::core {

namespace {

constexpr std::string_view k_github_sha256 = "X-Hub-Signature-256";
constexpr std::string_view k_github_sha1 = "X-Hub-Signature";
constexpr std::string_view k_stripe = "Stripe-Signature";
constexpr std::string_view k_shopify = "X-Shopify-Hmac-Sha256";
constexpr std::string_view k_slack_signature = "X-Slack-Signature";
constexpr std::string_view k_slack_timestamp = "X-Slack-Request-Timestamp";
constexpr std::string_view k_whsec = "whsec_";

// The three Standard Webhooks headers in one spelling ("webhook-" or "svix-").
struct StandardNames
{
  std::string id;
  std::string timestamp;
  std::string signature;
};

StandardNames
standard_names(bool svix)
{
  const std::string base = svix ? "svix-" : "webhook-";
  return {base + "id", base + "timestamp", base + "signature"};
}

// Decode hex digits (either case); an odd length or a non-hex byte gives false.
bool
hex_decode(std::string_view text, std::string& out)
{
  if (text.size() % 2 != 0) {
    return false;
  }
  out.clear();
  out.reserve(text.size() / 2);
  for (std::size_t i = 0; i < text.size(); i += 2) {
    const int hi = http::hex_value(text[i]);
    const int lo = http::hex_value(text[i + 1]);
    if (hi < 0 || lo < 0) {
      return false;
    }
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return true;
}

// Parse Unix seconds (digits only; at most 12 of them so the microseconds fit).
bool
parse_unix_seconds(std::string_view text, std::int64_t& seconds)
{
  text = http::trim_ows(text);
  if (text.empty() || text.size() > 12) {
    return false;
  }
  std::int64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') {
      return false;
    }
    value = value * 10 + (c - '0');
  }
  seconds = value;
  return true;
}

bool
within_tolerance(std::int64_t seconds, std::int64_t now_us)
{
  const std::int64_t delta = now_us - seconds * 1'000'000;
  return delta <= k_signature_tolerance_us && delta >= -k_signature_tolerance_us;
}

Verdict
valid()
{
  return {Verdict::Kind::valid, {}};
}

Verdict
invalid(std::string reason)
{
  return {Verdict::Kind::invalid, std::move(reason)};
}

// The Standard Webhooks key: the secret after "whsec_", base64-decoded.
bool
standard_key(std::string_view secret, std::string& key)
{
  if (secret.substr(0, k_whsec.size()) == k_whsec) {
    secret.remove_prefix(k_whsec.size());
  }
  auto decoded = util::base64_decode(secret);
  if (!decoded || decoded->empty()) {
    return false;
  }
  key = std::move(*decoded);
  return true;
}

// Check a "PREFIX<hex>" value against the expected raw digest.
Verdict
check_hex_value(std::string_view value, std::string_view prefix, std::string_view expected)
{
  value = http::trim_ows(value);
  if (value.substr(0, prefix.size()) != prefix) {
    return invalid("malformed signature header");
  }
  std::string got;
  if (!hex_decode(value.substr(prefix.size()), got)) {
    return invalid("malformed signature header");
  }
  return util::constant_time_equals(got, expected) ? valid() : invalid("signature mismatch");
}

Verdict
verify_github(const SignatureSpec& spec, const Headers& headers, std::string_view body)
{
  // The SHA-256 header wins when both are present: the legacy SHA-1 one is only a
  // fallback for senders that send nothing else.
  if (const auto* value = find_header(headers, k_github_sha256)) {
    return check_hex_value(*value,
                           "sha256=", util::hmac(util::HashAlgorithm::sha256, spec.secret, body));
  }
  if (const auto* value = find_header(headers, k_github_sha1)) {
    return check_hex_value(*value,
                           "sha1=", util::hmac(util::HashAlgorithm::sha1, spec.secret, body));
  }
  return invalid("no signature header");
}

Verdict
verify_stripe(const SignatureSpec& spec, const Headers& headers, std::string_view body,
              std::int64_t now_us)
{
  const auto* value = find_header(headers, k_stripe);
  if (value == nullptr) {
    return invalid("no signature header");
  }
  std::string_view timestamp;
  bool has_timestamp = false;
  std::vector<std::string_view> signatures;
  std::string_view rest = *value;
  while (!rest.empty()) {
    const std::size_t comma = rest.find(',');
    const std::string_view item = http::trim_ows(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    const std::size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      continue;
    }
    const std::string_view key = item.substr(0, eq);
    if (key == "t" && !has_timestamp) {
      timestamp = item.substr(eq + 1);
      has_timestamp = true;
    } else if (key == "v1") {
      signatures.push_back(item.substr(eq + 1));
    }
  }
  std::int64_t seconds = 0;
  if (!has_timestamp || signatures.empty()) {
    return invalid("malformed signature header");
  }
  if (!parse_unix_seconds(timestamp, seconds)) {
    return invalid("malformed timestamp");
  }
  std::string payload;
  payload.reserve(timestamp.size() + 1 + body.size());
  payload.append(timestamp).append(".").append(body);
  const std::string expected = util::hmac_sha256(spec.secret, payload);
  bool matched = false;
  std::string got;
  for (const auto& signature : signatures) {
    if (hex_decode(signature, got) && util::constant_time_equals(got, expected)) {
      matched = true;
    }
  }
  if (!matched) {
    return invalid("signature mismatch");
  }
  return within_tolerance(seconds, now_us) ? valid() : invalid("timestamp outside tolerance");
}

Verdict
verify_standard(const SignatureSpec& spec, const Headers& headers, std::string_view body,
                std::int64_t now_us)
{
  StandardNames names = standard_names(false);
  if (find_header(headers, names.signature) == nullptr) {
    names = standard_names(true);
  }
  const auto* signature = find_header(headers, names.signature);
  if (signature == nullptr) {
    return invalid("no signature header");
  }
  const auto* id = find_header(headers, names.id);
  if (id == nullptr) {
    return invalid("no id header");
  }
  const auto* timestamp = find_header(headers, names.timestamp);
  if (timestamp == nullptr) {
    return invalid("no timestamp header");
  }
  std::int64_t seconds = 0;
  if (!parse_unix_seconds(*timestamp, seconds)) {
    return invalid("malformed timestamp");
  }
  std::string key;
  if (!standard_key(spec.secret, key)) {
    return invalid("secret is not base64");
  }
  std::string payload;
  payload.reserve(id->size() + timestamp->size() + 2 + body.size());
  payload.append(*id).append(".").append(*timestamp).append(".").append(body);
  const std::string expected = util::hmac_sha256(key, payload);
  // A space-separated list of "VERSION,SIGNATURE"; only v1 (HMAC-SHA256) is ours to
  // check, other versions (v1a: asymmetric) are skipped.
  bool any_v1 = false;
  bool matched = false;
  std::string_view rest = *signature;
  while (!rest.empty()) {
    const std::size_t space = rest.find(' ');
    const std::string_view item = rest.substr(0, space);
    rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
    if (item.substr(0, 3) != "v1,") {
      continue;
    }
    any_v1 = true;
    auto decoded = util::base64_decode(item.substr(3));
    if (decoded && util::constant_time_equals(*decoded, expected)) {
      matched = true;
    }
  }
  if (!any_v1) {
    return invalid("malformed signature header");
  }
  if (!matched) {
    return invalid("signature mismatch");
  }
  return within_tolerance(seconds, now_us) ? valid() : invalid("timestamp outside tolerance");
}

Verdict
verify_shopify(const SignatureSpec& spec, const Headers& headers, std::string_view body)
{
  const auto* value = find_header(headers, k_shopify);
  if (value == nullptr) {
    return invalid("no signature header");
  }
  auto decoded = util::base64_decode(http::trim_ows(*value));
  if (!decoded) {
    return invalid("malformed signature header");
  }
  return util::constant_time_equals(*decoded, util::hmac_sha256(spec.secret, body))
             ? valid()
             : invalid("signature mismatch");
}

Verdict
verify_slack(const SignatureSpec& spec, const Headers& headers, std::string_view body,
             std::int64_t now_us)
{
  const auto* signature = find_header(headers, k_slack_signature);
  if (signature == nullptr) {
    return invalid("no signature header");
  }
  const auto* timestamp = find_header(headers, k_slack_timestamp);
  if (timestamp == nullptr) {
    return invalid("no timestamp header");
  }
  std::int64_t seconds = 0;
  if (!parse_unix_seconds(*timestamp, seconds)) {
    return invalid("malformed timestamp");
  }
  std::string base;
  base.reserve(4 + timestamp->size() + 1 + body.size());
  base.append("v0:").append(*timestamp).append(":").append(body);
  Verdict verdict = check_hex_value(*signature, "v0=", util::hmac_sha256(spec.secret, base));
  if (!verdict.is_valid()) {
    return verdict;
  }
  return within_tolerance(seconds, now_us) ? valid() : invalid("timestamp outside tolerance");
}

Verdict
verify_generic(const SignatureSpec& spec, const Headers& headers, std::string_view body)
{
  const auto* value = find_header(headers, spec.header);
  if (value == nullptr) {
    return invalid("no signature header");
  }
  const std::string expected = util::hmac(spec.algorithm, spec.secret, body);
  if (spec.encoding == SignatureEncoding::hex) {
    return check_hex_value(*value, spec.prefix, expected);
  }
  const std::string_view text = http::trim_ows(*value);
  if (text.substr(0, spec.prefix.size()) != spec.prefix) {
    return invalid("malformed signature header");
  }
  auto decoded = util::base64_decode(text.substr(spec.prefix.size()));
  if (!decoded) {
    return invalid("malformed signature header");
  }
  return util::constant_time_equals(*decoded, expected) ? valid() : invalid("signature mismatch");
}

// Parse the `hmac:HEADER:ALGO:ENCODING[:PREFIX]=SECRET` form (`rest` is after "hmac:").
Result<SignatureSpec>
parse_generic(std::string_view rest, SecretResolver resolve)
{
  const auto bad = [](std::string_view why) {
    return usage_error(fmt::format("invalid signature spec 'hmac:…': {}", why),
                       "use hmac:HEADER:sha1|sha256|sha512:hex|base64[:PREFIX]=SECRET");
  };
  SignatureSpec spec;
  spec.provider = Provider::hmac;
  const std::size_t colon1 = rest.find(':');
  if (colon1 == std::string_view::npos) {
    return bad("missing the algorithm");
  }
  spec.header = std::string(rest.substr(0, colon1));
  if (spec.header.empty()) {
    return bad("empty header name");
  }
  if (!http::is_token(spec.header)) {
    return bad(fmt::format("'{}' is not a header name", spec.header));
  }
  rest.remove_prefix(colon1 + 1);
  const std::size_t colon2 = rest.find(':');
  if (colon2 == std::string_view::npos) {
    return bad("missing the encoding");
  }
  const std::string_view algorithm = rest.substr(0, colon2);
  if (algorithm == "sha1") {
    spec.algorithm = util::HashAlgorithm::sha1;
  } else if (algorithm == "sha256") {
    spec.algorithm = util::HashAlgorithm::sha256;
  } else if (algorithm == "sha512") {
    spec.algorithm = util::HashAlgorithm::sha512;
  } else {
    return bad(fmt::format("unknown algorithm '{}' (sha1, sha256 or sha512)", algorithm));
  }
  rest.remove_prefix(colon2 + 1);
  const std::size_t end = rest.find_first_of(":=");
  if (end == std::string_view::npos) {
    return bad("missing '=SECRET'");
  }
  const std::string_view encoding = rest.substr(0, end);
  if (encoding == "hex") {
    spec.encoding = SignatureEncoding::hex;
  } else if (encoding == "base64") {
    spec.encoding = SignatureEncoding::base64;
  } else {
    return bad(fmt::format("unknown encoding '{}' (hex or base64)", encoding));
  }
  std::string_view secret;
  if (rest[end] == '=') {
    secret = rest.substr(end + 1);
  } else {
    // PREFIX runs to the last '=' of the first run of '=', so "sha256==S" is the
    // prefix "sha256=" and the secret "S".
    const std::string_view after = rest.substr(end + 1);
    std::size_t eq = after.find('=');
    if (eq == std::string_view::npos) {
      return bad("missing '=SECRET'");
    }
    while (eq + 1 < after.size() && after[eq + 1] == '=') {
      ++eq;
    }
    spec.prefix = std::string(after.substr(0, eq));
    secret = after.substr(eq + 1);
  }
  RAG_TRY_ASSIGN(spec.secret, resolve(secret));
  return spec;
}

} // namespace

const std::vector<std::string>&
provider_names()
{
  static const std::vector<std::string> names = {"github",  "stripe", "standard", "svix",
                                                 "shopify", "slack",  "hmac"};
  return names;
}

std::string_view
provider_name(Provider provider)
{
  switch (provider) {
  case Provider::github: return "github";
  case Provider::stripe: return "stripe";
  case Provider::standard: return "standard";
  case Provider::shopify: return "shopify";
  case Provider::slack: return "slack";
  case Provider::hmac: return "hmac";
  }
  return "hmac";
}

std::string
spec_label(const SignatureSpec& spec)
{
  if (spec.provider == Provider::standard && spec.svix) {
    return "svix";
  }
  if (spec.provider != Provider::hmac) {
    return std::string(provider_name(spec.provider));
  }
  std::string label =
      fmt::format("hmac:{}:{}:{}", spec.header, util::algorithm_name(spec.algorithm),
                  spec.encoding == SignatureEncoding::hex ? "hex" : "base64");
  if (!spec.prefix.empty()) {
    label += ":" + spec.prefix;
  }
  return label;
}

Result<std::string>
literal_secret(std::string_view text)
{
  if (text.empty()) {
    return usage_error("empty secret", "write PROVIDER=SECRET, env:NAME or file:PATH");
  }
  return std::string(text);
}

Result<SignatureSpec>
parse_signature_spec(std::string_view text, SecretResolver resolve)
{
  if (text.substr(0, 5) == "hmac:") {
    return parse_generic(text.substr(5), resolve);
  }
  // Messages never repeat the text after '=': it is the secret.
  const std::size_t eq = text.find('=');
  const std::string_view name = text.substr(0, eq);
  if (eq == std::string_view::npos) {
    return usage_error(
        fmt::format("invalid signature spec '{}': expected PROVIDER=SECRET", name.substr(0, 40)),
        "e.g. github=env:GITHUB_WEBHOOK_SECRET; providers: github, stripe, "
        "standard, svix, shopify, slack, hmac:HEADER:ALGO:ENCODING");
  }
  SignatureSpec spec;
  if (name == "github") {
    spec.provider = Provider::github;
  } else if (name == "stripe") {
    spec.provider = Provider::stripe;
  } else if (name == "standard" || name == "svix") {
    spec.provider = Provider::standard;
    spec.svix = name == "svix";
  } else if (name == "shopify") {
    spec.provider = Provider::shopify;
  } else if (name == "slack") {
    spec.provider = Provider::slack;
  } else if (name == "hmac") {
    return usage_error("invalid signature spec 'hmac=…': the generic HMAC needs its format",
                       "use hmac:HEADER:sha1|sha256|sha512:hex|base64[:PREFIX]=SECRET");
  } else {
    const std::string guess = util::closest_match(name, provider_names());
    return usage_error(fmt::format("unknown signature provider '{}'", name),
                       guess.empty() ? std::string("use github, stripe, standard, svix, shopify, "
                                                   "slack or hmac:HEADER:ALGO:ENCODING")
                                     : fmt::format("did you mean '{}'?", guess));
  }
  RAG_TRY_ASSIGN(spec.secret, resolve(text.substr(eq + 1)));
  if (spec.provider == Provider::standard) {
    std::string key;
    if (!standard_key(spec.secret, key)) {
      return usage_error(
          fmt::format("the {} secret is not base64", name),
          "Standard Webhooks secrets look like whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    }
  }
  return spec;
}

std::string
Verdict::text() const
{
  switch (kind) {
  case Kind::valid: return "valid";
  case Kind::invalid: return "invalid: " + reason;
  case Kind::unverified: return "unverified";
  }
  return "unverified";
}

Verdict
verify(const SignatureSpec& spec, const Headers& headers, std::string_view raw_body,
       std::int64_t now_us)
{
  switch (spec.provider) {
  case Provider::github: return verify_github(spec, headers, raw_body);
  case Provider::stripe: return verify_stripe(spec, headers, raw_body, now_us);
  case Provider::standard: return verify_standard(spec, headers, raw_body, now_us);
  case Provider::shopify: return verify_shopify(spec, headers, raw_body);
  case Provider::slack: return verify_slack(spec, headers, raw_body, now_us);
  case Provider::hmac: return verify_generic(spec, headers, raw_body);
  }
  return invalid("unknown provider");
}

bool
has_signature_header(const SignatureSpec& spec, const Headers& headers)
{
  switch (spec.provider) {
  case Provider::github:
    return find_header(headers, k_github_sha256) != nullptr ||
           find_header(headers, k_github_sha1) != nullptr;
  case Provider::stripe: return find_header(headers, k_stripe) != nullptr;
  case Provider::standard:
    return find_header(headers, "webhook-signature") != nullptr ||
           find_header(headers, "svix-signature") != nullptr;
  case Provider::shopify: return find_header(headers, k_shopify) != nullptr;
  case Provider::slack: return find_header(headers, k_slack_signature) != nullptr;
  case Provider::hmac: return find_header(headers, spec.header) != nullptr;
  }
  return false;
}

Verdict
verify_any(const std::vector<SignatureSpec>& specs, const Headers& headers,
           std::string_view raw_body, std::int64_t now_us)
{
  if (specs.empty()) {
    return {};
  }
  std::optional<Verdict> first_failure;
  for (const auto& spec : specs) {
    if (!has_signature_header(spec, headers)) {
      continue;
    }
    Verdict verdict = verify(spec, headers, raw_body, now_us);
    if (verdict.is_valid()) {
      return verdict;
    }
    if (!first_failure) {
      first_failure = std::move(verdict);
    }
  }
  return first_failure ? *first_failure : invalid("no signature header");
}

Result<Headers>
sign(const SignatureSpec& spec, const Headers& headers, std::string_view body, std::int64_t now_us,
     IdSource& ids)
{
  Headers out = headers;
  const std::string timestamp = std::to_string(now_us / 1'000'000);
  switch (spec.provider) {
  case Provider::github:
    set_header(out, k_github_sha256,
               "sha256=" + util::hex_encode(util::hmac_sha256(spec.secret, body)));
    if (find_header(out, k_github_sha1) != nullptr) {
      set_header(out, k_github_sha1,
                 "sha1=" +
                     util::hex_encode(util::hmac(util::HashAlgorithm::sha1, spec.secret, body)));
    }
    break;
  case Provider::stripe: {
    std::string payload = timestamp + "." + std::string(body);
    set_header(out, k_stripe,
               fmt::format("t={},v1={}", timestamp,
                           util::hex_encode(util::hmac_sha256(spec.secret, payload))));
    break;
  }
  case Provider::standard: {
    std::string key;
    if (!standard_key(spec.secret, key)) {
      return usage_error(
          "the Standard Webhooks secret is not base64",
          "Standard Webhooks secrets look like whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    }
    // Keep the spelling the request already uses; a fresh request gets the spec's.
    const StandardNames webhook = standard_names(false);
    const StandardNames svix = standard_names(true);
    const auto present = [&](const StandardNames& names) {
      return find_header(out, names.id) != nullptr ||
             find_header(out, names.timestamp) != nullptr ||
             find_header(out, names.signature) != nullptr;
    };
    const StandardNames& names =
        present(webhook) ? webhook : (present(svix) || spec.svix ? svix : webhook);
    const std::string* existing_id = find_header(out, names.id);
    std::string id = existing_id != nullptr ? *existing_id : std::string();
    if (id.empty()) {
      id = ids.next("msg", now_us);
    }
    std::string payload = id + "." + timestamp + "." + std::string(body);
    set_header(out, names.id, id);
    set_header(out, names.timestamp, timestamp);
    set_header(out, names.signature, "v1," + util::base64_encode(util::hmac_sha256(key, payload)));
    break;
  }
  case Provider::shopify:
    set_header(out, k_shopify, util::base64_encode(util::hmac_sha256(spec.secret, body)));
    break;
  case Provider::slack: {
    std::string base = "v0:" + timestamp + ":" + std::string(body);
    set_header(out, k_slack_timestamp, timestamp);
    set_header(out, k_slack_signature,
               "v0=" + util::hex_encode(util::hmac_sha256(spec.secret, base)));
    break;
  }
  case Provider::hmac: {
    const std::string digest = util::hmac(spec.algorithm, spec.secret, body);
    set_header(out, spec.header,
               spec.prefix + (spec.encoding == SignatureEncoding::hex
                                  ? util::hex_encode(digest)
                                  : util::base64_encode(digest)));
    break;
  }
  }
  return out;
}

} // namespace rag::core
