#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace rag::util {

// Return the Levenshtein distance between `a` and `b`.
std::size_t edit_distance(std::string_view a, std::string_view b);

// Return the candidate closest to `word` when it is close enough to be a likely
// typo (distance ≤ max(2, |word|/3)), else an empty string.
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);

// Return `c` lower-cased if it is an ASCII upper-case letter, else `c` itself.
inline char
ascii_lower(char c)
{
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// Return `text` lower-cased (ASCII only).
std::string to_lower(std::string_view text);

// Return true when `a` and `b` are equal ignoring ASCII case.
bool iequals(std::string_view a, std::string_view b);

// Call `fn` with each `sep`-separated piece of `text`, empty pieces included:
// "a,,b" gives "a", "" and "b"; "" gives one empty piece.
template<typename Fn>
void
for_each_piece(std::string_view text, char sep, Fn&& fn)
{
  while (true) {
    const std::size_t end = text.find(sep);
    fn(text.substr(0, end));
    if (end == std::string_view::npos) {
      return;
    }
    text.remove_prefix(end + 1);
  }
}

} // namespace rag::util
