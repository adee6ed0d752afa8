#pragma once

#include "core/record.hpp"
#include "core/url.hpp" // the query and form codecs, which lived here first
#include "util/result.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rag::core {

// Return the delivery a HAR export shows as the response of an event, given all of
// its deliveries in log order: the latest attempt to the primary target, where the
// primary target is that of the earliest-started delivery. Deliveries of `rag
// replay` count only when the event has no other. Null when `deliveries` is empty.
const Delivery* har_response(const std::vector<Delivery>& deliveries);

// Writes a HAR 1.2 document (pretty-printed, 2-space indent) piece by piece: one
// entry per event, its request as captured and the chosen delivery as response.
// Custom fields (`_rag_*`) carry what HAR cannot say, so that an import restores
// the exact event: `_rag_target` (raw target), `_rag_event_id`, `_rag_source`,
// `_rag_remote`, `_rag_chunked`, `_rag_trailers` (on the request, as its headers),
// `_rag_rejected` (for a request rag refused, whose response is then rag's answer), and
// for bodies that are not UTF-8 `encoding` plus `_encoding` "base64" on postData (HAR 1.2
// defines `encoding` on content only).
class HarWriter
{
public:
  // `creator_version` is rag's version, written to log.creator.version.
  explicit HarWriter(std::string creator_version);

  // Return the document's opening, up to the '[' of log.entries.
  std::string begin() const;
  // Return one entry for `event`, with `response` (may be null: no delivery) as its
  // response; entries after the first start with the ',' that separates them.
  std::string entry(const Event& event, const Delivery* response);
  // Return the document's end, from the ']' of log.entries, with a final newline.
  std::string end() const;

private:
  std::string m_creator_version;
  bool m_first = true;
};

// One request read from a HAR entry.
struct HarRequest
{
  std::size_t index = 0; // 1-based position in log.entries
  Event event;           // id and source empty; see `has_time`
  bool has_time = false; // false: startedDateTime was absent (event.time_us is 0)
};

// The requests of a HAR document and the entries that could not be read.
struct HarImport
{
  std::vector<HarRequest> requests; // readable entries, in file order
  std::vector<std::string> skipped; // one reason per unreadable entry: "entry 3: ..."
  std::size_t total_entries = 0;    // size of log.entries
};

// Return true when `text` is meant as a HAR document: one JSON object whose first
// member, or any member, is "log" (a cheap look at the start first, so a damaged HAR
// is still recognised and reported as such rather than read as JSON Lines).
bool looks_like_har(std::string_view text);

// Read a HAR document: for each entry the method, the target (`_rag_target`, else
// path and query of request.url as written), the HTTP version, the headers in
// order (HTTP/2 pseudo-headers dropped, `:authority` becoming Host when there is
// no Host; Host from the URL when neither), the body from postData.text (decoded
// when `encoding` or `_encoding` is "base64", else its UTF-8 bytes; rebuilt from
// `params` as a form body when there is no text), startedDateTime, and rag's own
// `_rag_trailers` and `_rag_rejected` (a refused entry may have an empty method). A document
// that is not valid JSON or has no log.entries array is an Error; a bad entry is
// listed in `skipped`.
Result<HarImport> parse_har(std::string_view text);

} // namespace rag::core
