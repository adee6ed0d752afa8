#pragma once

// Parsing JSON that rag did not write (webhook bodies, relay messages, log lines, HAR
// and config files) with a nesting cap. nlohmann's parser itself is iterative, but
// copying, comparing and dumping a document recurse once per level: a 100 KB body of
// `[` x 50000 overflows the stack. Every parse of foreign bytes goes through here, and
// input nested deeper than the cap is treated as "not JSON" (or, for readers that
// ignore unknown fields, parsed without what lies below the cap).

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string_view>
#include <utility>

namespace rag::core {

// The deepest nesting of arrays and objects accepted from foreign input. Webhook
// payloads nest a few levels, tens at most; recursion this deep costs a few hundred
// KiB of stack at most, also under ASan.
inline constexpr std::size_t k_json_max_depth = 256;

// Return true when no array or object in `text` is nested more than `max_depth` deep
// (brackets inside strings do not count); looks at each byte once, without recursion,
// whether or not `text` is valid JSON.
bool json_depth_within(std::string_view text, std::size_t max_depth = k_json_max_depth);

// Return true when `text` is valid JSON (RFC 8259, as json::accept) nested at most
// `max_depth` deep, without building a document.
bool json_accept_bounded(std::string_view text, std::size_t max_depth = k_json_max_depth);

// Parse `text` (nlohmann::json or nlohmann::ordered_json) without throwing on bad
// input; a discarded value (is_discarded()) when it is not valid JSON or nests deeper
// than `max_depth`. `callback` is nlohmann's parser callback (to skip parts of a
// document without storing them), or null.
template<typename JsonT>
JsonT
parse_json_bounded(std::string_view text, typename JsonT::parser_callback_t callback = nullptr,
                   std::size_t max_depth = k_json_max_depth)
{
  if (!json_depth_within(text, max_depth)) {
    return JsonT(JsonT::value_t::discarded);
  }
  return JsonT::parse(text.begin(), text.end(), std::move(callback), false);
}

namespace detail {

// Remove the discarded values nlohmann's callback parser leaves in objects for
// containers it was told to drop; recurses at most as deep as the document (capped).
template<typename JsonT>
void
erase_discarded(JsonT& value)
{
  if (!value.is_structured()) {
    return;
  }
  for (auto it = value.begin(); it != value.end();) {
    if (it->is_discarded()) {
      it = value.erase(it);
    } else {
      erase_discarded(*it);
      ++it;
    }
  }
}

} // namespace detail

// Parse `text` like parse_json_bounded, but keep a document nested deeper than
// `max_depth` without the arrays and objects below that depth, for readers that
// ignore what they do not know (a log line with a deep unknown field stays readable).
// Nothing below the cap is stored, so nothing can recurse over it.
template<typename JsonT>
JsonT
parse_json_dropping_deep(std::string_view text, std::size_t max_depth = k_json_max_depth)
{
  if (json_depth_within(text, max_depth)) {
    return JsonT::parse(text.begin(), text.end(), nullptr, false);
  }
  // The callback parser is slower; only a document this deep pays for it.
  using ParseEvent = typename JsonT::parse_event_t;
  const auto shallow = [max_depth](int depth, ParseEvent event, JsonT&) {
    return (event != ParseEvent::object_start && event != ParseEvent::array_start) ||
           static_cast<std::size_t>(depth) < max_depth;
  };
  JsonT value = JsonT::parse(text.begin(), text.end(), shallow, false);
  detail::erase_discarded(value);
  return value;
}

} // namespace rag::core
