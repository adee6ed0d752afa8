#include "engine/console.hpp"

#include "util/terminal.hpp"

#include <cstdio>
#include <string>

namespace rag::engine {

void
Console::warning(std::string_view message)
{
  std::string line = "rag: warning: ";
  line += message;
  err(line);
}

void
Console::error(const Error& error)
{
  std::string line = "rag: error: " + error.message;
  if (!error.hint.empty()) {
    line += " (" + error.hint + ")";
  }
  err(line);
}

TerminalConsole::TerminalConsole()
    : m_out_color(util::color_enabled(stdout)), m_err_color(util::color_enabled(stderr))
{}

void
TerminalConsole::out(std::string_view line)
{
  util::write_line(stdout, line);
}

bool
TerminalConsole::write_out(std::string_view bytes)
{
  return bytes.empty() || std::fwrite(bytes.data(), 1, bytes.size(), stdout) == bytes.size();
}

bool
TerminalConsole::flush_out()
{
  return std::fflush(stdout) == 0;
}

void
TerminalConsole::err(std::string_view line)
{
  util::write_line(stderr, line);
}

void
StringConsole::out(std::string_view line)
{
  std::lock_guard lock(m_mutex);
  m_out.append(line).push_back('\n');
}

bool
StringConsole::write_out(std::string_view bytes)
{
  std::lock_guard lock(m_mutex);
  m_out.append(bytes);
  return true;
}

void
StringConsole::err(std::string_view line)
{
  std::lock_guard lock(m_mutex);
  m_err.append(line).push_back('\n');
}

std::string
StringConsole::out_text() const
{
  std::lock_guard lock(m_mutex);
  return m_out;
}

std::string
StringConsole::err_text() const
{
  std::lock_guard lock(m_mutex);
  return m_err;
}

} // namespace rag::engine
