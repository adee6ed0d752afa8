#include "commands/import.hpp"
#include "engine/console.hpp"

#include "support/log_fixture.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <string>

using namespace rag;

TEST_CASE("rag import: a few warnings and a count for a file of the wrong kind, then exit 1")
{
  test::TempLog log;
  const std::string file = log.dir.file("twenty.txt");
  {
    std::ofstream out(file);
    for (int i = 0; i < 20; ++i) {
      out << "not json " << i << '\n';
    }
  }
  engine::StringConsole console;
  commands::ImportOptions options;
  options.file = file;
  options.log_path = log.path;
  auto imported = commands::run_import(options, console);
  REQUIRE_FALSE(imported.ok());
  CHECK(imported.error().message == "nothing imported from " + file + " (20 skipped)");
  const std::string err = console.err_text();
  CHECK(err.find(file + ": line 1: ") != std::string::npos);
  CHECK(err.find(file + ": line 3: ") != std::string::npos);
  CHECK(err.find(file + ": line 4: ") == std::string::npos);
  CHECK(err.find(file + ": 17 more skipped, 20 in all (not shown)") != std::string::npos);
  CHECK(console.out_text().empty());
}

TEST_CASE("rag import: an empty file imports nothing and says so")
{
  test::TempLog log;
  const std::string file = log.dir.file("empty.jsonl");
  std::ofstream(file).flush();
  engine::StringConsole console;
  commands::ImportOptions options;
  options.file = file;
  options.log_path = log.path;
  auto imported = commands::run_import(options, console);
  REQUIRE_FALSE(imported.ok());
  CHECK(imported.error().message == "nothing imported from " + file + ": it holds no records");
  CHECK(console.err_text().empty());
}
