#pragma once

// Which relay events `rag tunnel` has handled already: where to resume after a restart
// and which repeats to skip.

#include "engine/console.hpp"
#include "util/result.hpp"

#include <cstddef>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_set>

namespace rag::engine {

// Return the relay id of the newest event from `source` in the log at `log_path` that
// has one (reading from the end of the log), or "" when there is none.
Result<std::string> find_resume_id(const std::string& log_path, const std::string& source,
                                   Console& console);

// Return the file where `rag tunnel` keeps its resume point for `channel` (the channel's
// display URL) beside the log at `log_path`: `tunnel/` in the log's directory, named
// after the channel with every byte but A-Z a-z 0-9 . - replaced by `_`, plus `.json`.
std::string tunnel_state_path(const std::string& log_path, const std::string& channel);

// Return the resume id the state file at `path` holds for `channel`, or "" when there is
// none; a file that cannot be read or parsed is reported through `warn` and gives "".
std::string read_tunnel_state(const std::string& path, const std::string& channel,
                              const std::function<void(const std::string&)>& warn);

// Write `resume_id` as the resume point of `channel` to `path` atomically (a temporary
// file renamed over it), creating its directory with mode 0700.
Result<void> write_tunnel_state(const std::string& path, const std::string& channel,
                                const std::string& resume_id);

// Return the later of two resume points: the greater when both are rag ids, else
// `from_log` when it is not empty (the log names an event the tunnel handled), else
// `from_state`.
std::string later_resume_id(const std::string& from_log, const std::string& from_state);

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
