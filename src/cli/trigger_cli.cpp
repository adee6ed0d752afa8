#include "cli/commands.hpp"
#include "cli/secret_arg.hpp"
#include "commands/trigger.hpp"
#include "core/forward_plan.hpp"
#include "core/samples.hpp"

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <memory>

namespace rag::cli {

namespace {

constexpr const char* k_trigger_examples = R"(Examples:
  rag trigger --list                                  the built-in samples
  rag trigger github.push --to 3000                   POST a signed push to http://127.0.0.1:3000/
  rag trigger stripe.payment_intent.succeeded --to 3000/webhooks/stripe \
      --secret env:STRIPE_WEBHOOK_SECRET              signed with your endpoint's secret
  rag trigger stripe.payment_intent.succeeded --to 3000 --set data.object.amount=5000
  rag trigger shopify.orders.create --to 3000 --set line_items.0.sku=TEST-1 --json

Each sample carries the provider's real header set and is signed exactly as the provider
signs: fresh timestamps and ids, the signature over the exact body bytes sent. Without
--secret a fixed test secret per provider is used and printed, so the app under test can
be configured with it. --secret takes the secret itself, env:NAME or file:PATH.
--set PATH=VALUE edits the payload: PATH is dot-separated keys and array indexes
(items.0.sku); VALUE is taken as JSON when it parses (5000, true, null, "5000", {"a":1}),
else as a string; missing object keys are created.
The answer's status goes to stderr and its body to stdout (--json: one JSON object).
Exit 0 when the target answered < 400, 1 when it answered >= 400 or could not be reached.
docs/signatures.md describes every signature scheme.)";

struct TriggerArgs
{
  std::string sample;
  std::string to;
  std::string secret;
  std::vector<std::string> sets;
  bool list = false;
  bool json = false;
};

Result<commands::TriggerOptions>
make_options(const TriggerArgs& args)
{
  commands::TriggerOptions options;
  options.json = args.json;
  if (args.list) {
    if (!args.sample.empty() || !args.to.empty() || !args.sets.empty()) {
      return usage_error("--list takes no sample, --to or --set", "run `rag trigger --list`");
    }
    options.list = true;
    return options;
  }
  if (args.sample.empty()) {
    return usage_error("a sample name is required",
                       "run `rag trigger --list`, then e.g. rag trigger github.push --to 3000");
  }
  RAG_TRY_ASSIGN(options.sample, core::find_sample(args.sample));
  if (args.to.empty()) {
    return usage_error("--to is required",
                       fmt::format("e.g. rag trigger {} --to 3000/webhooks", args.sample));
  }
  RAG_TRY_ASSIGN(options.to, core::parse_target(args.to));
  for (const auto& text : args.sets) {
    RAG_TRY_ASSIGN(core::FieldSet set, core::parse_field_set(text));
    options.sets.push_back(std::move(set));
  }
  if (!args.secret.empty()) {
    // Empty means the provider's test secret (run_trigger); anything else is resolved here.
    RAG_TRY_ASSIGN(options.secret, resolve_secret_arg(args.secret));
  }
  return options;
}

} // namespace

Runner
add_trigger(CLI::App& app)
{
  auto args = std::make_shared<TriggerArgs>();
  CLI::App* sub = app.add_subcommand(
      "trigger", "Send a built-in, correctly signed sample webhook (github.push, ...) to a URL");
  sub->footer(k_trigger_examples);

  sub->add_option("EVENT", args->sample, "The sample to send (see --list)");
  sub->add_option("--to", args->to, "Send it here: PORT[/PATH], HOST:PORT[/PATH] or a URL")
      ->option_text("URL");
  sub->add_option("--secret", args->secret,
                  "Sign with this secret (or env:NAME, file:PATH); default: a test secret")
      ->option_text("SECRET");
  sub->add_option("--set", args->sets, "Set a payload field, e.g. data.object.amount=5000")
      ->option_text("PATH=VALUE")
      ->allow_extra_args(false);
  sub->add_flag("--list", args->list, "List the built-in samples");
  sub->add_flag("--json", args->json, "Print the answer (or the list) as JSON");

  return [args]() -> Result<int> {
    RAG_TRY_ASSIGN(const commands::TriggerOptions options, make_options(*args));
    return commands::run_trigger(options, terminal_console());
  };
}

} // namespace rag::cli
