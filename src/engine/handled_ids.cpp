#include "engine/handled_ids.hpp"

#include "core/event_log.hpp"
#include "core/record_json.hpp"
#include "util/terminal.hpp"

#include <fmt/core.h>

#include <variant>

namespace rag::engine {

namespace {

constexpr std::string_view k_crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

} // namespace

Result<std::string>
find_resume_id(const std::string& log_path, const std::string& source)
{
  auto warn = [](const std::string& message) {
    util::write_line(stderr, fmt::format("rag: warning: {}", message));
  };
  core::EventLogReader reader(log_path, warn);
  const std::string needle = "\"source\":\"" + core::json_escape(source) + "\"";
  std::string found;
  auto raw = [&](std::string_view line) {
    return line.find("\"relay_id\":\"") != std::string_view::npos &&
           line.find(needle) != std::string_view::npos;
  };
  auto on_record = [&](core::Record&& record, const core::LogLine&) {
    const auto* event = std::get_if<core::Event>(&record);
    if (event == nullptr || event->source != source || event->relay_id.empty()) {
      return true;
    }
    found = event->relay_id;
    return false;
  };
  RAG_TRY(reader.for_each_record_reverse(on_record, raw));
  return found;
}

bool
is_rag_id(std::string_view id)
{
  if (id.size() != 30 || id.substr(0, 4) != "evt_") {
    return false;
  }
  for (const char c : id.substr(4)) {
    if (k_crockford.find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

bool
HandledIds::contains(std::string_view id) const
{
  if (id.empty()) {
    return false;
  }
  if (is_rag_id(id) && !m_newest_rag.empty() && id <= m_newest_rag) {
    return true;
  }
  return m_recent_set.count(std::string(id)) > 0;
}

void
HandledIds::add(const std::string& id)
{
  if (id.empty()) {
    return;
  }
  if (is_rag_id(id)) {
    if (id > m_newest_rag) {
      m_newest_rag = id;
    }
    return;
  }
  if (!m_recent_set.insert(id).second) {
    return;
  }
  m_recent.push_back(id);
  if (m_recent.size() > k_max_recent) {
    m_recent_set.erase(m_recent.front());
    m_recent.pop_front();
  }
}

} // namespace rag::engine
