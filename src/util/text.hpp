#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace rag::util {

// Return the Levenshtein distance between `a` and `b`.
std::size_t edit_distance(std::string_view a, std::string_view b);

// Return the candidate closest to `word` when it is close enough to be a likely
// typo (distance ≤ max(2, |word|/3)), else an empty string.
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);

// Return `text` lower-cased (ASCII only).
std::string to_lower(std::string_view text);

// Return true when `a` and `b` are equal ignoring ASCII case.
bool iequals(std::string_view a, std::string_view b);

} // namespace rag::util
