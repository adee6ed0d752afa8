#pragma once

// Where a command's output goes. Data lines go to standard output, everything else
// (banners, progress, summaries, warnings, errors) to standard error; a Console is the
// one writer of `rag: warning:` and `rag: error:` lines, so their form is defined once
// and a test can give a command a Console that writes to strings.

#include "util/result.hpp"

#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>

namespace rag::engine {

// The output of a command. Each call writes one whole line (a newline is added); lines
// from different threads never mix. Implementations are safe to call concurrently.
class Console
{
public:
  virtual ~Console() = default;

  // Write one line of data (standard output), flushed.
  virtual void out(std::string_view line) = 0;
  // Write `bytes` of data as they are (no newline added), buffered until flush_out():
  // for long outputs (a table, a HAR file). Returns false once a write failed, with
  // errno saying why (EPIPE when the reader went away: `rag inspect | head`).
  virtual bool write_out(std::string_view bytes) = 0;
  // Flush what write_out() buffered; false (errno set) when that failed.
  virtual bool flush_out() = 0;
  // Write one diagnostic line (standard error): banners, progress, summaries.
  virtual void err(std::string_view line) = 0;
  // Return true when data lines may be coloured (a terminal, NO_COLOR unset).
  virtual bool out_color() const = 0;
  // Return true when diagnostic lines may be coloured.
  virtual bool err_color() const = 0;
  // Show `text` as the one status line (a progress bar) below the diagnostic lines,
  // replacing the one shown; empty removes it. Lines written while it is shown appear
  // above it. Does nothing when shows_status() is false.
  virtual void status(std::string_view text) = 0;
  // Return true when status() shows anything (standard error is a terminal).
  virtual bool shows_status() const = 0;

  // Write "rag: warning: MESSAGE" as a diagnostic line.
  void warning(std::string_view message);
  // Write "rag: error: MESSAGE (HINT)" (no parentheses without a hint).
  void error(const Error& error);
};

// The process's standard output and error, flushed after every line.
class TerminalConsole final : public Console
{
public:
  TerminalConsole();
  void out(std::string_view line) override;
  bool write_out(std::string_view bytes) override;
  bool flush_out() override;
  void err(std::string_view line) override;
  bool out_color() const override { return m_out_color; }
  bool err_color() const override { return m_err_color; }
  void status(std::string_view text) override;
  bool shows_status() const override { return m_err_tty; }

private:
  // Write `line` to `stream`; when `shares_terminal` with a drawn status line, take the
  // status line off first and draw it again below.
  void write_line_below_status(std::FILE* stream, std::string_view line, bool shares_terminal);
  // Take the status line off the terminal (m_mutex held).
  void clear_status();
  // Draw it again after a line was written above it (m_mutex held).
  void redraw_status();

  bool m_out_color;
  bool m_err_color;
  bool m_out_tty;
  bool m_err_tty;
  std::mutex m_mutex; // orders lines around the status line
  std::string m_status;
  bool m_status_drawn = false;
};

// Keeps what a command wrote, for tests: `out_text()` and `err_text()` hold the lines,
// each ending in '\n'; `status_text()` the status line shown last. Never coloured.
class StringConsole final : public Console
{
public:
  // A console that shows status lines when `shows_status` (as a terminal would).
  explicit StringConsole(bool shows_status = false) : m_shows_status(shows_status) {}
  void out(std::string_view line) override;
  bool write_out(std::string_view bytes) override;
  bool flush_out() override { return true; }
  void err(std::string_view line) override;
  bool out_color() const override { return false; }
  bool err_color() const override { return false; }
  void status(std::string_view text) override;
  bool shows_status() const override { return m_shows_status; }
  std::string out_text() const;
  std::string err_text() const;
  std::string status_text() const;

private:
  const bool m_shows_status;
  mutable std::mutex m_mutex;
  std::string m_status;
  std::string m_out;
  std::string m_err;
};

} // namespace rag::engine
