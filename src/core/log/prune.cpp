#include "core/log/prune.hpp"

#include "core/log/log_file.hpp"
#include "core/log/record_parser.hpp"
#include "core/log/scanner.hpp"
#include "util/fd.hpp"
#include "util/file.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>
#include <variant>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

namespace rag::core {

namespace {

using util::errno_text;
using util::Fd;

using Json = nlohmann::ordered_json;

// The rewrite writes kept lines in chunks this big.
constexpr std::size_t k_write_chunk = 1 << 20;

// PrunePlan's per-line byte: the record kind in the low bits, then "removed".
constexpr std::uint8_t k_kind_bad = 0;
constexpr std::uint8_t k_kind_event = 1;
constexpr std::uint8_t k_kind_delivery = 2;
constexpr std::uint8_t k_kind_mask = 3;
constexpr std::uint8_t k_removed = 4;

constexpr const char* k_dir_hint = "prune needs write access to the log's directory";

bool
same_file(const struct stat& a, const struct stat& b)
{
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// Resolve symlinks so the rename replaces the file a symlinked log points to, not the
// symlink; nullopt when there is no log.
Result<std::optional<std::string>>
real_log_path(const std::string& path)
{
  char* real = ::realpath(path.c_str(), nullptr);
  if (real == nullptr) {
    if (errno == ENOENT) {
      return std::optional<std::string>();
    }
    return error(fmt::format("cannot open event log {}: {}", path, errno_text(errno)));
  }
  std::string result = real;
  std::free(real);
  return std::optional<std::string>(std::move(result));
}

// The lines of the open log `fd` up to `size`, as a PrunePlan reads them.
LineSource
file_lines(int fd, const std::string& path, std::uint64_t size)
{
  return [fd, &path,
          size](const std::function<void(std::uint64_t, std::string_view)>& fn) -> Result<void> {
    RAG_TRY(scan_log_lines(fd, path, 0, size, [&](const LogLine& line) {
      fn(line.number - 1, line.text);
      return true;
    }));
    return {};
  };
}

// Write the lines `plan` keeps of the locked log `fd` (`size` bytes) to a temporary file
// beside it and rename that over the log. Called with the exclusive lock held.
Result<PruneReport>
rewrite_log(const std::string& path, int fd, std::uint64_t size, PrunePlan& plan)
{
  auto created = util::TempFile::create_beside(path, "prune");
  if (!created.ok()) {
    return error(created.error().message, k_dir_hint);
  }
  util::TempFile& temp = *created;

  std::string out;
  std::uint64_t written = 0;
  int write_errno = 0;
  const auto flush = [&] {
    if (!util::write_all(temp.fd(), out)) {
      write_errno = errno;
      return false;
    }
    out.clear();
    return true;
  };
  RAG_TRY_ASSIGN(const LineScan scan, scan_log_lines(fd, path, 0, size, [&](const LogLine& line) {
                   const std::uint64_t index = line.number - 1;
                   const bool removed = index < plan.lines() ? plan.removes(index)
                                                             : plan.removes_appended(line.text);
                   if (removed) {
                     return true;
                   }
                   out.append(line.text);
                   out.push_back('\n');
                   written += line.text.size() + 1;
                   return out.size() < k_write_chunk || flush();
                 }));
  if (write_errno == 0) {
    flush();
  }
  if (const int err = temp.finish(); err != 0 && write_errno == 0) {
    write_errno = err;
  }
  if (write_errno != 0) {
    return error(fmt::format("cannot write {}: {} (the log is unchanged)", temp.path(),
                             errno_text(write_errno)),
                 k_dir_hint);
  }
  // Only a process that ignores the lock could have replaced the log meanwhile; its
  // file must not be overwritten with our copy of the old one.
  if (!util::is_file_at_path(fd, path)) {
    return error(fmt::format("event log {} was replaced during the prune by a process that does "
                             "not take its lock; nothing was changed",
                             path));
  }
  if (const int err = temp.rename_over(path); err != 0) {
    return error(fmt::format("cannot replace event log {}: {} (the log is unchanged)", path,
                             errno_text(err)),
                 k_dir_hint);
  }

  PruneReport report = plan.report();
  report.exists = true;
  report.rewritten = true;
  // We hold the writers' lock, so bytes after the last '\n' are no line being written:
  // a crashed writer left them, and the next writer would cut them off too.
  report.torn_tail_bytes = scan.tail_bytes;
  report.size_before = size;
  report.size_after = written;
  return report;
}

} // namespace

std::string
to_json_line(const PruneReport& report, bool dry_run)
{
  const Json json{{"dry_run", dry_run},
                  {"rewritten", report.rewritten},
                  {"events_removed", report.events_removed},
                  {"events_kept", report.events_kept},
                  {"deliveries_removed", report.deliveries_removed},
                  {"deliveries_kept", report.deliveries_kept},
                  {"bad_lines_kept", report.bad_lines_kept},
                  {"torn_tail_bytes", report.torn_tail_bytes},
                  {"size_before", report.size_before},
                  {"size_after", report.size_after}};
  // Invalid UTF-8 (a raw target can hold any byte) is replaced, never thrown.
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Result<PrunePlan>
PrunePlan::make(const LineSource& lines, const PrunePolicy& policy)
{
  PrunePlan plan(policy);
  PruneReport& report = plan.m_report;
  bool changed = false; // a later pass saw other lines than the first

  const auto remove_event = [&](std::uint64_t index, const std::string& id, std::size_t bytes) {
    plan.m_lines[index] |= k_removed;
    plan.m_removed_ids.insert(id);
    --report.events_kept;
    ++report.events_removed;
    plan.m_removed_bytes += bytes + 1;
  };

  // Pass 1: every line's kind; under --older-than, which events go.
  RAG_TRY(lines([&](std::uint64_t index, std::string_view text) {
    if (index != plan.m_lines.size()) {
      changed = true;
      return;
    }
    plan.m_planned_bytes += text.size() + 1;
    auto record = parse_record(text);
    if (!record) {
      plan.m_lines.push_back(k_kind_bad);
      ++report.bad_lines_kept;
      return;
    }
    if (const auto* event = std::get_if<Event>(&*record)) {
      plan.m_lines.push_back(k_kind_event);
      ++report.events_kept;
      if (policy.before_us && event->time_us < *policy.before_us) {
        remove_event(index, event->id, text.size());
      }
      return;
    }
    plan.m_lines.push_back(k_kind_delivery);
    ++report.deliveries_kept;
  }));

  // Pass 2, for --keep N: the events before the last N go.
  if (policy.keep && report.events_kept > *policy.keep) {
    const std::uint64_t to_remove = report.events_kept - *policy.keep;
    std::uint64_t seen = 0;
    RAG_TRY(lines([&](std::uint64_t index, std::string_view text) {
      if (seen >= to_remove || index >= plan.m_lines.size() ||
          (plan.m_lines[index] & k_kind_mask) != k_kind_event) {
        return;
      }
      ++seen;
      auto record = parse_record(text);
      if (!record || !std::holds_alternative<Event>(*record)) {
        changed = true;
        return;
      }
      remove_event(index, std::get<Event>(*record).id, text.size());
    }));
  }

  // Pass 3: deliveries go with their event, wherever in the file either is.
  if (plan.m_removed_ids.size() > 0 && report.deliveries_kept > 0) {
    RAG_TRY(lines([&](std::uint64_t index, std::string_view text) {
      if (index >= plan.m_lines.size() || (plan.m_lines[index] & k_kind_mask) != k_kind_delivery) {
        return;
      }
      auto record = parse_record(text);
      if (!record || !std::holds_alternative<Delivery>(*record)) {
        changed = true;
        return;
      }
      if (plan.m_removed_ids.contains(std::get<Delivery>(*record).event_id)) {
        plan.m_lines[index] |= k_removed;
        --report.deliveries_kept;
        ++report.deliveries_removed;
        plan.m_removed_bytes += text.size() + 1;
      }
    }));
  }
  if (changed) {
    return error("cannot prune the event log: it changed while being read",
                 "a process that does not follow the log's locking protocol wrote it; try again");
  }
  return plan;
}

bool
PrunePlan::removes(std::uint64_t index) const
{
  return index < m_lines.size() && (m_lines[index] & k_removed) != 0;
}

bool
PrunePlan::removes_appended(std::string_view text)
{
  auto record = parse_record(text);
  if (!record) {
    ++m_report.bad_lines_kept;
    return false;
  }
  if (const auto* event = std::get_if<Event>(&*record)) {
    // Appended after the plan: newest by position, so --keep keeps it; an imported
    // event can still be old by its time.
    if (m_policy.before_us && event->time_us < *m_policy.before_us) {
      m_removed_ids.insert(event->id);
      ++m_report.events_removed;
      m_removed_bytes += text.size() + 1;
      return true;
    }
    ++m_report.events_kept;
    return false;
  }
  if (m_removed_ids.contains(std::get<Delivery>(*record).event_id)) {
    ++m_report.deliveries_removed;
    m_removed_bytes += text.size() + 1;
    return true;
  }
  ++m_report.deliveries_kept;
  return false;
}

Result<PruneReport>
prune_log(const std::string& path_arg, const PrunePolicy& policy, bool dry_run,
          const std::function<void()>& on_locked)
{
  if (policy.keep.has_value() == policy.before_us.has_value()) {
    return usage_error("prune needs exactly one of --older-than and --keep");
  }
  RAG_TRY_ASSIGN(const std::optional<std::string> real, real_log_path(path_arg));
  if (!real) {
    return PruneReport{};
  }
  const std::string& path = *real;

  // Plan without the lock, so writers wait only for the copy, not for the parsing.
  RAG_TRY_ASSIGN(const int opened, open_regular_log(path, O_RDONLY));
  Fd fd(opened);
  if (!fd.valid()) {
    if (errno == ENOENT) {
      return PruneReport{};
    }
    return error(fmt::format("cannot open event log {}: {}", path, errno_text(errno)));
  }
  struct stat planned
  {};
  if (::fstat(fd.get(), &planned) != 0) {
    return error(fmt::format("cannot read event log {}: {}", path, errno_text(errno)));
  }
  const auto planned_size = static_cast<std::uint64_t>(planned.st_size);
  RAG_TRY_ASSIGN(PrunePlan plan, PrunePlan::make(file_lines(fd.get(), path, planned_size), policy));

  const auto nothing_to_remove = [](const PrunePlan& p) {
    return p.report().events_removed == 0 && p.report().deliveries_removed == 0;
  };
  const auto unchanged_report = [](const PrunePlan& p, std::uint64_t size) {
    PruneReport report = p.report();
    report.exists = true;
    report.size_before = size;
    report.size_after = size - std::min(size, p.removed_bytes());
    return report;
  };
  if (dry_run || nothing_to_remove(plan)) {
    return unchanged_report(plan, planned_size);
  }

  int locked_fd = -1;
  auto lock = lock_file_at_path(locked_fd, path, LockFor::rewrite);
  Fd locked(locked_fd);
  RAG_TRY(lock);
  if (on_locked) {
    on_locked();
  }
  struct stat now
  {};
  if (::fstat(locked.get(), &now) != 0) {
    return error(fmt::format("cannot read event log {}: {}", path, errno_text(errno)));
  }
  const auto size = static_cast<std::uint64_t>(now.st_size);
  // Writers only append (and cut torn tails after the last '\n'), so the planned lines
  // are still there unless another prune replaced the file meanwhile: then plan again,
  // this time under the lock.
  if (!same_file(planned, now) || size < plan.planned_bytes()) {
    RAG_TRY_ASSIGN(plan, PrunePlan::make(file_lines(locked.get(), path, size), policy));
    if (nothing_to_remove(plan)) {
      return unchanged_report(plan, size);
    }
  }
  return rewrite_log(path, locked.get(), size, plan);
}

} // namespace rag::core
