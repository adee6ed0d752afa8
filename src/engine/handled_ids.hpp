#pragma once

// Which relay events `rag tunnel` has handled already: where to resume after a restart
// and which repeats to skip.

#include "util/result.hpp"

#include <cstddef>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_set>

namespace rag::engine {

// Return the relay id of the newest event from `source` in the log at `log_path` that
// has one (reading from the end of the log), or "" when there is none.
Result<std::string> find_resume_id(const std::string& log_path, const std::string& source);

// Return true when `id` is a rag event id ("evt_" + 26 upper-case Crockford base32
// characters), which sort by time as strings.
bool is_rag_id(std::string_view id);

// The relay ids a tunnel has handled, to skip what a relay sends again. Rag ids sort by
// time, so one at or before the newest handled rag id is a repeat; other ids are kept
// in a bounded set of recent ones.
class HandledIds
{
public:
  // Return true when `id` (not empty) was handled already.
  bool contains(std::string_view id) const;
  // Remember `id` as handled; the empty id is ignored.
  void add(const std::string& id);

private:
  static constexpr std::size_t k_max_recent = 4096;
  std::string m_newest_rag;
  std::deque<std::string> m_recent;
  std::unordered_set<std::string> m_recent_set;
};

} // namespace rag::engine
