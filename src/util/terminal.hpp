#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace rag::util {

enum class Color { none, red, green, yellow, blue, magenta, cyan, gray, bold };

// Return true when colour may be written to `stream`: it is a TTY and NO_COLOR is unset.
bool color_enabled(std::FILE* stream);

// Return `text` wrapped in the ANSI escape for `color` when `enabled`, else `text`.
std::string colorize(std::string_view text, Color color, bool enabled);

// Write `text` to `stream` and flush, holding a process-wide lock so lines from
// different threads never mix.
void write_line(std::FILE* stream, std::string_view text);

// Format a byte count for people: "512 B", "2.0 KiB", "5.0 MiB".
std::string human_size(std::uint64_t bytes);

} // namespace rag::util
