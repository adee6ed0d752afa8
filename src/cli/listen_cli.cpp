#include "cli/commands.hpp"
#include "cli/forward_flags.hpp"
#include "commands/listen.hpp"
#include "core/listen_address.hpp"
#include "util/units.hpp"

#include <CLI/CLI.hpp>

#include <memory>

namespace rag::cli {

namespace {

constexpr const char* k_listen_examples = R"(Examples:
  rag listen                              capture on http://127.0.0.1:7777, answer 200
  rag listen -f 3000                      forward to http://127.0.0.1:3000 (same path)
  rag listen -f 3000 -f 4000/hooks        fan out: 3000 answers the sender, 4000 gets a copy
  rag listen --route /github=3001 --route /stripe=3002
                                          one listener, one service per provider
  rag listen -f 3000 --respond 202        answer 202 at once, forward in the background
  rag listen -f 3000 --retry 3 --ordered  retry failures, deliver strictly in order
  rag listen 9000 --json | jq .id         port 9000; JSON records on stdout
  rag listen -f 3000 --verify github=env:GITHUB_WEBHOOK_SECRET --reject-invalid
                                          check signatures, answer 401 to forgeries

Targets: PORT[/PATH] (on 127.0.0.1), HOST:PORT[/PATH] or an http(s) URL. A target without
a path keeps the incoming path and query; one with a path replaces the path, keeps the query.
--route PREFIX=URL takes requests under PREFIX and strips it (unless URL has a path).
--config rag.json adds routes that match on path prefix or glob, method and header
values (documented in docs/config.md), e.g.:
  {"forward_to": ["3000"],
   "routes": [{"path": "/github", "headers": {"X-GitHub-Event": "push"}, "to": ["3001"]},
              {"glob": "/shops/*/orders", "method": "POST", "to": ["3002"], "respond": 202}]}
Every request is written to the event log before its sender gets an answer, also one rag
refuses (413, 431, 400, 501, 408: logged with what was read of it, no body, and the answer).
Trailer fields of a chunked request are logged, not forwarded.
Stop with Ctrl-C. Look at what was captured with `rag inspect`.)";

struct ListenArgs
{
  std::string address;
  std::string log;
  ForwardFlags forwarding;
  std::string max_body = "25MiB";
  bool json = false;
};

Result<commands::ListenOptions>
make_options(const ListenArgs& args)
{
  commands::ListenOptions options;
  if (!args.address.empty()) {
    RAG_TRY_ASSIGN(const core::ListenAddress address, core::parse_listen_address(args.address));
    options.host = address.host;
    options.port = address.port;
  }
  RAG_TRY_ASSIGN(options.pipeline, parse_forward_flags(args.forwarding));
  options.pipeline.json = args.json;
  RAG_TRY_ASSIGN(options.max_body, util::parse_byte_size(args.max_body));
  options.log_path = resolve_log_path(args.log);
  return options;
}

} // namespace

Runner
add_listen(CLI::App& app)
{
  auto args = std::make_shared<ListenArgs>();
  CLI::App* sub = app.add_subcommand(
      "listen", "Capture every request into the event log and forward it to local services");
  sub->footer(k_listen_examples);
  sub->add_option("ADDRESS", args->address,
                  "PORT, HOST:PORT or [IPv6]:PORT to listen on (default 127.0.0.1:7777)");
  add_forward_flags(*sub, args->forwarding, ForwardCommand::listen);
  sub->add_option("--max-body", args->max_body,
                  "Largest request body accepted; bigger ones get 413 (default 25MiB)")
      ->option_text("SIZE");
  sub->add_flag("--json", args->json, "Print event and delivery records as JSON lines on stdout");
  add_log_option(*sub, args->log);

  return [args]() -> Result<int> {
    RAG_TRY_ASSIGN(const commands::ListenOptions options, make_options(*args));
    return commands::run_listen(options, terminal_console());
  };
}

} // namespace rag::cli
