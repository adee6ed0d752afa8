#pragma once

// The log file itself: where it is by default, how a writer opens it, and the one lock
// protocol every process that changes it follows (docs/event-log.md, "Writing"):
// an exclusive flock on the file the path names now.

#include "util/result.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <sys/types.h>

namespace rag::core {

// The environment variables the default log path depends on, as the caller read them
// (nullptr: not set): core reads no environment.
struct LogPathEnv
{
  const char* xdg_state_home = nullptr; // XDG_STATE_HOME
  const char* home = nullptr;           // HOME
};

// Return the log path rag uses when neither --log nor RAG_LOG is given:
// ${XDG_STATE_HOME:-$HOME/.local/state}/rag/events.jsonl (without HOME, the password
// database's home directory).
std::string default_log_path(const LogPathEnv& env);

// Return where default_log_path(env) comes from, for people:
// "$XDG_STATE_HOME/rag/events.jsonl", "$HOME/.local/state/rag/events.jsonl (XDG_STATE_HOME
// is not set)", and so on.
std::string describe_default_log_path(const LogPathEnv& env);

// Open the log at `path` as open(2) with `flags` and `mode` would, but never wait (a FIFO
// without its other end, a device) and refuse anything but a regular file: return the
// descriptor (close-on-exec, blocking), -1 with errno set when open(2) failed (ENOENT: no
// such file), or an Error naming the path and what it is (a FIFO, a directory, a socket,
// a device) when it is not a regular file.
Result<int> open_regular_log(const std::string& path, int flags, mode_t mode = 0);

// Create the log's missing directories (0700) and open the log for appending and reading,
// creating it with mode 0600 whatever the umask; return the descriptor, or an Error
// naming the path (with the hint to pass --log), also when it is not a regular file.
Result<int> open_log_for_append(const std::string& path);

// Who takes the log's lock, which decides how lock_file_at_path follows the path.
enum class LockFor {
  // A writer: the path is reopened with open_log_for_append (so a removed log is
  // created again); when the path keeps naming another file after 3 reopenings, the
  // file held last is kept (something keeps swapping it: the record goes there).
  append,
  // A prune: the path is reopened read-only (a removed log is an Error); when it keeps
  // naming another file after 10 opens, that is an Error.
  rewrite,
};

// The file lock_file_at_path locked.
struct LockedLogFile
{
  std::uint64_t size = 0; // its size, read once the lock was held
};

// Take the exclusive flock that every writer and prune takes, on the file `path` names
// now. `fd` is open on the file `path` named once (or -1: open it first); when, once
// locked, it is no longer the file at `path` (a prune renamed a rewritten log over it,
// or it was removed), it is unlocked, `path` is opened again as `who` says, the new
// descriptor replaces `fd` (opened before the old one is closed, so `fd` changes value),
// and the lock is taken again. A file that is not a regular file (a FIFO or a directory
// put in the log's place) is an Error, never written to. On success `fd` holds the lock; on an
// Error it does not necessarily, and stays open for the caller to close. When `last_path_check` is
// given (a writer, which locks once per write), a file that still has a link is taken as the one at
// `path` for `recheck` after the path was last seen to name it, which saves a stat per write: a log
// moved elsewhere is noticed within `recheck`.
Result<LockedLogFile>
lock_file_at_path(int& fd, const std::string& path, LockFor who,
                  std::chrono::steady_clock::time_point* last_path_check = nullptr,
                  std::chrono::steady_clock::duration recheck = {});

} // namespace rag::core
