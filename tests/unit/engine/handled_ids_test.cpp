#include "core/log/record_writer.hpp"
#include "core/log/writer.hpp"
#include "engine/handled_ids.hpp"

#include "support/log_fixture.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace rag;

namespace {

const std::string k_channel = "http://relay.test:8080/hooks/chan-1";

// Rag ids in increasing order (time part 0..9, fixed random part).
std::string
rag_id(int n)
{
  return "evt_01KAF2J9Z" + std::to_string(n) + std::string(16, '0');
}

} // namespace

TEST_CASE("handled ids: rag ids by order, others by a bounded set")
{
  CHECK(engine::is_rag_id(rag_id(1)));
  CHECK_FALSE(engine::is_rag_id("evt_01kaf2j9z1000000000000000"));         // lower case
  CHECK_FALSE(engine::is_rag_id(rag_id(1) + "0"));                         // too long
  CHECK_FALSE(engine::is_rag_id(rag_id(1).substr(0, 29)));                 // too short
  CHECK_FALSE(engine::is_rag_id("evt_01KAF2J9ZU" + std::string(16, '0'))); // U: not Crockford
  CHECK_FALSE(engine::is_rag_id("dlv_01KAF2J9Z1000000000000000"));
  CHECK_FALSE(engine::is_rag_id("42"));

  engine::HandledIds handled;
  CHECK_FALSE(handled.contains(rag_id(1)));
  handled.add(rag_id(5));
  CHECK(handled.contains(rag_id(1)));
  CHECK(handled.contains(rag_id(5)));
  CHECK_FALSE(handled.contains(rag_id(6)));
  CHECK_FALSE(handled.contains(""));

  handled.add("42");
  CHECK(handled.contains("42"));
  CHECK_FALSE(handled.contains("43"));
  for (int i = 0; i < 5000; ++i) {
    handled.add("id-" + std::to_string(i));
  }
  CHECK_FALSE(handled.contains("42")); // evicted: the set stays bounded
  CHECK(handled.contains("id-4999"));
  CHECK(handled.contains(rag_id(3))); // rag ids are not affected by the set
}

TEST_CASE("handled ids: resume after the newest relay id the log holds for this channel")
{
  test::TempLog log;
  engine::StringConsole console;
  CHECK(*engine::find_resume_id(log.path, "tunnel:x", console) == ""); // no log yet
  {
    auto writer = core::EventLogWriter::open(log.path);
    REQUIRE(writer.ok());
    auto append = [&](const std::string& source, const std::string& relay_id, int n) {
      core::Event event;
      event.id = "evt_01KAF2J9Z" + std::to_string(n) + std::string(16, 'A');
      event.time_us = 1'700'000'000'000'000 + n;
      event.source = source;
      event.method = "POST";
      event.target = "/";
      event.http_version = "HTTP/1.1";
      event.relay_id = relay_id;
      REQUIRE(writer->append(core::to_json_line(event)).ok());
    };
    append("tunnel:" + k_channel, "r1", 1);
    append("tunnel:https://smee.io/other", "r2", 2);
    append("tunnel:" + k_channel, "r3", 3);
    append("listen:127.0.0.1:7777", "", 4);
    append("tunnel:" + k_channel, "", 5); // no relay id: not a resume point
    append("tunnel:" + k_channel + "-2", "r6", 6);
  }
  CHECK(*engine::find_resume_id(log.path, "tunnel:" + k_channel, console) == "r3");
  CHECK(*engine::find_resume_id(log.path, "tunnel:https://smee.io/other", console) == "r2");
  CHECK(*engine::find_resume_id(log.path, "tunnel:https://smee.io/none", console) == "");
  CHECK(console.err_text().empty());
}

TEST_CASE("handled ids: the tunnel's state file beside the log, one per channel")
{
  test::TempLog log;
  const std::string dir = log.dir.path();
  const std::string path = engine::tunnel_state_path(log.path, k_channel);
  CHECK(path == dir + "/tunnel/http___relay.test_8080_hooks_chan-1.json");
  CHECK(engine::tunnel_state_path("events.jsonl", "https://a/b") == "./tunnel/https___a_b.json");
  // Long channel URLs give names within NAME_MAX.
  const std::string long_path =
      engine::tunnel_state_path(log.path, "https://a/" + std::string(500, 'x'));
  CHECK(long_path.size() - (dir.size() + 8) <= 210);

  std::vector<std::string> warnings;
  const auto warn = [&](const std::string& message) { warnings.push_back(message); };
  CHECK(engine::read_tunnel_state(path, k_channel, warn) == ""); // none yet, no warning
  CHECK(warnings.empty());

  REQUIRE(engine::write_tunnel_state(path, k_channel, rag_id(3)).ok());
  CHECK(std::filesystem::status(dir + "/tunnel").permissions() ==
        std::filesystem::perms::owner_all);
  CHECK(engine::read_tunnel_state(path, k_channel, warn) == rag_id(3));
  REQUIRE(engine::write_tunnel_state(path, k_channel, rag_id(4)).ok()); // replaced in place
  CHECK(engine::read_tunnel_state(path, k_channel, warn) == rag_id(4));
  // A channel whose file name is the same (":" and "/" both become "_") is not this one.
  CHECK(engine::read_tunnel_state(path, "http://relay.test_8080/hooks/chan-1", warn) == "");
  CHECK(warnings.empty());
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir + "/tunnel")) {
    ++files;
  }
  CHECK(files == 1); // no temporary file left behind

  for (const std::string& bad :
       std::vector<std::string>{"", "not json", "[1,2]", std::string(100000, '[')}) {
    std::ofstream(path, std::ios::trunc) << bad;
    warnings.clear();
    CHECK(engine::read_tunnel_state(path, k_channel, warn) == "");
    CHECK(warnings.size() == 1);
  }
  std::ofstream(path, std::ios::trunc) << R"({"channel":")" << k_channel << R"(","resume_id":7})";
  CHECK(engine::read_tunnel_state(path, k_channel, warn) == "");
}

TEST_CASE("handled ids: the later of the log's and the state file's resume points")
{
  CHECK(engine::later_resume_id(rag_id(3), rag_id(5)) == rag_id(5));
  CHECK(engine::later_resume_id(rag_id(5), rag_id(3)) == rag_id(5));
  CHECK(engine::later_resume_id("", rag_id(3)) == rag_id(3));
  CHECK(engine::later_resume_id(rag_id(3), "") == rag_id(3));
  CHECK(engine::later_resume_id("", "") == "");
  // Ids that do not sort by time: the log names a webhook that was handled.
  CHECK(engine::later_resume_id("smee-1", "smee-2") == "smee-1");
  CHECK(engine::later_resume_id("", "smee-2") == "smee-2");
}
