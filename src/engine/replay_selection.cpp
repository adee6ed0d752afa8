#include "engine/replay_selection.hpp"

#include "core/forward_plan.hpp"
#include "core/log/record_parser.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <unordered_map>

// How the selection streams the log. `--last N` reads it backwards from the end until N events
// matched; IDs and filters read it forwards (all IDs in that one read, however many: each prefix is
// resolved there as find_event would resolve it). Deliveries come after their event, so the
// original targets of an event (and its --status) are known only once the log was read to the end:
// the selection keeps, per selected event, its line offset, a hash of its id and its original
// target URLs (packed in a UrlArena), never its body. Only deliveries of selected events are
// parsed. The events themselves are read again, one at a time, when they are sent (read_selected).

namespace rag::engine {

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
    if (auto exact = core::parse_exact_url(url); !exact) {
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

// Event id prefixes from the command line, resolved as EventLogReader::find_event
// resolves one (same normalisation, same errors), but all of them in a single read
// of the log instead of one read per prefix.
class PrefixSet
{
public:
  explicit PrefixSet(const std::vector<std::string>& typed)
  {
    m_prefixes.reserve(typed.size());
    for (const auto& prefix : typed) {
      std::string_view rest = prefix;
      if (rest.substr(0, 4) == "evt_" || rest.substr(0, 4) == "EVT_") {
        rest.remove_prefix(4);
      }
      Prefix entry;
      entry.typed = prefix;
      entry.empty = rest.empty();
      // Ids are upper-case Crockford base32; people type them in either case.
      entry.wanted = "evt_";
      for (const char c : rest) {
        entry.wanted.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
      }
      m_prefixes.push_back(std::move(entry));
    }
    // Keys view into m_prefixes, which no longer changes size.
    for (std::size_t i = 0; i < m_prefixes.size(); ++i) {
      const Prefix& entry = m_prefixes[i];
      if (entry.empty) {
        continue;
      }
      auto group = std::find_if(m_by_length.begin(), m_by_length.end(),
                                [&](const auto& g) { return g.first == entry.wanted.size(); });
      if (group == m_by_length.end()) {
        group = m_by_length.insert(m_by_length.end(), {entry.wanted.size(), {}});
      }
      group->second.emplace(entry.wanted, i);
    }
  }
  PrefixSet(const PrefixSet&) = delete;
  PrefixSet& operator=(const PrefixSet&) = delete;

  // Return the usage error of a first prefix that is empty (without "evt_"), as
  // find_event gives it without reading the log.
  Result<void> check_before_read(const core::EventLogReader& reader) const
  {
    if (!m_prefixes.empty() && m_prefixes.front().empty) {
      return reader.find_event(m_prefixes.front().typed).error();
    }
    return {};
  }

  // Return true when a raw log line may hold an event whose id a prefix matches:
  // some `"id":"VALUE"` in it starts with one (a VALUE with escapes is let through;
  // the parsed id decides).
  bool may_match_line(std::string_view line) const
  {
    constexpr std::string_view k_key = "\"id\":\"";
    for (std::size_t pos = line.find(k_key); pos != std::string_view::npos;
         pos = line.find(k_key, pos + 1)) {
      const std::size_t start = pos + k_key.size();
      const std::size_t end = line.find('"', start);
      const std::string_view value = line.substr(start, end - start);
      if (value.find('\\') != std::string_view::npos || matched(value)) {
        return true;
      }
    }
    return false;
  }

  // Count event `id`, read in file order, for every prefix it starts with; return
  // true when it is to be selected: the first time it is seen, and while no prefix
  // is known to be ambiguous (the selection then ends in an error anyway, so it
  // stops growing).
  bool add(const std::string& id)
  {
    bool fresh = false;
    for (const auto& [length, prefixes] : m_by_length) {
      if (id.size() < length) {
        continue;
      }
      const auto [first, last] = prefixes.equal_range(std::string_view(id).substr(0, length));
      for (auto it = first; it != last; ++it) {
        // The same bookkeeping as find_event, so that the errors read the same.
        Prefix& entry = m_prefixes[it->second];
        if (std::find(entry.ids.begin(), entry.ids.end(), id) == entry.ids.end()) {
          fresh = true;
          ++entry.matches;
          if (entry.ids.size() <= k_listed) {
            entry.ids.push_back(id);
          }
          m_ambiguous = m_ambiguous || entry.ids.size() > 1;
        }
      }
    }
    return fresh && !m_ambiguous;
  }

  // After the read: return the Error find_event gives for the first prefix, in the
  // order typed, that is empty, matches no event or matches several.
  Result<void> check(const core::EventLogReader& reader) const
  {
    for (const Prefix& entry : m_prefixes) {
      if (entry.empty) {
        return reader.find_event(entry.typed).error();
      }
      if (entry.ids.empty()) {
        return error(fmt::format("no event matches '{}'", entry.typed),
                     "run `rag inspect` to list events");
      }
      if (entry.ids.size() > 1) {
        std::string list;
        for (std::size_t i = 0; i < entry.ids.size() && i < k_listed; ++i) {
          list += (i == 0 ? "" : ", ") + entry.ids[i];
        }
        if (entry.ids.size() > k_listed) {
          list += fmt::format(", … ({} matches)", entry.matches);
        }
        return error(fmt::format("event id prefix '{}' is ambiguous: {}", entry.typed, list),
                     "type more characters");
      }
    }
    return {};
  }

private:
  // Ids listed in an ambiguity error, as find_event lists them.
  static constexpr std::size_t k_listed = 5;

  struct Prefix
  {
    std::string typed;            // as given
    std::string wanted;           // "evt_" + the rest upper-cased
    bool empty = false;           // nothing after "evt_"
    std::vector<std::string> ids; // the first k_listed + 1 distinct ids it matched
    std::size_t matches = 0;      // distinct ids counted as find_event counts them
  };

  // Return true when some prefix starts `id`.
  bool matched(std::string_view id) const
  {
    return std::any_of(m_by_length.begin(), m_by_length.end(), [&](const auto& group) {
      return id.size() >= group.first && group.second.count(id.substr(0, group.first)) != 0;
    });
  }

  std::vector<Prefix> m_prefixes;
  // Prefix indexes by `wanted` text, grouped by its length: an id is looked up once
  // per distinct length, however many prefixes there are.
  std::vector<std::pair<std::size_t, std::unordered_multimap<std::string_view, std::size_t>>>
      m_by_length;
  bool m_ambiguous = false;
};

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
  std::vector<int> refused;                             // with --status, per chosen
  std::unordered_map<std::size_t, std::uint32_t> index; // id hash -> chosen

  std::size_t lines = 0;
  bool halt = false;
  const auto raw = [&](std::string_view line) {
    // Most lines of a big log end here unparsed, so Ctrl-C is polled here too; the
    // line is then let through to on_record, which ends the read.
    if (halt || (++lines % 4096 == 0 && stopped())) {
      halt = true;
      return true;
    }
    if (core::raw_is_delivery(line)) {
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
    if (halt || (++records % 1024 == 0 && stopped())) {
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
        refused.push_back(core::EventFilter::refused_status(event));
      }
    }
    chosen.push_back(ChosenEvent{line.offset, hash, 0});
    return true;
  };
  RAG_TRY(reader.for_each_record(on_record, raw));

  if (needs.status) {
    std::size_t kept = 0;
    for (std::size_t i = 0; i < chosen.size(); ++i) {
      if (filter.matches_status(summaries[i], refused[i])) {
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

// Keep the newest `limit` events that match `filter`, with their original targets.
Result<ReplaySelection>
select_newest(const core::EventLogReader& reader, const core::EventFilter& filter,
              std::size_t limit, SelectNeeds needs, const std::function<bool()>& stopped)
{
  ReplaySelection selection;
  core::NewestEventsQuery query;
  query.limit = limit;
  query.deliveries = needs.deliveries();
  query.stopped = stopped;
  RAG_TRY(reader.for_each_event_newest(filter, query, [&](core::EventWithDeliveries&& found) {
    ChosenEvent chosen{found.line.offset, id_hash(found.event.id), 0};
    if (needs.targets) {
      for (const auto& delivery : found.deliveries) {
        if (is_original(delivery)) {
          chosen.targets = add_target(selection, chosen.targets, delivery.target);
        }
      }
      if (chosen.targets == 0) {
        ++selection.untargeted_count;
        if (selection.untargeted.size() < k_listed_ids) {
          selection.untargeted.push_back(found.event.id);
        }
      }
    }
    selection.events.push_back(chosen);
    return true;
  }));
  std::reverse(selection.events.begin(), selection.events.end());
  // Listed oldest first, as the forward selection does.
  std::reverse(selection.untargeted.begin(), selection.untargeted.end());
  return selection;
}

} // namespace

Result<ReplaySelection>
select_for_replay(const ReplaySelectionOptions& options, const core::EventFilter& filter,
                  const core::EventLogReader& reader, const std::function<bool()>& stopped)
{
  SelectNeeds needs;
  needs.targets = options.original_targets;
  needs.status = filter.has_status();
  if (options.last > 0) {
    return select_newest(reader, filter, static_cast<std::size_t>(options.last), needs, stopped);
  }
  if (options.ids.empty()) {
    return select_forward(
        reader, filter, [&](const core::Event& event) { return filter.matches_event(event); },
        [&](std::string_view line) { return filter.may_match_line(line); }, needs, stopped);
  }

  // Every prefix is resolved in the same forward read that selects: an event is
  // selected the first time its id is seen when it matches a prefix. If a prefix
  // turns out ambiguous or unknown, the selection is dropped for its error.
  PrefixSet prefixes(options.ids);
  RAG_TRY(prefixes.check_before_read(reader));
  RAG_TRY_ASSIGN(
      ReplaySelection selection,
      select_forward(
          reader, filter, [&](const core::Event& event) { return prefixes.add(event.id); },
          [&](std::string_view line) { return prefixes.may_match_line(line); }, needs, stopped));
  if (stopped()) {
    return selection; // the caller reports the interruption; the read may be incomplete
  }
  RAG_TRY(prefixes.check(reader));
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

} // namespace rag::engine
