#include "core/curl_command.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace {

using rag::core::curl_command;
using rag::core::Event;

Event
sample_event()
{
  Event event;
  event.id = "evt_1K151Q78NBGSJ62TEXS3STCH1M";
  event.source = "listen:127.0.0.1:7777";
  event.method = "POST";
  event.target = "/github/push?x=1";
  event.http_version = "HTTP/1.1";
  event.headers = {{"Host", "127.0.0.1:7777"},
                   {"Content-Type", "application/json"},
                   {"Content-Length", "11"},
                   {"X-Empty", ""}};
  event.body = R"({"a":"b c"})";
  return event;
}

std::string
read_file(const std::string& path)
{
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// What a command line made curl see: its arguments and its standard input.
struct CurlCall
{
  std::vector<std::string> args;
  std::string stdin_bytes;
};

// Runs printed commands with a fake `curl` first on PATH that records what it got,
// so the tests check what the shell really passes, not how the text looks.
class FakeCurl
{
public:
  FakeCurl()
  {
    char dir_template[] = "/tmp/rag-curl-test.XXXXXX";
    REQUIRE(::mkdtemp(dir_template) != nullptr);
    m_dir = dir_template;
    std::ofstream script(m_dir + "/curl");
    script << "#!/bin/sh\n"
              ": > \"$RAG_FAKE_CURL_DIR/args\"\n"
              "for a in \"$@\"; do printf '%s\\0' \"$a\" >> \"$RAG_FAKE_CURL_DIR/args\"; done\n"
              "cat > \"$RAG_FAKE_CURL_DIR/stdin\"\n";
    script.close();
    REQUIRE(::chmod((m_dir + "/curl").c_str(), 0700) == 0);
  }
  ~FakeCurl() { std::system(("rm -rf '" + m_dir + "'").c_str()); }
  FakeCurl(const FakeCurl&) = delete;
  FakeCurl& operator=(const FakeCurl&) = delete;

  // Run `command` with `shell` and return what curl received.
  CurlCall run(const std::string& command, const std::string& shell = "sh")
  {
    {
      std::ofstream file(m_dir + "/command.sh", std::ios::binary);
      file << command;
    }
    const std::string line = "cd '" + m_dir + "' && PATH='" + m_dir +
                             "':\"$PATH\" RAG_FAKE_CURL_DIR='" + m_dir + "' " + shell +
                             " command.sh < /dev/null";
    REQUIRE(std::system(line.c_str()) == 0);
    CurlCall call;
    const std::string args = read_file(m_dir + "/args");
    std::size_t start = 0;
    while (start < args.size()) {
      const std::size_t end = args.find('\0', start);
      call.args.push_back(args.substr(start, end - start));
      start = end + 1;
    }
    call.stdin_bytes = read_file(m_dir + "/stdin");
    return call;
  }

private:
  std::string m_dir;
};

// Return the bytes curl would send as the body.
std::string
sent_body(const CurlCall& call)
{
  for (std::size_t i = 0; i + 1 < call.args.size(); ++i) {
    if (call.args[i] == "--data-binary") {
      return call.args[i + 1] == "@-" ? call.stdin_bytes : call.args[i + 1];
    }
  }
  return "<no body>";
}

std::vector<std::string>
header_args(const CurlCall& call)
{
  std::vector<std::string> headers;
  for (std::size_t i = 0; i + 1 < call.args.size(); ++i) {
    if (call.args[i] == "-H") {
      headers.push_back(call.args[i + 1]);
    }
  }
  return headers;
}

bool
is_printable_text(const std::string& text)
{
  for (const char c : text) {
    const auto b = static_cast<unsigned char>(c);
    if ((b < 0x20 && c != '\n') || b == 0x7f) {
      return false;
    }
  }
  return true;
}

} // namespace

TEST_CASE("shell_quote and printf_quote")
{
  CHECK(rag::core::shell_quote("plain") == "'plain'");
  CHECK(rag::core::shell_quote("it's") == "'it'\\''s'");
  CHECK(rag::core::shell_quote("") == "''");
  CHECK(rag::core::printf_quote(std::string("a%b\\c'd\x00\xff\n1", 11)) ==
        "'a%%b\\\\c\\047d\\000\\377\\0121'");
}

TEST_CASE("the curl command of a JSON event")
{
  const std::string command = curl_command(sample_event());
  CHECK(command ==
        "curl --path-as-is --globoff -X POST 'http://127.0.0.1:7777/github/push?x=1' \\\n"
        "  -H 'Host: 127.0.0.1:7777' \\\n"
        "  -H 'Content-Type: application/json' \\\n"
        "  -H 'X-Empty;' \\\n"
        "  -H 'User-Agent:' \\\n"
        "  -H 'Accept:' \\\n"
        "  --data-binary '{\"a\":\"b c\"}'\n");
  FakeCurl curl;
  const CurlCall call = curl.run(command);
  CHECK(call.args == std::vector<std::string>{
                         "--path-as-is", "--globoff", "-X", "POST",
                         "http://127.0.0.1:7777/github/push?x=1", "-H", "Host: 127.0.0.1:7777",
                         "-H", "Content-Type: application/json", "-H", "X-Empty;", "-H",
                         "User-Agent:", "-H", "Accept:", "--data-binary", "{\"a\":\"b c\"}"});
}

TEST_CASE("quotes, substitutions and globs in captured data stay literal")
{
  Event event = sample_event();
  event.target = "/p?a[]=1&b={x,y}&c=$(id)&d='q'";
  event.headers = {{"Host", "h.example:8080"},
                   {"User-Agent", "it's `uname` $(id) \"x\""},
                   {"Accept", "*/*"},
                   {"Content-Type", "text/plain"}};
  event.body = "it's a 'quoted' body with $HOME, `id`, $(id), \\n and \"dq\"\nsecond line\n";
  FakeCurl curl;
  for (const char* shell : {"sh", "bash"}) {
    CAPTURE(shell);
    const CurlCall call = curl.run(curl_command(event), shell);
    CHECK(call.args[4] == "http://127.0.0.1:7777/p?a[]=1&b={x,y}&c=$(id)&d='q'");
    CHECK(header_args(call) == std::vector<std::string>{"Host: h.example:8080",
                                                        "User-Agent: it's `uname` $(id) \"x\"",
                                                        "Accept: */*", "Content-Type: text/plain"});
    CHECK(sent_body(call) == event.body);
  }
}

TEST_CASE("a binary body is piped from printf byte for byte")
{
  Event event = sample_event();
  std::string body;
  for (int i = 0; i < 256; ++i) {
    body.push_back(static_cast<char>(i));
  }
  body += "%s%d\\0\\n'\"";
  body.push_back('\0');
  body += "12"; // digits right after an escaped byte
  event.body = body;
  event.headers = {{"Host", "127.0.0.1:7777"}, {"Content-Type", "application/octet-stream"}};
  const std::string command = curl_command(event);
  CHECK(command.starts_with("printf '"));
  CHECK(command.find("--data-binary @-") != std::string::npos);
  CHECK(is_printable_text(command)); // safe to print on a terminal
  FakeCurl curl;
  for (const char* shell : {"sh", "bash"}) {
    CAPTURE(shell);
    CHECK(sent_body(curl.run(command, shell)) == body);
  }
}

TEST_CASE("bodies curl would misread or a terminal would act on go through printf")
{
  FakeCurl curl;
  for (const std::string& body :
       {std::string("@/etc/passwd"), std::string("color \x1b[31m red"),
        std::string("nul\0inside", 10), std::string("\xff\xfe"), std::string("lone\rcarriage")}) {
    CAPTURE(body);
    Event event = sample_event();
    event.body = body;
    const std::string command = curl_command(event);
    CHECK(command.find("--data-binary @-") != std::string::npos);
    CHECK(is_printable_text(command));
    CHECK(sent_body(curl.run(command)) == body);
  }
}

TEST_CASE("hop-by-hop and Content-Length headers and repeated Hosts are dropped")
{
  Event event = sample_event();
  event.headers = {{"Host", "a:1"},
                   {"Connection", "keep-alive, X-Hop"},
                   {"Keep-Alive", "timeout=5"},
                   {"Proxy-Connection", "x"},
                   {"TE", "trailers"},
                   {"Trailer", "X-T"},
                   {"Transfer-Encoding", "chunked"},
                   {"Upgrade", "h2c"},
                   {"Expect", "100-continue"},
                   {"Host", "b:2"},
                   {"Content-Length", "11"},
                   {"x-hop", "listed in Connection"},
                   {"User-Agent", "GitHub-Hookshot/abc"},
                   {"X-GitHub-Event", "push"},
                   {"X-GitHub-Event", "dup"}};
  FakeCurl curl;
  const CurlCall call = curl.run(curl_command(event));
  CHECK(header_args(call) == std::vector<std::string>{"Host: a:1",
                                                      "User-Agent: GitHub-Hookshot/abc",
                                                      "X-GitHub-Event: push", "X-GitHub-Event: dup",
                                                      "Accept:", "Content-Type:"});
  CHECK(call.args[4] == "http://127.0.0.1:7777/github/push?x=1");
}

TEST_CASE("method, version and special targets")
{
  Event event = sample_event();
  event.method = "HEAD";
  event.body.clear();
  event.headers = {{"Host", "h"}};
  event.http_version = "HTTP/1.0";
  FakeCurl curl;
  CurlCall call = curl.run(curl_command(event));
  CHECK(call.args == std::vector<std::string>{"--path-as-is", "--globoff", "--http1.0", "--head",
                                              "http://127.0.0.1:7777/github/push?x=1", "-H",
                                              "Host: h", "-H", "User-Agent:", "-H", "Accept:"});

  event = sample_event();
  event.method = "PROPFIND";
  event.headers = {}; // no Host: curl sends its own
  event.body.clear();
  call = curl.run(curl_command(event));
  CHECK(call.args[3] == "PROPFIND");
  CHECK(call.args[4] == "http://127.0.0.1:7777/github/push?x=1");
  CHECK(sent_body(call) == "<no body>");

  event.target = "*";
  event.method = "OPTIONS";
  call = curl.run(curl_command(event));
  CHECK(call.args[4] == "http://127.0.0.1:7777/");
  CHECK(call.args[5] == "--request-target");
  CHECK(call.args[6] == "*");
}

TEST_CASE("an empty body sent with Content-Length stays an empty body")
{
  Event event = sample_event();
  event.body.clear();
  event.headers = {{"Host", "h"}, {"Content-Length", "0"}};
  FakeCurl curl;
  const CurlCall call = curl.run(curl_command(event));
  CHECK(sent_body(call) == "");
  CHECK(header_args(call) ==
        std::vector<std::string>{"Host: h", "User-Agent:", "Accept:", "Content-Type:"});
}

TEST_CASE("large bodies suppress Expect and avoid the argument size limit")
{
  Event event = sample_event();
  event.body = std::string(300 * 1000, 'x');
  const std::string command = curl_command(event);
  CHECK(command.find("-H 'Expect:'") != std::string::npos);
  CHECK(command.find("--data-binary @-") != std::string::npos);
  FakeCurl curl;
  CHECK(sent_body(curl.run(command)) == event.body);
}

TEST_CASE("control bytes in header values and targets are rebuilt by printf")
{
  Event event = sample_event();
  event.target = "/x\x1b[2J";
  event.headers = {{"Host", "h"},
                   {"X-Ctl", "a\x1b]0;t\x07"
                             "b"}};
  const std::string command = curl_command(event);
  CHECK(is_printable_text(command));
  FakeCurl curl;
  const CurlCall call = curl.run(command);
  CHECK(call.args[4] == "http://127.0.0.1:7777/x\x1b[2J");
  CHECK(header_args(call)[1] == "X-Ctl: a\x1b]0;t\x07"
                                "b");
}

TEST_CASE("a hostile Host never becomes the host curl connects to")
{
  Event event = sample_event();
  event.headers = {{"Host", "169.254.169.254"},
                   {"Authorization", "Bearer secret"},
                   {"Content-Type", "application/json"}};
  FakeCurl curl;
  CurlCall call = curl.run(curl_command(event));
  CHECK(call.args[4] == "http://127.0.0.1:7777/github/push?x=1");
  // The header goes along (rag's listener sees what it captured); curl connects to the URL.
  CHECK(header_args(call) ==
        std::vector<std::string>{"Host: 169.254.169.254", "Authorization: Bearer secret",
                                 "Content-Type: application/json", "User-Agent:", "Accept:"});

  // An absolute-form target names a host too: it is sent verbatim, to the listener.
  event.target = "http://169.254.169.254/latest/meta-data/";
  call = curl.run(curl_command(event));
  CHECK(call.args[4] == "http://127.0.0.1:7777/");
  CHECK(call.args[5] == "--request-target");
  CHECK(call.args[6] == "http://169.254.169.254/latest/meta-data/");
  for (const auto& source : {"tunnel:https://smee.io/abc", "import:events.har", "other"}) {
    CAPTURE(source);
    event.source = source;
    call = curl.run(curl_command(event));
    CHECK(call.args[4] == "http://localhost:PORT/");
    CHECK(call.args[6] == "http://169.254.169.254/latest/meta-data/");
    CHECK(header_args(call) == std::vector<std::string>{"Authorization: Bearer secret",
                                                        "Content-Type: application/json",
                                                        "User-Agent:", "Accept:"});
  }
}

TEST_CASE("a listen event goes back to the listener that captured it")
{
  using rag::core::resend_target;
  Event event = sample_event();
  event.headers = {{"Host", "evil.example"}};
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"listen:127.0.0.1:7777", "http://127.0.0.1:7777/github/push?x=1"},
      {"listen:192.168.1.5:80", "http://192.168.1.5/github/push?x=1"},
      {"listen:[::1]:9000", "http://[::1]:9000/github/push?x=1"},
      {"listen:0.0.0.0:9000", "http://127.0.0.1:9000/github/push?x=1"},
      {"listen:[::]:9000", "http://[::1]:9000/github/push?x=1"},
  };
  for (const auto& [source, url] : cases) {
    CAPTURE(source);
    event.source = source;
    const auto target = resend_target(event, {});
    CHECK(target.url == url);
    CHECK(target.request_target.empty());
    CHECK(target.keep_host);
  }
  // A source that is not an address (a hand-edited log) gets the placeholder.
  for (const char* source : {"listen:", "listen:evil.example:80/x", "listen:a@b:1",
                             "listen:127.0.0.1:7777?q", "listen:1.2.3.4:99999"}) {
    CAPTURE(source);
    event.source = source;
    const auto target = resend_target(event, {});
    CHECK(target.url == "http://localhost:PORT/github/push?x=1");
    CHECK_FALSE(target.keep_host);
  }
}

TEST_CASE("a tunnel event goes where the tunnel delivered it; others to a placeholder")
{
  using rag::core::Delivery;
  using rag::core::resend_target;
  Event event = sample_event();
  event.source = "tunnel:https://smee.io/channel";
  event.headers = {{"Host", "smee.io"}, {"Content-Type", "application/json"}};
  const auto delivery = [](std::string target, std::int64_t time_us, bool replay) {
    Delivery d;
    d.event_id = "evt_1K151Q78NBGSJ62TEXS3STCH1M";
    d.target = std::move(target);
    d.time_us = time_us;
    d.replay = replay;
    return d;
  };
  const std::vector<Delivery> deliveries = {
      delivery("http://127.0.0.1:3001/other", 30, false),
      delivery("http://10.1.2.3:9/replayed", 10, true), // `rag replay --to`: not the tunnel's
      delivery("http://127.0.0.1:3000/hook?x=1", 20, false),
  };
  auto target = resend_target(event, deliveries);
  CHECK(target.url == "http://127.0.0.1:3000/hook?x=1");
  CHECK_FALSE(target.keep_host);
  FakeCurl curl;
  const CurlCall call = curl.run(curl_command(event, deliveries));
  CHECK(call.args[4] == "http://127.0.0.1:3000/hook?x=1");
  CHECK(header_args(call) ==
        std::vector<std::string>{"Content-Type: application/json", "User-Agent:", "Accept:"});

  // Never delivered, or only replayed, or a target that is not a URL: the placeholder.
  for (const auto& list :
       {std::vector<Delivery>{}, std::vector<Delivery>{delivery("http://10.1.2.3:9/", 1, true)},
        std::vector<Delivery>{delivery("file:///etc/passwd", 1, false)}}) {
    target = resend_target(event, list);
    CHECK(target.url == "http://localhost:PORT/github/push?x=1");
    CHECK_FALSE(target.keep_host);
  }

  // An imported event's deliveries come from another log: they are not trusted.
  event.source = "import:events.jsonl";
  target = resend_target(event, deliveries);
  CHECK(target.url == "http://localhost:PORT/github/push?x=1");
  event.target = "*";
  target = resend_target(event, deliveries);
  CHECK(target.url == "http://localhost:PORT/");
  CHECK(target.request_target == "*");
}
