#include "cli/commands.hpp"
#include "commands/listen.hpp"
#include "core/listen_address.hpp"
#include "util/units.hpp"

#include <CLI/CLI.hpp>

#include <memory>

namespace rag::cli {

namespace {

constexpr const char* k_listen_examples = R"(Examples:
  rag listen                          capture on http://127.0.0.1:7777
  rag listen 9000                     capture on port 9000
  rag listen [::1]:0                  IPv6 loopback, a free port (printed at start)
  rag listen --respond 202            answer every webhook 202 Accepted
  rag listen --json | jq .id          one JSON record per captured event on stdout
  rag listen --log ./hooks.jsonl      keep this project's events in its own log

Every request is written to the event log before its sender gets an answer.
Stop with Ctrl-C. Look at what was captured with `rag inspect`.)";

struct ListenArgs
{
  std::string address;
  std::string log;
  int respond = 200;
  std::string max_body = "25MiB";
  bool json = false;
};

} // namespace

Runner
add_listen(CLI::App& app)
{
  auto args = std::make_shared<ListenArgs>();
  CLI::App* sub = app.add_subcommand(
      "listen", "Open a local HTTP listener and capture every request into the event log");
  sub->footer(k_listen_examples);
  sub->add_option("ADDRESS", args->address,
                  "PORT, HOST:PORT or [IPv6]:PORT to listen on (default 127.0.0.1:7777)");
  sub->add_option("--respond", args->respond, "HTTP status answered to every sender (default 200)")
      ->option_text("STATUS")
      ->check(CLI::Range(200, 599));
  sub->add_option("--max-body", args->max_body,
                  "Largest request body accepted; bigger ones get 413 (default 25MiB)")
      ->option_text("SIZE");
  sub->add_flag("--json", args->json, "Print each captured event as a JSON line on stdout");
  add_log_option(*sub, args->log);

  return [args]() -> Result<int> {
    commands::ListenOptions options;
    if (!args->address.empty()) {
      RAG_TRY_ASSIGN(const core::ListenAddress address, core::parse_listen_address(args->address));
      options.host = address.host;
      options.port = address.port;
    }
    RAG_TRY_ASSIGN(options.max_body, util::parse_byte_size(args->max_body));
    options.respond_status = args->respond;
    options.json = args->json;
    options.log_path = resolve_log_path(args->log);
    return commands::run_listen(options);
  };
}

} // namespace rag::cli
