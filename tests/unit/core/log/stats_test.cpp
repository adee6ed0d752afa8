#include "core/log/stats.hpp"

#include "core/log/record_writer.hpp"
#include "util/bytes.hpp"

#include "support/log_lines.hpp"
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <fmt/core.h>

using namespace rag::core;
using namespace rag::test;

TEST_CASE("stats: FrequencyCounter is exact up to its capacity")
{
  FrequencyCounter counter(3);
  for (const char* key : {"b", "a", "b", "c", "a", "b"}) {
    counter.add(key);
  }
  const auto top = counter.top(10);
  REQUIRE(top.size() == 3);
  CHECK(top[0].name == "b");
  CHECK(top[0].count == 3);
  CHECK(top[1].name == "a");
  CHECK(top[1].count == 2);
  CHECK(top[2].name == "c");
  CHECK(counter.exact());
  CHECK(counter.top(1).size() == 1);

  // Ties are listed in byte order.
  FrequencyCounter ties(10);
  for (const char* key : {"z", "m", "a"}) {
    ties.add(key);
  }
  const auto tied = ties.top(3);
  CHECK(tied[0].name == "a");
  CHECK(tied[2].name == "z");
}

TEST_CASE("stats: FrequencyCounter keeps a heavy key in bounded memory")
{
  FrequencyCounter counter(8);
  for (int i = 0; i < 1000; ++i) {
    counter.add("/hot");
    counter.add(fmt::format("/cold/{}", i));
  }
  CHECK_FALSE(counter.exact());
  const auto top = counter.top(100);
  CHECK(top.size() <= 8);
  REQUIRE_FALSE(top.empty());
  CHECK(top[0].name == "/hot");
  CHECK(top[0].count <= 1000); // an under-estimate, never more

  FrequencyCounter cut(2);
  cut.add(std::string(1000, 'x'));
  CHECK(cut.top(1)[0].name.size() == 256);
}

TEST_CASE("stats: LogStatsBuilder counts records, times, methods, paths, statuses")
{
  LogStatsBuilder builder;
  builder.add(make_event(1, 300, "POST", "/github?x=1"));
  builder.add(make_event(2, 100, "GET", "/stripe"));
  builder.add(make_event(3, 200, "POST", "/github"));
  builder.add(make_delivery(1, 1, 200));
  builder.add(make_delivery(2, 1, 204, true));
  builder.add(make_delivery(3, 2, 0));
  builder.add(make_delivery(4, 2, 302));
  builder.add(make_delivery(5, 2, 404));
  builder.add(make_delivery(6, 2, 500));
  builder.add(make_delivery(7, 2, 100));
  builder.add(make_delivery(8, 2, 999)); // not HTTP: counted as failed
  builder.add_bad_line();
  const LogStats stats = builder.finish(1);

  CHECK(stats.lines == 12);
  CHECK(stats.events == 3);
  CHECK(stats.deliveries == 8);
  CHECK(stats.replays == 1);
  CHECK(stats.bad_lines == 1);
  CHECK(stats.oldest_us == 100);
  CHECK(stats.newest_us == 300);
  REQUIRE(stats.methods.size() == 2);
  CHECK(stats.methods[0].name == "POST");
  CHECK(stats.methods[0].count == 2);
  REQUIRE(stats.top_paths.size() == 1);
  CHECK(stats.top_paths[0].name == "/github");
  CHECK(stats.top_paths[0].count == 2);
  CHECK(stats.statuses.informational == 1);
  CHECK(stats.statuses.success == 2);
  CHECK(stats.statuses.redirection == 1);
  CHECK(stats.statuses.client_error == 1);
  CHECK(stats.statuses.server_error == 1);
  CHECK(stats.statuses.failed == 2);
  CHECK_FALSE(stats.approximate);

  const std::string json = to_json_line(stats, "/x/events.jsonl");
  CHECK(json.find(R"({"path":"/x/events.jsonl","exists":false,"size":0,"lines":12,"events":3,)"
                  R"("refused":0,"deliveries":8,"replays":1,"bad_lines":1,)") == 0);
  CHECK(json.find(R"("methods":{"POST":2,"GET":1})") != std::string::npos);
  CHECK(json.find(R"("paths":[{"path":"/github","events":2}])") != std::string::npos);
  CHECK(json.find(R"("statuses":{"1xx":1,"2xx":2,"3xx":1,"4xx":1,"5xx":1,"error":2})") !=
        std::string::npos);
  CHECK(json.find(R"("oldest":"1970-01-01T00:00:00.000100Z")") != std::string::npos);
}

TEST_CASE("stats: empty stats have null times, and odd bytes stay valid JSON")
{
  const LogStats empty = LogStatsBuilder().finish();
  const std::string json = to_json_line(empty, "p");
  CHECK(json.find(R"("oldest":null,"newest":null)") != std::string::npos);

  LogStatsBuilder builder;
  builder.add(make_event(1, 1, "POST", std::string("/\xff\x01?q")));
  const std::string odd = to_json_line(builder.finish(), "p");
  CHECK(rag::util::is_valid_utf8(odd));
  CHECK(odd.find(R"(\u0001)") != std::string::npos);
}

TEST_CASE("stats: refused events are counted; one without a request line has no method or path")
{
  LogStatsBuilder builder;
  Event refused;
  refused.rejected = Rejection{400, "invalid method", 0};
  builder.add(refused);
  Event too_large;
  too_large.method = "POST";
  too_large.target = "/big?x=1";
  too_large.rejected = Rejection{413, "request body too large", 0};
  builder.add(too_large);
  Event fine;
  fine.method = "POST";
  fine.target = "/big";
  builder.add(fine);
  const LogStats stats = builder.finish();
  CHECK(stats.events == 3);
  CHECK(stats.refused == 2);
  REQUIRE(stats.methods.size() == 1);
  CHECK(stats.methods[0].name == "POST");
  CHECK(stats.methods[0].count == 2);
  REQUIRE(stats.top_paths.size() == 1);
  CHECK(stats.top_paths[0].count == 2);
  CHECK(to_json_line(stats, "x").find(R"("events":3,"refused":2,)") != std::string::npos);
}
