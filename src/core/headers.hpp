#pragma once

// Header lists as rag keeps them: an ordered vector of name/value pairs whose names
// are matched ignoring ASCII case (RFC 9110 §5.1); order, name case, duplicates and
// empty values are kept. The one place that looks headers up by name.

#include "util/text.hpp"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rag::core {

// One header exactly as received: original name case, value with surrounding
// whitespace removed, no decoding of any kind.
using Header = std::pair<std::string, std::string>;
using Headers = std::vector<Header>;

// Return a predicate that is true for a header named `name` (ASCII case ignored), for
// std::find_if and friends; `name` must outlive the predicate.
inline auto
header_named(std::string_view name)
{
  return [name](const Header& header) { return util::iequals(header.first, name); };
}

// Return the value of the first header named `name` (ASCII case ignored), or null.
const std::string* find_header(const Headers& headers, std::string_view name);

// Return true when a header named `name` (ASCII case ignored) is present.
bool has_header(const Headers& headers, std::string_view name);

// Return true when a header named `name` (ASCII case ignored) has exactly `value`.
bool has_header_value(const Headers& headers, std::string_view name, std::string_view value);

// Return every value of header `name` in order, joined with ", " (values before the
// first non-empty one add nothing); empty when there is none.
std::string header_values(const Headers& headers, std::string_view name);

// Give the first header named `name` the value `value` (its name case kept) and drop
// the later ones; append `name` with `value` when there is none.
void set_header(Headers& headers, std::string_view name, std::string value);

// Return the options listed in every Connection header, lower-cased, in order: the
// headers they name are hop-by-hop (RFC 9110 §7.6.1).
std::vector<std::string> connection_options(const Headers& headers);

} // namespace rag::core
