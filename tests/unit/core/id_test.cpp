#include "core/id.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace rag::core;

namespace {

constexpr std::string_view k_alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

} // namespace

TEST_CASE("id: format is prefix, underscore and 26 Crockford base32 chars")
{
  RandomIdSource ids;
  const std::int64_t t = 1795675527123456;
  const auto id = ids.next("evt", t);
  REQUIRE(id.size() == 4 + 26);
  CHECK(id.substr(0, 4) == "evt_");
  for (const char c : id.substr(4)) {
    CAPTURE(c);
    CHECK(k_alphabet.find(c) != std::string_view::npos);
  }
  CHECK(id_time_us(id) == t);
  CHECK(ids.next("dlv", t + 10).substr(0, 4) == "dlv_");
  // A prefix given with its underscore is not doubled.
  CHECK(ids.next("evt_", t + 20).substr(0, 5) != "evt__");
}

TEST_CASE("id: ids sort by time, across sources")
{
  std::vector<std::pair<std::int64_t, std::string>> made;
  const std::vector<std::int64_t> times = {5'000'000, 1'000'000, 1'700'000'000'000'000, 3'000'000,
                                           99};
  for (const std::int64_t t : times) {
    // A fresh source per id: within one source a backwards time would be bumped.
    RandomIdSource ids;
    made.emplace_back(t, ids.next("evt", t));
  }
  auto by_id = made;
  std::sort(by_id.begin(), by_id.end(),
            [](const auto& x, const auto& y) { return x.second < y.second; });
  auto by_time = made;
  std::sort(by_time.begin(), by_time.end());
  CHECK(by_id == by_time);
}

TEST_CASE("id: strictly increasing with a frozen or backwards clock")
{
  RandomIdSource ids;
  std::string previous = ids.next("evt", 1'000'000);
  std::int64_t previous_time = id_time_us(previous);
  // Frozen clock, then a clock that steps back.
  for (int i = 0; i < 1000; ++i) {
    const std::int64_t now = i < 500 ? 1'000'000 : 1'000'000 - i * 1000;
    const auto id = ids.next("evt", now);
    CHECK(id > previous);
    CHECK(id_time_us(id) > previous_time);
    previous = id;
    previous_time = id_time_us(id);
  }
}

TEST_CASE("id: 10,000 ids are unique, also from several threads")
{
  RandomIdSource ids;
  std::set<std::string> seen;
  for (int i = 0; i < 10'000; ++i) {
    seen.insert(ids.next("evt", 42));
  }
  CHECK(seen.size() == 10'000);

  std::vector<std::vector<std::string>> per_thread(4);
  std::vector<std::thread> threads;
  for (auto& out : per_thread) {
    threads.emplace_back([&ids, &out] {
      for (int i = 0; i < 2'500; ++i) {
        out.push_back(ids.next("evt", 7));
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  std::set<std::string> all;
  for (const auto& out : per_thread) {
    CHECK(std::is_sorted(out.begin(), out.end()));
    all.insert(out.begin(), out.end());
  }
  CHECK(all.size() == 10'000);
}

TEST_CASE("id: random part differs between sources at the same time")
{
  RandomIdSource a;
  RandomIdSource b;
  const auto x = a.next("evt", 1'000'000);
  const auto y = b.next("evt", 1'000'000);
  CHECK(x.substr(0, 15) == y.substr(0, 15)); // same time part
  CHECK(x != y);
}

TEST_CASE("id: short_id and id_time_us on malformed ids")
{
  RandomIdSource ids;
  const auto id = ids.next("evt", 1'234'567);
  CHECK(short_id(id) == id.substr(0, 4 + k_short_id_chars));
  CHECK(short_id("evt_ABC") == "evt_ABC");
  CHECK(short_id("noprefix0123456789") == "noprefix012345");

  CHECK(id_time_us("") == -1);
  CHECK(id_time_us("evt_") == -1);
  CHECK(id_time_us("evt_0123") == -1);
  CHECK(id_time_us("evt_" + std::string(26, 'U')) == -1); // U is not Crockford
  CHECK(id_time_us(std::string(30, '0')) == -1);          // no prefix
  CHECK(id_time_us("evt_" + std::string(26, '0')) == 0);
  std::string lower = id;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  CHECK(id_time_us(lower) == 1'234'567);
}
