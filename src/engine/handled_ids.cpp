#include "engine/handled_ids.hpp"

#include "core/json_fields.hpp"
#include "core/json_line.hpp"
#include "core/log/reader.hpp"
#include "core/log/record_writer.hpp"
#include "util/file.hpp"
#include "util/terminal.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cerrno>
#include <variant>

namespace rag::engine {

namespace {

constexpr std::string_view k_crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
// A state file is a few hundred bytes; anything much bigger is not ours.
constexpr std::size_t k_max_state_size = 64 * 1024;
// File names stay well under NAME_MAX (255); the channel inside the file tells apart
// two channels whose names agree this far.
constexpr std::size_t k_max_state_name = 200;

bool
is_name_byte(char c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-';
}

} // namespace

Result<std::string>
find_resume_id(const std::string& log_path, const std::string& source, Console& console)
{
  auto warn = [&console](const std::string& message) { console.warning(message); };
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

std::string
tunnel_state_path(const std::string& log_path, const std::string& channel)
{
  std::string name;
  for (const char c : channel.substr(0, k_max_state_name)) {
    name += is_name_byte(c) ? c : '_';
  }
  return util::directory_of(log_path) + "/tunnel/" + name + ".json";
}

std::string
read_tunnel_state(const std::string& path, const std::string& channel,
                  const std::function<void(const std::string&)>& warn)
{
  std::string text;
  if (const int err = util::read_file(path, k_max_state_size, text); err != 0) {
    if (err != ENOENT) {
      warn(
          fmt::format("cannot read the tunnel's resume point {}: {}", path, util::errno_text(err)));
    }
    return {};
  }
  const auto state = core::json_string_fields(text);
  if (!state) {
    warn(fmt::format("ignoring the tunnel's resume point {}: not a JSON object", path));
    return {};
  }
  const auto field = [&state](const char* key) {
    const auto found = state->find(key);
    return found == state->end() ? std::string() : found->second;
  };
  if (field("channel") != channel) {
    return {}; // another channel whose file name is the same
  }
  return field("resume_id");
}

Result<void>
write_tunnel_state(const std::string& path, const std::string& channel,
                   const std::string& resume_id)
{
  const std::string dir = util::directory_of(path);
  std::string failed;
  if (const int err = util::make_directories(dir, 0700, failed); err != 0) {
    return error(fmt::format("cannot create {}: {}", failed, util::errno_text(err)),
                 "check the permissions of the log's directory");
  }
  RAG_TRY_ASSIGN(util::TempFile temp, util::TempFile::create_beside(path, "tmp"));
  const std::string text =
      core::JsonLine().text("channel", channel).text("resume_id", resume_id).str() + "\n";
  int err = util::write_all(temp.fd(), text) ? 0 : errno;
  if (err == 0) {
    err = temp.finish();
  }
  if (err == 0) {
    err = temp.rename_over(path);
  }
  if (err != 0) {
    return error(fmt::format("cannot write {}: {}", path, util::errno_text(err)),
                 "check the free space and permissions of the log's directory");
  }
  return {};
}

std::string
later_resume_id(const std::string& from_log, const std::string& from_state)
{
  if (is_rag_id(from_log) && is_rag_id(from_state)) {
    return std::max(from_log, from_state);
  }
  return from_log.empty() ? from_state : from_log;
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
