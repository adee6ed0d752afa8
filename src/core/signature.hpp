#pragma once

// Webhook signatures: verify and sign for GitHub, Stripe, Standard Webhooks (and
// its Svix spelling), Shopify, Slack and a generic HMAC. Pure functions over the
// raw body bytes and the header list: no clock (the caller passes `now_us`), no I/O
// (secrets arrive as bytes: `env:`/`file:` are read by cli/secret_arg through a
// SecretResolver). docs/signatures.md describes each scheme.

#include "core/record.hpp"
#include "util/hmac.hpp"
#include "util/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rag::core {

class IdSource;

// The signature schemes rag knows.
enum class Provider { github, stripe, standard, shopify, slack, hmac };

// How the generic HMAC writes its digest.
enum class SignatureEncoding { hex, base64 };

// How far a signed timestamp (Stripe t=, webhook-timestamp, Slack) may be from now.
inline constexpr std::int64_t k_signature_tolerance_us = 5LL * 60 * 1'000'000;

// A provider and its secret, as given by `--verify`/`--resign` PROVIDER=SECRET.
struct SignatureSpec
{
  Provider provider = Provider::github;
  std::string secret; // the bytes (cli reads env:/file:); for `standard` as written (whsec_…)
  bool svix = false;  // `standard` given as "svix": headers it adds use the svix-* spelling
  // The generic HMAC (`hmac:HEADER:ALGO:ENCODING[:PREFIX]`) only:
  std::string header; // header carrying the signature
  util::HashAlgorithm algorithm = util::HashAlgorithm::sha256;
  SignatureEncoding encoding = SignatureEncoding::hex;
  std::string prefix; // written before the digest ("sha256=")
};

// Return the provider names accepted before '=' in a spec, for help and completion:
// github, stripe, standard, svix, shopify, slack, hmac.
const std::vector<std::string>& provider_names();

// Return the name of `provider` ("github", ..., "hmac").
std::string_view provider_name(Provider provider);

// Return the spec without its secret, for banners and messages: "github", "svix",
// "hmac:X-Signature:sha256:hex:sha256=".
std::string spec_label(const SignatureSpec& spec);

// Turns the SECRET of a spec, as written, into the secret's bytes (or an Error).
using SecretResolver = Result<std::string> (*)(std::string_view text);

// Return `text` itself as the secret; an empty one is a usage Error.
Result<std::string> literal_secret(std::string_view text);

// Parse "PROVIDER=SECRET" (PROVIDER one of provider_names(), "svix" meaning
// `standard`) or "hmac:HEADER:sha1|sha256|sha512:hex|base64[:PREFIX]=SECRET"; SECRET
// is turned into the secret by `resolve` once PROVIDER has been checked (taken as it
// is by default; the command line's env:/file: forms are cli::resolve_secret_arg).
// The first run of '=' after PREFIX ends it, so a prefix may end in '='
// ("hmac:X-Sig:sha256:hex:sha256==SECRET"). A Standard Webhooks secret must be
// base64 after an optional "whsec_". Mistakes are usage Errors.
Result<SignatureSpec> parse_signature_spec(std::string_view text,
                                           SecretResolver resolve = literal_secret);

// The outcome of checking one request.
struct Verdict
{
  enum class Kind { valid, invalid, unverified };
  Kind kind = Kind::unverified;
  std::string reason; // why it is invalid ("signature mismatch"); empty otherwise

  // Return "valid", "invalid: <reason>" or "unverified" (the form the log stores).
  std::string text() const;
  bool is_valid() const { return kind == Kind::valid; }
};

// Check the signature of a request with `raw_body` exactly as received, at time
// `now_us`. Header names are matched ignoring case; the first occurrence counts.
// Reasons: "no signature header", "no timestamp header", "no id header",
// "malformed signature header", "malformed timestamp", "signature mismatch",
// "timestamp outside tolerance" (the signature matched but its timestamp is more
// than 5 minutes from now: a stale replay). Never "unverified".
Verdict verify(const SignatureSpec& spec, const Headers& headers, std::string_view raw_body,
               std::int64_t now_us);

// Return true when `headers` carry the signature header of `spec`'s scheme, i.e. the
// request looks like it came from that provider.
bool has_signature_header(const SignatureSpec& spec, const Headers& headers);

// Check a request against several specs (several --verify): the specs whose
// signature header is present are tried in order and the first valid one wins,
// else the first one's failure is returned; with none present the verdict is
// "invalid: no signature header", and with no specs at all "unverified".
Verdict verify_any(const std::vector<SignatureSpec>& specs, const Headers& headers,
                   std::string_view raw_body, std::int64_t now_us);

// Return `headers` with `spec`'s signature headers set for `body` as the provider
// would send them at `now_us`: each replaced in place (later duplicates dropped) or
// appended when missing, name case kept. Timestamps are fresh (Stripe t=,
// webhook-timestamp/svix-timestamp, X-Slack-Request-Timestamp); a webhook-id/svix-id
// is kept, and generated ("msg_…" from `ids`) only when missing. GitHub sets
// X-Hub-Signature-256 and updates the legacy sha1 X-Hub-Signature only when present.
// A secret that cannot be used (a `standard` secret that is not base64) is an Error.
Result<Headers> sign(const SignatureSpec& spec, const Headers& headers, std::string_view body,
                     std::int64_t now_us, IdSource& ids);

} // namespace rag::core
