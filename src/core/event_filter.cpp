#include "core/event_filter.hpp"

#include "core/duration.hpp"
#include "core/http_syntax.hpp"
#include "core/url.hpp"
#include "util/bytes.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <fnmatch.h>

#include <fmt/core.h>

namespace rag::core {

namespace {

// Return true when every writer of JSON copies `text` into a string literal
// unchanged (printable ASCII other than '"' and '\'), so the raw line must contain it.
bool
is_json_plain(std::string_view text)
{
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\'; });
}

// Return true when `haystack` contains `needle` (already lower-case) ignoring ASCII case.
bool
contains_ignore_case(std::string_view haystack, std::string_view lower_needle)
{
  if (lower_needle.empty()) {
    return true;
  }
  const auto it =
      std::search(haystack.begin(), haystack.end(), lower_needle.begin(), lower_needle.end(),
                  [](char a, char b) { return util::ascii_lower(a) == b; });
  return it != haystack.end();
}

bool
contains(std::string_view haystack, std::string_view needle)
{
  return haystack.find(needle) != std::string_view::npos;
}

Error
bad_value(std::string_view flag, std::string_view value, const std::string& why, std::string hint)
{
  return usage_error(
      fmt::format("bad {} value '{}'{}", flag, util::utf8_replace_invalid(value), why),
      std::move(hint));
}

// The longest run of literal characters in a glob without brackets or escapes; empty
// when the glob has none or uses syntax we do not pick apart.
std::string
longest_literal(std::string_view glob)
{
  if (glob.find_first_of("[\\") != std::string_view::npos) {
    return {};
  }
  std::string_view best;
  std::size_t start = 0;
  while (start <= glob.size()) {
    std::size_t end = glob.find_first_of("*?", start);
    if (end == std::string_view::npos) {
      end = glob.size();
    }
    const std::string_view part = glob.substr(start, end - start);
    if (part.size() > best.size()) {
      best = part;
    }
    start = end + 1;
  }
  return std::string(best);
}

} // namespace

void
DeliverySummary::add_newer(const Delivery& delivery)
{
  TargetOutcome outcome{delivery.target, delivery.status, delivery.error, delivery.duration_us};
  for (auto& existing : m_targets) {
    if (existing.target == delivery.target) {
      existing = std::move(outcome);
      return;
    }
  }
  m_targets.push_back(std::move(outcome));
}

void
DeliverySummary::add_older(const Delivery& delivery)
{
  for (auto it = m_targets.begin(); it != m_targets.end(); ++it) {
    if (it->target == delivery.target) {
      // The newer attempt already seen stays the latest, but this target's first
      // attempt is now the earliest of all: it moves to the front.
      std::rotate(m_targets.begin(), it, it + 1);
      return;
    }
  }
  m_targets.insert(m_targets.begin(), TargetOutcome{delivery.target, delivery.status,
                                                    delivery.error, delivery.duration_us});
}

std::string_view
target_path(std::string_view target)
{
  std::string_view path = target;
  const std::size_t scheme = path.find("://");
  if (scheme != std::string_view::npos &&
      path.substr(0, scheme).find('/') == std::string_view::npos) {
    const std::size_t slash = path.find('/', scheme + 3);
    path = slash == std::string_view::npos ? std::string_view("/") : path.substr(slash);
  }
  return split_path_query(strip_fragment(path)).path;
}

Result<EventFilter>
EventFilter::parse(const FilterSpec& spec, std::int64_t now_us)
{
  EventFilter filter;
  if (!spec.since.empty()) {
    auto since = parse_time_spec(spec.since, now_us);
    if (!since) {
      return usage_error(fmt::format("bad --since value: {}", since.error().message),
                         since.error().hint);
    }
    filter.m_since_us = *since;
  }
  if (!spec.until.empty()) {
    auto until = parse_time_spec(spec.until, now_us);
    if (!until) {
      return usage_error(fmt::format("bad --until value: {}", until.error().message),
                         until.error().hint);
    }
    filter.m_until_us = *until;
  }
  if (filter.m_since_us && filter.m_until_us && *filter.m_since_us > *filter.m_until_us) {
    return usage_error("--since is later than --until", "swap the two values");
  }

  if (!spec.method.empty()) {
    if (!http::is_token(spec.method)) {
      return bad_value("--method", spec.method, "", "use an HTTP method such as POST");
    }
    filter.m_method = spec.method;
    filter.m_needles.push_back({"\"" + util::to_lower(spec.method) + "\"", true});
  }

  if (!spec.path_glob.empty()) {
    // "hooks/*" means the path "/hooks/..." to anyone who has not read fnmatch(3).
    const char first = spec.path_glob.front();
    filter.m_path_glob = (first == '/' || first == '*' || first == '?' || first == '[')
                             ? spec.path_glob
                             : "/" + spec.path_glob;
    std::string literal = longest_literal(filter.m_path_glob);
    if (!literal.empty() && is_json_plain(literal)) {
      filter.m_needles.push_back({std::move(literal), false});
    }
  }

  for (const auto& text : spec.headers) {
    const std::size_t sep = text.find_first_of("=:");
    HeaderTest test;
    test.name = text.substr(0, sep);
    if (sep != std::string::npos) {
      std::string value = text.substr(sep + 1);
      // "Name: value" (curl style) has a space after the colon that is not part of
      // the value; captured values are stored without surrounding whitespace.
      if (text[sep] == ':') {
        value.erase(0, value.find_first_not_of(" \t") == std::string::npos
                           ? value.size()
                           : value.find_first_not_of(" \t"));
      }
      test.value = std::move(value);
    }
    if (!http::is_token(test.name)) {
      return bad_value("--header", text, "",
                       "use NAME or NAME=VALUE, e.g. --header X-GitHub-Event=push");
    }
    if (is_json_plain(test.name)) {
      filter.m_needles.push_back({"\"" + util::to_lower(test.name) + "\"", true});
    }
    if (test.value && is_json_plain(*test.value)) {
      filter.m_needles.push_back({"\"" + *test.value + "\"", false});
    }
    filter.m_headers.push_back(std::move(test));
  }

  if (!spec.grep.empty()) {
    filter.m_grep = spec.grep;
    if (is_json_plain(spec.grep)) {
      filter.m_needles.push_back({spec.grep, false});
    }
  }

  if (!spec.status.empty()) {
    const std::string status = util::to_lower(spec.status);
    const std::string hint = "use a status like 200, a class like 4xx, or failed";
    const auto digit = [](char c) { return c >= '0' && c <= '9'; };
    if (status == "failed") {
      filter.m_status_kind = StatusKind::failed;
    } else if (status.size() == 3 && status[0] >= '1' && status[0] <= '5' && status[1] == 'x' &&
               status[2] == 'x') {
      filter.m_status_kind = StatusKind::status_class;
      filter.m_status = status[0] - '0';
    } else if (status.size() == 3 && std::all_of(status.begin(), status.end(), digit) &&
               status[0] >= '1' && status[0] <= '5') {
      filter.m_status_kind = StatusKind::code;
      filter.m_status = std::stoi(status);
    } else {
      return bad_value("--status", spec.status, "", hint);
    }
  }
  return filter;
}

bool
EventFilter::empty() const
{
  return !m_since_us && !m_until_us && m_method.empty() && m_path_glob.empty() &&
         m_headers.empty() && m_grep.empty() && m_status_kind == StatusKind::none;
}

bool
EventFilter::matches_event(const Event& event) const
{
  if (m_since_us && event.time_us < *m_since_us) {
    return false;
  }
  if (m_until_us && event.time_us > *m_until_us) {
    return false;
  }
  if (!m_method.empty() && !util::iequals(event.method, m_method)) {
    return false;
  }
  if (!m_path_glob.empty()) {
    // No FNM_PATHNAME: "*" crosses "/", so "/github/*" matches "/github/a/b".
    const std::string path(target_path(event.target));
    if (::fnmatch(m_path_glob.c_str(), path.c_str(), 0) != 0) {
      return false;
    }
  }
  for (const auto& test : m_headers) {
    const bool found = test.value ? has_header_value(event.headers, test.name, *test.value)
                                  : has_header(event.headers, test.name);
    if (!found) {
      return false;
    }
  }
  if (!m_grep.empty()) {
    const auto in_headers =
        std::any_of(event.headers.begin(), event.headers.end(), [&](const Header& h) {
          return contains(h.first, m_grep) || contains(h.second, m_grep);
        });
    if (!contains(event.target, m_grep) && !in_headers && !contains(event.body, m_grep)) {
      return false;
    }
  }
  return true;
}

bool
EventFilter::matches_status(const DeliverySummary& deliveries, int refused_status) const
{
  if (m_status_kind == StatusKind::none) {
    return true;
  }
  // A refused request's answer is judged as a target's would be: a 413 is 4xx and failed.
  if (refused_status != 0) {
    const TargetOutcome refusal{{}, refused_status, {}, 0};
    const bool matched = m_status_kind == StatusKind::failed ? refusal.failed()
                         : m_status_kind == StatusKind::code ? refused_status == m_status
                                                             : refused_status / 100 == m_status;
    if (matched) {
      return true;
    }
  }
  return std::any_of(deliveries.targets().begin(), deliveries.targets().end(),
                     [&](const TargetOutcome& outcome) {
                       switch (m_status_kind) {
                       case StatusKind::failed: return outcome.failed();
                       case StatusKind::code:
                         return outcome.error.empty() && outcome.status == m_status;
                       case StatusKind::status_class:
                         return outcome.error.empty() && outcome.status / 100 == m_status;
                       case StatusKind::none: break;
                       }
                       return true;
                     });
}

bool
EventFilter::may_match_line(std::string_view line) const
{
  if (m_needles.empty()) {
    return true;
  }
  // Only event lines are judged. Inside a JSON string every '"' is escaped, so this
  // sequence can only be the record's own kind field.
  if (!contains(line, "\"kind\":\"event\"")) {
    return true;
  }
  // Fields that are not valid UTF-8 are stored as base64, and other JSON writers may
  // spell a character as \uXXXX or "\/": a needle could then be present but hidden.
  const bool hidden = contains(line, "base64") || contains(line, "\\u") || contains(line, "\\/");
  if (hidden) {
    return true;
  }
  for (const auto& needle : m_needles) {
    const bool found =
        needle.ignore_case ? contains_ignore_case(line, needle.text) : contains(line, needle.text);
    if (!found) {
      return false;
    }
  }
  return true;
}

} // namespace rag::core
