#include "engine/console.hpp"

#include <doctest/doctest.h>

#include <thread>
#include <vector>

using namespace rag;

TEST_CASE("Console: warnings and errors have one form; lines stay whole across threads")
{
  engine::StringConsole console;
  console.out("data");
  console.warning("careful");
  console.error(error("it broke", "do this"));
  console.error(usage_error("no hint"));
  CHECK(console.out_text() == "data\n");
  CHECK(console.err_text() ==
        "rag: warning: careful\nrag: error: it broke (do this)\nrag: error: no hint\n");

  engine::StringConsole shared;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&shared, t] {
      for (int i = 0; i < 500; ++i) {
        shared.out(std::string(40, static_cast<char>('a' + t)));
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  const std::string text = shared.out_text();
  std::size_t lines = 0;
  for (std::size_t start = 0; start < text.size(); ++lines) {
    const std::size_t end = text.find('\n', start);
    REQUIRE(end - start == 40);
    CHECK(text.substr(start, 40) == std::string(40, text[start]));
    start = end + 1;
  }
  CHECK(lines == 2000);
}

TEST_CASE("Console: a status line is kept only where status lines are shown")
{
  engine::StringConsole terminal(true);
  CHECK(terminal.shows_status());
  terminal.status("replaying [=> ] 1/2");
  terminal.err("a line above it");
  CHECK(terminal.status_text() == "replaying [=> ] 1/2");
  CHECK(terminal.err_text() == "a line above it\n");
  terminal.status({});
  CHECK(terminal.status_text().empty());

  engine::StringConsole pipe;
  CHECK_FALSE(pipe.shows_status());
  pipe.status("replaying");
  CHECK(pipe.status_text().empty());
  CHECK(pipe.err_text().empty());
}
