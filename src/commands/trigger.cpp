#include "commands/trigger.hpp"

#include "core/clock.hpp"
#include "core/id.hpp"
#include "core/json_line.hpp"
#include "core/signature.hpp"
#include "net/forward_client.hpp"
#include "util/bytes.hpp"
#include "util/terminal.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <memory>
#include <random>

namespace rag::commands {

namespace {

Result<int>
print_list(bool json, engine::Console& console)
{
  RAG_TRY_ASSIGN(const std::vector<core::Sample> samples, core::load_samples());
  std::size_t width = 0;
  for (const auto& sample : samples) {
    width = std::max(width, sample.name.size());
  }
  for (const auto& sample : samples) {
    if (json) {
      console.out(core::JsonLine()
                      .text("name", sample.name)
                      .text("provider", core::provider_name(sample.provider))
                      .text("description", sample.description)
                      .str());
    } else {
      console.out(fmt::format("{:<{}}  {}", sample.name, width, sample.description));
    }
  }
  return 0;
}

// Random values for sample ids; they only have to look real, not be secret.
std::function<std::uint64_t()>
random_source()
{
  auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
  return [engine] { return (*engine)(); };
}

std::string
url_of(const core::Target& target, const std::string& request_target)
{
  return fmt::format("{}://{}{}", target.scheme, core::host_header_value(target), request_target);
}

util::Color
status_color(int status)
{
  if (status >= 500) {
    return util::Color::red;
  }
  if (status >= 400) {
    return util::Color::yellow;
  }
  return util::Color::green;
}

std::string
duration_text(std::chrono::microseconds duration)
{
  const auto us = duration.count();
  if (us < 10'000) {
    return fmt::format("{:.1f}ms", static_cast<double>(us) / 1000.0);
  }
  return fmt::format("{}ms", us / 1000);
}

} // namespace

Result<int>
run_trigger(const TriggerOptions& options, engine::Console& console)
{
  if (options.list) {
    return print_list(options.json, console);
  }
  const core::Sample& sample = options.sample;
  const std::string provider(core::provider_name(sample.provider));

  // 1. The secret: the user's, or the provider's test secret.
  const bool test_secret = options.secret.empty();
  const std::string secret =
      test_secret ? std::string(core::default_test_secret(sample.provider)) : options.secret;
  RAG_TRY_ASSIGN(const core::SignatureSpec spec,
                 core::parse_signature_spec(fmt::format("{}={}", provider, secret)));

  // 2. Render the payload at the send time and sign it as the provider would.
  core::SystemClock clock;
  core::RandomIdSource ids;
  const std::int64_t now_us = clock.now_us();
  RAG_TRY_ASSIGN(core::RenderedSample rendered,
                 core::render_sample(sample, options.sets, {now_us, random_source()}));
  RAG_TRY_ASSIGN(core::Headers signed_headers,
                 core::sign(spec, rendered.headers, rendered.body, now_us, ids));

  // 3. The request: Host first, the provider's headers in its order, then the framing.
  core::OutgoingRequest request;
  request.method = "POST";
  request.target = core::map_target(options.to, "/");
  request.headers.emplace_back("Host", core::host_header_value(options.to));
  for (auto& header : signed_headers) {
    request.headers.push_back(std::move(header));
  }
  request.headers.emplace_back("Content-Length", std::to_string(rendered.body.size()));
  const std::string sent_body = rendered.body;
  request.body = std::make_shared<const std::string>(std::move(rendered.body));
  const std::string url = url_of(options.to, request.target);
  // Shown once everything is valid, so the app under test can be configured with it;
  // a user's own secret is never echoed.
  if (test_secret) {
    console.err(fmt::format("rag: signing with the {} test secret {} (configure your app with "
                            "it, or pass --secret)",
                            provider, secret));
  }

  net::ForwardClient client;
  auto answer = client.send(options.to, request, options.timeout);
  if (!answer) {
    return error(fmt::format("cannot send {} to {}: {}", sample.name, url, answer.error().message),
                 "is the service running? check --to");
  }

  // 4. Report: the answer's status on stderr and its body on stdout, or one JSON object.
  if (options.json) {
    core::JsonLine line;
    line.text("sample", sample.name)
        .text("url", url)
        .pairs("request_headers", request.headers)
        .text("request_body_sha256", util::sha256_hex(sent_body))
        .number("status", answer->status)
        .text("reason", answer->reason)
        .number("duration_us", answer->duration.count())
        .pairs("headers", answer->headers);
    if (util::is_valid_utf8(answer->body)) {
      line.text("body", answer->body);
    } else {
      line.text("body", util::base64_encode(answer->body)).text("body_encoding", "base64");
    }
    if (answer->body_truncated) {
      line.boolean("body_truncated", true);
    }
    console.out(line.str());
  } else {
    const bool color = console.err_color();
    console.err(
        fmt::format("{} → {} {}  {}", sample.name,
                    util::colorize(answer->reason.empty()
                                       ? std::to_string(answer->status)
                                       : fmt::format("{} {}", answer->status, answer->reason),
                                   status_color(answer->status), color),
                    url, duration_text(answer->duration)));
    if (!answer->body.empty()) {
      // The body as answered, ending in exactly one newline of its own or ours.
      std::string_view body = answer->body;
      if (body.back() == '\n') {
        body.remove_suffix(1);
      }
      console.out(body);
    }
  }
  return answer->status >= 400 ? 1 : 0;
}

} // namespace rag::commands
