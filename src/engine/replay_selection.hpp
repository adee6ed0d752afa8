#pragma once

// Which events `rag replay` sends, and where to: chosen by streaming the event log,
// keeping a few bytes per selected event and never its body.

#include "core/event_filter.hpp"
#include "core/log/reader.hpp"
#include "core/record.hpp"
#include "util/result.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace rag::engine {

// The original target URLs of the selected events, packed into one buffer: each URL
// costs its bytes plus 16, with no allocation per event. The URLs of one event form a
// list identified by its head (0: the empty list).
class UrlArena
{
public:
  // Add `url` to the list that starts at `head` unless it is in it already; return
  // the list's new head.
  std::uint32_t add(std::uint32_t head, std::string_view url);

  // Return the URLs of the list that starts at `head`, in the order they were added.
  std::vector<std::string_view> list(std::uint32_t head) const;

private:
  struct Entry
  {
    std::uint64_t offset;   // into m_text
    std::uint32_t size;     // bytes
    std::uint32_t previous; // 1-based index of the entry added before it; 0: none
  };

  std::string_view text(std::uint32_t at) const;

  std::vector<Entry> m_entries;
  std::string m_text;
};

// One event chosen for replay: 24 bytes, whatever the size of the event.
struct ChosenEvent
{
  std::uint64_t offset = 0;  // byte offset of its line in the log
  std::size_t id_hash = 0;   // std::hash of its id: recognises the line when it is sent
  std::uint32_t targets = 0; // its original target URLs (a UrlArena list; 0: none)
};

// The events to replay, in capture order, with their original targets.
struct ReplaySelection
{
  std::vector<ChosenEvent> events;
  UrlArena urls;
  std::vector<std::string> untargeted; // the first few events without an original target
  std::size_t untargeted_count = 0;    // all of them (only counted when targets matter)
  std::string bad_url;                 // a recorded target that cannot be replayed to, why
};

// What a replay selects, besides the filters: event id prefixes, or the newest N.
struct ReplaySelectionOptions
{
  std::vector<std::string> ids; // event id prefixes given as arguments
  long long last = 0;           // the newest N matching events (0: not given)
  bool original_targets = true; // collect each event's original targets (no --to)
};

// Select the events `options` names (IDs, --last or the filters, parsed into `filter`)
// by streaming `reader`'s log, oldest first in the result. The original targets of an
// event are the distinct URLs of its first, non-replay delivery attempts, collected only
// when `options.original_targets`. `stopped` is polled so that Ctrl-C cuts a long read
// short. IDs are resolved in the same single read that selects, however many are
// given: the first prefix (in the order given) that matches no event or several is the
// Error find_event gives for it; an event whose id appears twice is selected once.
Result<ReplaySelection> select_for_replay(const ReplaySelectionOptions& options,
                                          const core::EventFilter& filter,
                                          const core::EventLogReader& reader,
                                          const std::function<bool()>& stopped);

// Read the selected events again, in capture order, and call `fn` with each (it
// returns false to stop); return how many were found (a prune between the two reads
// can remove some).
Result<std::size_t> read_selected(const core::EventLogReader& reader,
                                  const ReplaySelection& selection,
                                  const std::function<bool(core::Event&&, const ChosenEvent&)>& fn);

} // namespace rag::engine
