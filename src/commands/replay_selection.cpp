#include "commands/replay_selection.hpp"

#include "core/record_json.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

// How the selection streams the log. `--last N` reads it backwards from the end until N
// events matched; IDs and filters read it forwards. Deliveries come after their event,
// so the original targets of an event (and its --status) are known only once the log
// was read to the end: the selection keeps, per selected event, its line offset, a hash
// of its id and its original target URLs (packed in a UrlArena), never its body. Only
// deliveries of selected events are parsed. The events themselves are read again, one
// at a time, when they are sent (read_selected).

namespace rag::commands {

std::uint32_t
UrlArena::add(std::uint32_t head, std::string_view url)
{
  // Lists are short (one URL per target of an event), so a walk beats an index.
  for (std::uint32_t at = head; at != 0; at = m_entries[at - 1].previous) {
    if (text(at) == url) {
      return head;
    }
  }
  m_entries.push_back(Entry{m_text.size(), static_cast<std::uint32_t>(url.size()), head});
  m_text.append(url);
  return static_cast<std::uint32_t>(m_entries.size());
}

std::vector<std::string_view>
UrlArena::list(std::uint32_t head) const
{
  std::vector<std::string_view> urls;
  for (std::uint32_t at = head; at != 0; at = m_entries[at - 1].previous) {
    urls.push_back(text(at));
  }
  std::reverse(urls.begin(), urls.end());
  return urls;
}

std::string_view
UrlArena::text(std::uint32_t at) const
{
  const Entry& entry = m_entries[at - 1];
  return std::string_view(m_text).substr(entry.offset, entry.size);
}

namespace {

// Ids named in the "never delivered" error.
constexpr std::size_t k_listed_ids = 3;

// Return the value of the first `"KEY":"VALUE"` in a raw log line (no unescaping:
// ids never need any), or an empty view.
std::string_view
raw_field(std::string_view line, std::string_view key)
{
  const std::string needle = fmt::format("\"{}\":\"", key);
  const std::size_t pos = line.find(needle);
  if (pos == std::string_view::npos) {
    return {};
  }
  const std::size_t start = pos + needle.size();
  const std::size_t end = line.find('"', start);
  return end == std::string_view::npos ? std::string_view() : line.substr(start, end - start);
}

// Return true when a raw line is certainly a delivery record (rag writes "kind" second).
bool
is_delivery_line(std::string_view line)
{
  return line.substr(0, 40).find("\"kind\":\"delivery\"") != std::string_view::npos;
}

std::size_t
id_hash(const std::string& id)
{
  return std::hash<std::string>{}(id);
}

// What a selection pass needs to know besides which events it wants.
struct SelectNeeds
{
  bool targets = false; // original targets (no --to)
  bool status = false;  // --status
  bool deliveries() const { return targets || status; }
};

// Return true when `delivery` names an original target of its event: a first attempt
// (retries go to the same URL) that was not itself a replay.
bool
is_original(const core::Delivery& delivery)
{
  return !delivery.replay && delivery.attempt == 1;
}

// Add an original target URL to `head`'s list, remembering the first one that cannot
// be replayed to.
std::uint32_t
add_target(ReplaySelection& selection, std::uint32_t head, const std::string& url)
{
  if (selection.bad_url.empty()) {
    if (auto exact = parse_exact_url(url); !exact) {
      selection.bad_url = fmt::format("'{}': {}", url, exact.error().message);
    }
  }
  return selection.urls.add(head, url);
}

// Return the ids of the events whose lines start at `offsets` (ascending).
Result<std::vector<std::string>>
ids_at(const core::EventLogReader& reader, const std::vector<std::uint64_t>& offsets)
{
  std::vector<std::string> ids;
  std::size_t next = 0;
  RAG_TRY(reader.for_each_line(
      [&](const core::LogLine& line) {
        if (line.offset == offsets[next]) {
          ids.emplace_back(raw_field(line.text, "id"));
          ++next;
        }
        return next < offsets.size();
      },
      offsets.front()));
  return ids;
}

// Read the log forwards: every event `wanted` accepts (`raw_event` may reject event
// lines unparsed), with its original targets and delivery summary when needed; with
// --status only those whose deliveries match are kept. Deliveries of other events are
// skipped unparsed; selected events are indexed by a 64-bit hash of their id (an id
// string per event would cost several times more; a collision is astronomically rare).
Result<ReplaySelection>
select_forward(const core::EventLogReader& reader, const core::EventFilter& filter,
               const std::function<bool(const core::Event&)>& wanted,
               const std::function<bool(std::string_view)>& raw_event, SelectNeeds needs,
               const std::function<bool()>& stopped)
{
  ReplaySelection selection;
  std::vector<ChosenEvent>& chosen = selection.events;
  std::vector<core::DeliverySummary> summaries;         // with --status, per chosen
  std::unordered_map<std::size_t, std::uint32_t> index; // id hash -> chosen

  const auto raw = [&](std::string_view line) {
    if (is_delivery_line(line)) {
      if (!needs.deliveries() || index.empty()) {
        return false;
      }
      const std::string_view event_id = raw_field(line, "event_id");
      return event_id.empty() || index.count(std::hash<std::string_view>{}(event_id)) != 0;
    }
    return raw_event(line);
  };
  std::size_t records = 0;
  const auto on_record = [&](core::Record&& record, const core::LogLine& line) {
    // A long read of a big log still ends soon after Ctrl-C.
    if (++records % 1024 == 0 && stopped()) {
      return false;
    }
    if (auto* delivery = std::get_if<core::Delivery>(&record)) {
      const auto it = index.find(id_hash(delivery->event_id));
      if (it != index.end()) {
        if (needs.status) {
          summaries[it->second].add_newer(*delivery);
        }
        if (needs.targets && is_original(*delivery)) {
          auto& head = chosen[it->second].targets;
          head = add_target(selection, head, delivery->target);
        }
      }
      return true;
    }
    const auto& event = std::get<core::Event>(record);
    if (!wanted(event)) {
      return true;
    }
    const std::size_t hash = id_hash(event.id);
    if (needs.deliveries()) {
      if (!index.try_emplace(hash, static_cast<std::uint32_t>(chosen.size())).second) {
        return true; // the same event twice (an import of an import): replay it once
      }
      if (needs.status) {
        summaries.emplace_back();
      }
    }
    chosen.push_back(ChosenEvent{line.offset, hash, 0});
    return true;
  };
  RAG_TRY(reader.for_each_record(on_record, raw));

  if (needs.status) {
    std::size_t kept = 0;
    for (std::size_t i = 0; i < chosen.size(); ++i) {
      if (filter.matches_status(summaries[i])) {
        chosen[kept++] = chosen[i];
      }
    }
    chosen.resize(kept);
  }
  if (needs.targets) {
    std::vector<std::uint64_t> offsets;
    for (const auto& event : chosen) {
      if (event.targets == 0) {
        ++selection.untargeted_count;
        if (offsets.size() < k_listed_ids) {
          offsets.push_back(event.offset);
        }
      }
    }
    if (!offsets.empty()) {
      RAG_TRY_ASSIGN(selection.untargeted, ids_at(reader, offsets));
    }
  }
  return selection;
}

// Read the log backwards and keep the newest `limit` events that match `filter`;
// deliveries are read before their event, so each event is complete when reached.
Result<ReplaySelection>
select_newest(const core::EventLogReader& reader, const core::EventFilter& filter,
              std::size_t limit, SelectNeeds needs, const std::function<bool()>& stopped)
{
  struct Pending
  {
    core::DeliverySummary summary;
    std::vector<std::string> urls; // newest first
  };
  ReplaySelection selection;
  std::unordered_map<std::string, Pending> pending;

  const auto raw = [&](std::string_view line) {
    if (is_delivery_line(line)) {
      return needs.deliveries();
    }
    if (filter.may_match_line(line)) {
      return true;
    }
    // This event is skipped unparsed: the deliveries read for it are not needed.
    if (!pending.empty()) {
      if (const std::string_view id = raw_field(line, "id"); !id.empty()) {
        pending.erase(std::string(id));
      }
    }
    return false;
  };
  const auto on_record = [&](core::Record&& record, const core::LogLine& line) {
    if (auto* delivery = std::get_if<core::Delivery>(&record)) {
      Pending& entry = pending[delivery->event_id];
      if (needs.status) {
        entry.summary.add_older(*delivery);
      }
      if (needs.targets && is_original(*delivery)) {
        entry.urls.push_back(std::move(delivery->target));
      }
      return true;
    }
    const auto& event = std::get<core::Event>(record);
    Pending entry;
    if (const auto it = pending.find(event.id); it != pending.end()) {
      entry = std::move(it->second);
      pending.erase(it);
    }
    if (!filter.matches(event, entry.summary)) {
      return !stopped();
    }
    ChosenEvent chosen{line.offset, id_hash(event.id), 0};
    for (auto it = entry.urls.rbegin(); it != entry.urls.rend(); ++it) {
      chosen.targets = add_target(selection, chosen.targets, *it);
    }
    if (needs.targets && chosen.targets == 0) {
      ++selection.untargeted_count;
      if (selection.untargeted.size() < k_listed_ids) {
        selection.untargeted.push_back(event.id);
      }
    }
    selection.events.push_back(chosen);
    return selection.events.size() < limit && !stopped();
  };
  RAG_TRY(reader.for_each_record_reverse(on_record, raw));
  std::reverse(selection.events.begin(), selection.events.end());
  // Listed oldest first, as the forward selection does.
  std::reverse(selection.untargeted.begin(), selection.untargeted.end());
  return selection;
}

} // namespace

Result<ReplaySelection>
select_for_replay(const ReplayOptions& options, const core::EventFilter& filter,
                  const core::EventLogReader& reader, const std::function<bool()>& stopped)
{
  SelectNeeds needs;
  needs.targets = options.to.empty();
  needs.status = filter.has_status();
  if (options.last > 0) {
    return select_newest(reader, filter, static_cast<std::size_t>(options.last), needs, stopped);
  }
  if (options.ids.empty()) {
    return select_forward(
        reader, filter, [&](const core::Event& event) { return filter.matches_event(event); },
        [&](std::string_view line) { return filter.may_match_line(line); }, needs, stopped);
  }

  // Each prefix must name exactly one event (find_event says which, or why not).
  std::vector<std::string> ids;
  for (const auto& prefix : options.ids) {
    RAG_TRY_ASSIGN(const core::Event event, reader.find_event(prefix));
    if (std::find(ids.begin(), ids.end(), event.id) == ids.end()) {
      ids.push_back(event.id);
    }
  }
  const std::unordered_set<std::string> wanted(ids.begin(), ids.end());
  RAG_TRY_ASSIGN(ReplaySelection selection,
                 select_forward(
                     reader, filter,
                     [&](const core::Event& event) { return wanted.count(event.id) != 0; },
                     [&](std::string_view line) {
                       return std::any_of(ids.begin(), ids.end(), [&](const std::string& id) {
                         return line.find(id) != std::string_view::npos;
                       });
                     },
                     needs, stopped));
  if (selection.events.size() != ids.size() && !stopped()) {
    return error("the event log changed while it was read", "run the replay again");
  }
  return selection;
}

Result<std::size_t>
read_selected(const core::EventLogReader& reader, const ReplaySelection& selection,
              const std::function<bool(core::Event&&, const ChosenEvent&)>& fn)
{
  const auto& events = selection.events;
  std::size_t next = 0;
  std::size_t found = 0;
  const auto on_line = [&](const core::LogLine& line) {
    while (next < events.size() && events[next].offset < line.offset) {
      ++next; // its line is gone: the log was rewritten
    }
    if (next == events.size()) {
      return false;
    }
    if (events[next].offset != line.offset) {
      return true;
    }
    const ChosenEvent& chosen = events[next++];
    auto record = core::parse_record(line.text);
    auto* event = record ? std::get_if<core::Event>(&*record) : nullptr;
    if (event == nullptr || id_hash(event->id) != chosen.id_hash) {
      return next < events.size();
    }
    ++found;
    return fn(std::move(*event), chosen) && next < events.size();
  };
  RAG_TRY(reader.for_each_line(on_line, events.front().offset));
  return found;
}

} // namespace rag::commands
