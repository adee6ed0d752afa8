#include "util/terminal.hpp"

#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <unistd.h>

#include <fmt/core.h>

namespace rag::util {

bool
color_enabled(std::FILE* stream)
{
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color != nullptr && no_color[0] != '\0') {
    return false;
  }
  return ::isatty(::fileno(stream)) == 1;
}

std::string
colorize(std::string_view text, Color color, bool enabled)
{
  if (!enabled || color == Color::none) {
    return std::string(text);
  }
  const char* code = "";
  switch (color) {
  case Color::red: code = "31"; break;
  case Color::green: code = "32"; break;
  case Color::yellow: code = "33"; break;
  case Color::blue: code = "34"; break;
  case Color::magenta: code = "35"; break;
  case Color::cyan: code = "36"; break;
  case Color::gray: code = "90"; break;
  case Color::bold: code = "1"; break;
  case Color::none: break;
  }
  return fmt::format("\x1b[{}m{}\x1b[0m", code, text);
}

void
write_line(std::FILE* stream, std::string_view text)
{
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  std::fwrite(text.data(), 1, text.size(), stream);
  std::fputc('\n', stream);
  std::fflush(stream);
}

std::string
human_size(std::uint64_t bytes)
{
  if (bytes < 1024) {
    return fmt::format("{} B", bytes);
  }
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes) / 1024.0;
  std::size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < std::size(units)) {
    value /= 1024.0;
    ++unit;
  }
  return fmt::format("{:.1f} {}", value, units[unit]);
}

} // namespace rag::util
