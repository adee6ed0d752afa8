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
        "  -H 'Content-Type: application/json' \\\n"
        "  -H 'X-Empty;' \\\n"
        "  -H 'User-Agent:' \\\n"
        "  -H 'Accept:' \\\n"
        "  --data-binary '{\"a\":\"b c\"}'\n");
  FakeCurl curl;
  const CurlCall call = curl.run(command);
  CHECK(call.args == std::vector<std::string>{"--path-as-is", "--globoff", "-X", "POST",
                                              "http://127.0.0.1:7777/github/push?x=1", "-H",
                                              "Content-Type: application/json", "-H", "X-Empty;",
                                              "-H", "User-Agent:", "-H", "Accept:", "--data-binary",
                                              "{\"a\":\"b c\"}"});
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
    CHECK(call.args[4] == "http://h.example:8080/p?a[]=1&b={x,y}&c=$(id)&d='q'");
    CHECK(header_args(call) == std::vector<std::string>{"User-Agent: it's `uname` $(id) \"x\"",
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

TEST_CASE("hop-by-hop, Host and Content-Length headers are dropped")
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
                   {"Content-Length", "11"},
                   {"x-hop", "listed in Connection"},
                   {"User-Agent", "GitHub-Hookshot/abc"},
                   {"X-GitHub-Event", "push"},
                   {"X-GitHub-Event", "dup"}};
  FakeCurl curl;
  const CurlCall call = curl.run(curl_command(event));
  CHECK(header_args(call) == std::vector<std::string>{"User-Agent: GitHub-Hookshot/abc",
                                                      "X-GitHub-Event: push", "X-GitHub-Event: dup",
                                                      "Accept:", "Content-Type:"});
  CHECK(call.args[4] == "http://a:1/github/push?x=1");
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
                                              "http://h/github/push?x=1", "-H", "User-Agent:", "-H",
                                              "Accept:"});

  event = sample_event();
  event.method = "PROPFIND";
  event.headers = {}; // no Host: the listener address from the source
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
  CHECK(header_args(call) == std::vector<std::string>{"User-Agent:", "Accept:", "Content-Type:"});
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
  CHECK(call.args[4] == "http://h/x\x1b[2J");
  CHECK(header_args(call)[0] == "X-Ctl: a\x1b]0;t\x07"
                                "b");
}
