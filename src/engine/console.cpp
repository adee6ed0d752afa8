#include "engine/console.hpp"

#include "util/terminal.hpp"

#include <cstdio>
#include <string>
#include <unistd.h>

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
    : m_out_color(util::color_enabled(stdout)), m_err_color(util::color_enabled(stderr)),
      m_out_tty(::isatty(STDOUT_FILENO) == 1), m_err_tty(::isatty(STDERR_FILENO) == 1)
{}

void
TerminalConsole::out(std::string_view line)
{
  // Data lines share the terminal with the status line only when both go to one.
  write_line_below_status(stdout, line, m_out_tty);
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
  write_line_below_status(stderr, line, true);
}

void
TerminalConsole::write_line_below_status(std::FILE* stream, std::string_view line,
                                         bool shares_terminal)
{
  std::lock_guard lock(m_mutex);
  const bool around_status = m_status_drawn && shares_terminal;
  if (around_status) {
    clear_status();
  }
  util::write_line(stream, line);
  if (around_status) {
    redraw_status();
  }
}

void
TerminalConsole::status(std::string_view text)
{
  if (!m_err_tty) {
    return;
  }
  std::lock_guard lock(m_mutex);
  m_status = text;
  if (m_status.empty()) {
    clear_status();
  } else {
    redraw_status();
  }
}

void
TerminalConsole::clear_status()
{
  if (m_status_drawn) {
    std::fputs("\r\x1b[K", stderr);
    std::fflush(stderr);
    m_status_drawn = false;
  }
}

void
TerminalConsole::redraw_status()
{
  // \r and erase-line first: the status line is redrawn in place, never scrolled.
  std::fputs("\r\x1b[K", stderr);
  std::fwrite(m_status.data(), 1, m_status.size(), stderr);
  std::fflush(stderr);
  m_status_drawn = true;
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

void
StringConsole::status(std::string_view text)
{
  if (m_shows_status) {
    std::lock_guard lock(m_mutex);
    m_status = text;
  }
}

std::string
StringConsole::status_text() const
{
  std::lock_guard lock(m_mutex);
  return m_status;
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
