#include "core/log/stats.hpp"

#include "core/log/reader.hpp"
#include "core/log/record_parser.hpp"
#include "core/log/record_time.hpp"

#include <algorithm>
#include <limits>
#include <utility>
#include <variant>

#include <nlohmann/json.hpp>

namespace rag::core {

namespace {

using Json = nlohmann::ordered_json;

// Longer keys are cut so that FrequencyCounter's memory stays bounded.
constexpr std::size_t k_max_key_bytes = 256;
// Distinct methods and paths counted exactly; more make the counts approximate.
constexpr std::size_t k_method_capacity = 64;
constexpr std::size_t k_path_capacity = 10000;

Json
optional_time(const std::optional<std::int64_t>& time_us)
{
  return time_us ? Json(format_time_us(*time_us)) : Json(nullptr);
}

} // namespace

FrequencyCounter::FrequencyCounter(std::size_t capacity)
    : m_capacity(std::max<std::size_t>(capacity, 1))
{}

void
FrequencyCounter::add(std::string_view key)
{
  std::string name(key.substr(0, k_max_key_bytes));
  if (auto it = m_counts.find(name); it != m_counts.end()) {
    ++it->second;
    return;
  }
  if (m_counts.size() < m_capacity) {
    m_counts.emplace(std::move(name), 1);
    return;
  }
  // Misra-Gries: a new key when full takes one away from every counter instead. Each
  // such round removes at least as much as it costs, so the whole run stays linear.
  m_exact = false;
  for (auto it = m_counts.begin(); it != m_counts.end();) {
    if (--it->second == 0) {
      it = m_counts.erase(it);
    } else {
      ++it;
    }
  }
}

std::vector<NamedCount>
FrequencyCounter::top(std::size_t n) const
{
  std::vector<NamedCount> all;
  all.reserve(m_counts.size());
  for (const auto& [name, count] : m_counts) {
    all.push_back({name, count});
  }
  const auto order = [](const NamedCount& a, const NamedCount& b) {
    return a.count != b.count ? a.count > b.count : a.name < b.name;
  };
  const std::size_t keep = std::min(n, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(keep), all.end(), order);
  all.resize(keep);
  return all;
}

LogStatsBuilder::LogStatsBuilder() : m_methods(k_method_capacity), m_paths(k_path_capacity) {}

void
LogStatsBuilder::add(const Record& record)
{
  ++m_stats.lines;
  if (const auto* event = std::get_if<Event>(&record)) {
    ++m_stats.events;
    if (!m_stats.oldest_us || event->time_us < *m_stats.oldest_us) {
      m_stats.oldest_us = event->time_us;
    }
    if (!m_stats.newest_us || event->time_us > *m_stats.newest_us) {
      m_stats.newest_us = event->time_us;
    }
    if (event->rejected) {
      ++m_stats.refused;
    }
    // A request refused before its request line was read has neither method nor path.
    if (!event->method.empty()) {
      m_methods.add(event->method);
    }
    if (const std::string_view target = event->target; !target.empty()) {
      m_paths.add(target.substr(0, target.find('?')));
    }
    return;
  }
  const auto& delivery = std::get<Delivery>(record);
  ++m_stats.deliveries;
  if (delivery.replay) {
    ++m_stats.replays;
  }
  const int status = delivery.status;
  auto& classes = m_stats.statuses;
  if (!delivery.error.empty() || status < 100 || status > 599) {
    ++classes.failed;
  } else if (status < 200) {
    ++classes.informational;
  } else if (status < 300) {
    ++classes.success;
  } else if (status < 400) {
    ++classes.redirection;
  } else if (status < 500) {
    ++classes.client_error;
  } else {
    ++classes.server_error;
  }
}

void
LogStatsBuilder::add_bad_line()
{
  ++m_stats.lines;
  ++m_stats.bad_lines;
}

LogStats
LogStatsBuilder::finish(std::size_t top) const
{
  LogStats stats = m_stats;
  stats.methods = m_methods.top(std::numeric_limits<std::size_t>::max());
  stats.top_paths = m_paths.top(top);
  stats.approximate = !m_methods.exact() || !m_paths.exact();
  return stats;
}

Result<LogStats>
collect_log_stats(const std::string& path)
{
  LogStatsBuilder builder;
  const EventLogReader reader(path);
  RAG_TRY_ASSIGN(const LineScan scan, reader.scan_lines([&](const LogLine& line) {
    auto record = parse_record(line.text);
    if (record) {
      builder.add(*record);
    } else {
      builder.add_bad_line();
    }
    return true;
  }));
  if (scan.tail_torn) {
    builder.add_bad_line();
  }
  LogStats stats = builder.finish();
  stats.exists = scan.exists;
  stats.size = scan.size;
  return stats;
}

std::string
to_json_line(const LogStats& stats, const std::string& path)
{
  Json methods = Json::object();
  for (const auto& method : stats.methods) {
    methods[method.name] = method.count;
  }
  Json paths = Json::array();
  for (const auto& entry : stats.top_paths) {
    paths.push_back(Json{{"path", entry.name}, {"events", entry.count}});
  }
  const auto& s = stats.statuses;
  const Json statuses{{"1xx", s.informational}, {"2xx", s.success},      {"3xx", s.redirection},
                      {"4xx", s.client_error},  {"5xx", s.server_error}, {"error", s.failed}};
  const Json json{{"path", path},
                  {"exists", stats.exists},
                  {"size", stats.size},
                  {"lines", stats.lines},
                  {"events", stats.events},
                  {"refused", stats.refused},
                  {"deliveries", stats.deliveries},
                  {"replays", stats.replays},
                  {"bad_lines", stats.bad_lines},
                  {"oldest", optional_time(stats.oldest_us)},
                  {"newest", optional_time(stats.newest_us)},
                  {"methods", methods},
                  {"paths", paths},
                  {"statuses", statuses},
                  {"approximate", stats.approximate}};
  // Invalid UTF-8 (a raw target can hold any byte) is replaced, never thrown.
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

} // namespace rag::core
