#include "core/event_log.hpp"
#include "core/record_json.hpp"
#include "engine/handled_ids.hpp"

#include "support/log_fixture.hpp"

#include <doctest/doctest.h>

#include <string>

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
  CHECK(*engine::find_resume_id(log.path, "tunnel:x") == ""); // no log yet
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
  CHECK(*engine::find_resume_id(log.path, "tunnel:" + k_channel) == "r3");
  CHECK(*engine::find_resume_id(log.path, "tunnel:https://smee.io/other") == "r2");
  CHECK(*engine::find_resume_id(log.path, "tunnel:https://smee.io/none") == "");
}
