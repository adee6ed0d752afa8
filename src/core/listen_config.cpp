#include "core/listen_config.hpp"

#include "core/http_syntax.hpp"
#include "core/json_bounded.hpp"
#include "util/file.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <set>
#include <unistd.h>
#include <utility>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

namespace rag::core {

namespace {

// Ordered, so that of several problems the first one in the file is reported.
using Json = nlohmann::ordered_json;

constexpr auto k_npos = std::string_view::npos;

const std::vector<std::string> k_top_keys = {"forward_to", "respond", "routes"};
const std::vector<std::string> k_route_keys = {"path", "glob",    "method",       "headers",
                                               "to",   "respond", "strip_prefix", "verify"};

// nlohmann's DOM builder with what a config reader needs on top: a syntax error
// keeps its byte position instead of throwing, and a key repeated in one object
// stops the parse (nlohmann would silently keep the last value, so a route with
// two "to" keys would lose targets without a word).
class ConfigSax : public nlohmann::detail::json_sax_dom_parser<Json>
{
  using Base = nlohmann::detail::json_sax_dom_parser<Json>;

public:
  explicit ConfigSax(Json& document) : Base(document, false) {}

  bool null()
  {
    element();
    return Base::null();
  }
  bool boolean(bool value)
  {
    element();
    return Base::boolean(value);
  }
  bool number_integer(Json::number_integer_t value)
  {
    element();
    return Base::number_integer(value);
  }
  bool number_unsigned(Json::number_unsigned_t value)
  {
    element();
    return Base::number_unsigned(value);
  }
  bool number_float(Json::number_float_t value, const std::string& text)
  {
    element();
    return Base::number_float(value, text);
  }
  bool string(std::string& value)
  {
    element();
    return Base::string(value);
  }
  bool binary(Json::binary_t& value)
  {
    element();
    return Base::binary(value);
  }
  bool start_object(std::size_t size)
  {
    element();
    m_frames.push_back(Frame{false, 0, {}, {}});
    return Base::start_object(size);
  }
  bool end_object()
  {
    m_frames.pop_back();
    return Base::end_object();
  }
  bool start_array(std::size_t size)
  {
    element();
    m_frames.push_back(Frame{true, 0, {}, {}});
    return Base::start_array(size);
  }
  bool end_array()
  {
    m_frames.pop_back();
    return Base::end_array();
  }
  bool key(std::string& name)
  {
    Frame& frame = m_frames.back();
    if (!frame.keys.insert(name).second) {
      m_duplicate_key = name;
      m_duplicate_place = place(m_frames.size() - 1);
      return false;
    }
    frame.key = name;
    return Base::key(name);
  }
  template<typename Exception>
  bool parse_error(std::size_t position, const std::string& /*last_token*/, const Exception& ex)
  {
    m_error_position = position;
    m_error_what = ex.what();
    return false;
  }

  std::size_t error_position() const { return m_error_position; }
  const std::string& error_what() const { return m_error_what; }
  const std::string& duplicate_key() const { return m_duplicate_key; }
  const std::string& duplicate_place() const { return m_duplicate_place; }

private:
  struct Frame
  {
    bool array;
    std::size_t count;          // elements seen so far (arrays)
    std::string key;            // the current key (objects)
    std::set<std::string> keys; // every key seen (objects)
  };

  // Count a value that starts inside an array, so places can name its index.
  void element()
  {
    if (!m_frames.empty() && m_frames.back().array) {
      ++m_frames.back().count;
    }
  }

  // Name the value held by the innermost of the first `depth` frames, the way
  // the checker names places ("routes[1].headers").
  std::string place(std::size_t depth) const
  {
    std::string out;
    for (std::size_t i = 0; i < depth; ++i) {
      const Frame& frame = m_frames[i];
      if (frame.array) {
        out += fmt::format("[{}]", frame.count - 1);
      } else {
        out += out.empty() ? frame.key : "." + frame.key;
      }
    }
    return out;
  }

  std::vector<Frame> m_frames;
  std::size_t m_error_position = 0;
  std::string m_error_what;
  std::string m_duplicate_key;
  std::string m_duplicate_place;
};

// Messages are one line even when the file holds control bytes in a key or a
// target (JSON escapes like "\n" make that easy).
std::string
one_line(std::string text)
{
  for (char& c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      c = '?';
    }
  }
  return text;
}

// Return the 1-based line and byte column of nlohmann's error `position`.
std::pair<std::size_t, std::size_t>
line_column(std::string_view text, std::size_t position)
{
  // nlohmann counts the offending byte as read, so it sits at position - 1; at
  // the end of the input that is one past the last byte.
  const std::size_t index = std::min(position == 0 ? 0 : position - 1, text.size());
  const std::string_view before = text.substr(0, index);
  const auto line = static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n')) + 1;
  const std::size_t newline = before.rfind('\n');
  const std::size_t column = index - (newline == k_npos ? 0 : newline + 1) + 1;
  return {line, column};
}

// Return the useful part of a nlohmann parse error: "[json.exception.parse_error.101]
// parse error at line 1, column 9: syntax error while parsing value - invalid
// literal; last read: '...'; expected ..." becomes "invalid literal; expected ...".
// The position is dropped (its column is off by one at line starts, and ours is
// computed from the byte offset) and so is "last read", which can quote a whole line.
std::string
json_reason(std::string_view what)
{
  if (what.substr(0, 16) == "[json.exception." && what.find("] ") != k_npos) {
    what.remove_prefix(what.find("] ") + 2);
  }
  if (what.substr(0, 11) == "parse error" && what.find(": ") != k_npos) {
    what.remove_prefix(what.find(": ") + 2);
  }
  if (what.substr(0, 12) == "syntax error" && what.find(" - ") != k_npos) {
    what.remove_prefix(what.find(" - ") + 3);
  }
  const std::size_t last_read = what.find("; last read: ");
  if (last_read == k_npos) {
    return std::string(what);
  }
  std::string reason(what.substr(0, last_read));
  const std::size_t expected = what.rfind("; expected ");
  if (expected != k_npos && expected > last_read) {
    reason += what.substr(expected);
  }
  return reason;
}

// Name a JSON value's kind for "expected X, got Y".
std::string
describe(const Json& value)
{
  switch (value.type()) {
  case Json::value_t::null: return "null";
  case Json::value_t::boolean: return value.get<bool>() ? "true" : "false";
  case Json::value_t::string: return "a string";
  case Json::value_t::array: return "an array";
  case Json::value_t::object: return "an object";
  case Json::value_t::number_integer:
  case Json::value_t::number_unsigned:
  case Json::value_t::number_float: return "a number";
  default: return "an unsupported value";
  }
}

// True when `text` has no bytes that can never appear in a request path.
bool
is_plain(std::string_view text)
{
  return std::none_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte <= 0x20 || byte == 0x7f;
  });
}

std::string
join(const std::vector<std::string>& words)
{
  std::string out;
  for (const auto& word : words) {
    out += out.empty() ? word : ", " + word;
  }
  return out;
}

// Turns a parsed JSON document into a ListenConfig, naming the file and the
// place of the first problem.
class Checker
{
public:
  Checker(std::string_view name, SecretResolver resolve) : m_name(name), m_resolve(resolve) {}

  Error fail(std::string_view place, std::string_view problem, std::string_view hint = {}) const
  {
    const std::string message = place.empty() ? fmt::format("{}: {}", m_name, problem)
                                              : fmt::format("{}: {}: {}", m_name, place, problem);
    return usage_error(one_line(message), one_line(std::string(hint)));
  }

  Error unknown_key(std::string_view place, const std::string& key,
                    const std::vector<std::string>& known) const
  {
    const std::string guess = util::closest_match(key, known);
    return fail(place, fmt::format("unknown key '{}'", key),
                guess.empty() ? fmt::format("known keys: {}", join(known))
                              : fmt::format("did you mean '{}'?", guess));
  }

  Result<ListenConfig> config(const Json& root) const
  {
    if (!root.is_object()) {
      return fail({}, fmt::format("expected an object at the top level, got {}", describe(root)));
    }
    ListenConfig config;
    for (const auto& [key, value] : root.items()) {
      if (key == "forward_to") {
        RAG_TRY_ASSIGN(config.forward_to, targets(value, key, true));
      } else if (key == "respond") {
        RAG_TRY_ASSIGN(config.respond, respond(value, key));
      } else if (key == "routes") {
        if (!value.is_array()) {
          return fail(key, fmt::format("expected an array of routes, got {}", describe(value)));
        }
        for (std::size_t i = 0; i < value.size(); ++i) {
          RAG_TRY_ASSIGN(RouteRule rule, route(value[i], i));
          config.routes.push_back(std::move(rule));
        }
      } else {
        return unknown_key({}, key, k_top_keys);
      }
    }
    return config;
  }

private:
  Result<std::string> string(const Json& value, std::string_view place,
                             std::string_view what = "a string") const
  {
    if (!value.is_string()) {
      return fail(place, fmt::format("expected {}, got {}", what, describe(value)));
    }
    return value.get<std::string>();
  }

  Result<Target> target(const Json& value, const std::string& place) const
  {
    if (!value.is_string()) {
      // A bare port is the likeliest non-string: say how to write it.
      return fail(place, fmt::format("expected a target string, got {}", describe(value)),
                  value.is_number_integer()
                      ? fmt::format("write it as a string: \"{}\"", value.dump())
                      : "give a port (\"3000\"), \"HOST:PORT[/PATH]\" or an http:// or "
                        "https:// URL");
    }
    auto parsed = parse_target(value.get_ref<const std::string&>());
    if (!parsed) {
      return fail(place, parsed.error().message, parsed.error().hint);
    }
    return std::move(parsed).value();
  }

  Result<std::vector<Target>> targets(const Json& value, const std::string& place,
                                      bool allow_empty) const
  {
    if (!value.is_array()) {
      return fail(place, fmt::format("expected an array of targets, got {}", describe(value)),
                  value.is_string() || value.is_number()
                      ? "write a list, even of one target: [\"3000\"]"
                      : "");
    }
    if (value.empty() && !allow_empty) {
      return fail(place, "needs at least one target", "for example [\"3000\"]");
    }
    std::vector<Target> out;
    for (std::size_t i = 0; i < value.size(); ++i) {
      RAG_TRY_ASSIGN(Target parsed, target(value[i], fmt::format("{}[{}]", place, i)));
      out.push_back(std::move(parsed));
    }
    return out;
  }

  Result<RespondPolicy> respond(const Json& value, const std::string& place) const
  {
    if (value.is_string() && value.get_ref<const std::string&>() == "primary") {
      return RespondPolicy{true, 200};
    }
    if (value.is_number_integer()) {
      const bool in_range =
          value.is_number_unsigned()
              ? value.get<std::uint64_t>() >= 200 && value.get<std::uint64_t>() <= 599
              : value.get<std::int64_t>() >= 200 && value.get<std::int64_t>() <= 599;
      if (!in_range) {
        return fail(place, fmt::format("status {} is not from 200 to 599", value.dump()));
      }
      return RespondPolicy{false, static_cast<int>(value.get<std::int64_t>())};
    }
    const std::string got = value.is_string()
                                ? fmt::format("'{}'", value.get_ref<const std::string&>())
                                : describe(value);
    return fail(place,
                fmt::format("expected \"primary\" or a status from 200 to 599, got {}", got));
  }

  // "verify": ["github=env:GITHUB_SECRET", ...] (a single string is accepted too).
  Result<std::vector<SignatureSpec>> verify(const Json& value, const std::string& place) const
  {
    std::vector<SignatureSpec> specs;
    auto one = [&](const Json& item, const std::string& where) -> Result<void> {
      if (!item.is_string()) {
        return fail(where, fmt::format("expected \"PROVIDER=SECRET\", got {}", describe(item)));
      }
      auto spec = parse_signature_spec(item.get_ref<const std::string&>(), m_resolve);
      if (!spec) {
        return fail(where, spec.error().message, spec.error().hint);
      }
      specs.push_back(std::move(spec).value());
      return {};
    };
    if (value.is_array()) {
      for (std::size_t i = 0; i < value.size(); ++i) {
        RAG_TRY(one(value[i], fmt::format("{}[{}]", place, i)));
      }
    } else {
      RAG_TRY(one(value, place));
    }
    return specs;
  }

  Result<RouteRule> route(const Json& value, std::size_t index) const
  {
    RouteRule rule;
    rule.name = fmt::format("routes[{}]", index);
    if (!value.is_object()) {
      return fail(rule.name, fmt::format("expected an object, got {}", describe(value)));
    }
    bool has_to = false;
    for (const auto& [key, item] : value.items()) {
      const std::string place = rule.name + "." + key;
      if (key == "path") {
        RAG_TRY_ASSIGN(std::string path, string(item, place));
        if (path.empty() || path.front() != '/') {
          return fail(place, fmt::format("'{}' must start with '/'", path));
        }
        if (!is_plain(path) || path.find_first_of("?#") != std::string::npos) {
          return fail(place,
                      fmt::format("'{}' must be a plain path (no spaces, '?' or '#')", path));
        }
        // Same normalisation as --route: "/github/" is "/github", and "/" matches all.
        while (!path.empty() && path.back() == '/') {
          path.pop_back();
        }
        rule.path_prefix = std::move(path);
      } else if (key == "glob") {
        RAG_TRY_ASSIGN(rule.path_glob, string(item, place));
        if (rule.path_glob.empty() || rule.path_glob.front() != '/') {
          return fail(place, fmt::format("'{}' must start with '/'", rule.path_glob),
                      "a glob matches the whole path, for example \"/shops/*/orders\"");
        }
        if (!is_plain(rule.path_glob)) {
          return fail(place, fmt::format("'{}' must not contain spaces or control characters",
                                         rule.path_glob));
        }
      } else if (key == "method") {
        RAG_TRY_ASSIGN(rule.method, string(item, place));
        if (!http::is_token(rule.method)) {
          return fail(place, fmt::format("'{}' is not a valid HTTP method", rule.method));
        }
      } else if (key == "headers") {
        RAG_TRY_ASSIGN(rule.headers, headers(item, place));
      } else if (key == "to") {
        RAG_TRY_ASSIGN(rule.targets, targets(item, place, false));
        has_to = true;
      } else if (key == "respond") {
        RAG_TRY_ASSIGN(rule.respond, respond(item, place));
      } else if (key == "verify") {
        RAG_TRY_ASSIGN(rule.verify, verify(item, place));
      } else if (key == "strip_prefix") {
        if (!item.is_boolean()) {
          return fail(place, fmt::format("expected true or false, got {}", describe(item)));
        }
        rule.strip_prefix = item.get<bool>();
      } else {
        return unknown_key(rule.name, key, k_route_keys);
      }
    }
    if (!has_to) {
      return fail(rule.name, "missing key 'to'",
                  "every route needs its targets, for example \"to\": [\"3000\"]");
    }
    return rule;
  }

  Result<std::vector<RouteRule::HeaderMatch>> headers(const Json& value,
                                                      const std::string& place) const
  {
    if (!value.is_object()) {
      return fail(place, fmt::format("expected an object of header names, got {}", describe(value)),
                  "for example {\"X-GitHub-Event\": \"push\", \"X-Hub-Signature-256\": true}");
    }
    std::vector<RouteRule::HeaderMatch> out;
    for (const auto& [name, item] : value.items()) {
      if (!http::is_token(name)) {
        return fail(place, fmt::format("'{}' is not a valid header name", name));
      }
      RouteRule::HeaderMatch match;
      match.name = name;
      if (item.is_string()) {
        match.value = item.get<std::string>();
      } else if (item.is_boolean() && item.get<bool>()) {
        match.any_value = true;
      } else {
        return fail(place + "." + name,
                    fmt::format("expected a string (this exact value) or true (any value), got {}",
                                describe(item)));
      }
      out.push_back(std::move(match));
    }
    return out;
  }

  std::string_view m_name;
  SecretResolver m_resolve; // the SECRET of each "verify" spec, e.g. env:NAME
};

// A config file is written by hand: far below this. The cap keeps a wrong path (a log,
// a device) from being read into memory whole.
constexpr std::size_t k_max_config_bytes = 16 * 1024 * 1024;

Result<std::string>
read_file(const std::string& path)
{
  std::string text;
  if (const int err = util::read_file(path, k_max_config_bytes, text); err != 0) {
    return error(fmt::format("cannot read config file '{}': {}", path,
                             err == EFBIG ? "it is larger than 16 MiB" : util::errno_text(err)));
  }
  return text;
}

} // namespace

Result<ListenConfig>
parse_listen_config(std::string_view text, std::string_view name, SecretResolver resolve)
{
  // A config file is not rag's own writing either: its nesting is capped like every
  // foreign document's (core/json_bounded.hpp) before anything recurses over it.
  if (!json_depth_within(text)) {
    return usage_error(
        fmt::format("{}: invalid JSON (nested more than {} levels deep)", name, k_json_max_depth));
  }
  Json root;
  ConfigSax sax(root);
  if (!Json::sax_parse(text, &sax)) {
    const Checker checker(name, resolve);
    if (!sax.duplicate_key().empty() || sax.error_what().empty()) {
      return checker.fail(sax.duplicate_place(),
                          fmt::format("duplicate key '{}'", sax.duplicate_key()));
    }
    const auto [line, column] = line_column(text, sax.error_position());
    return usage_error(one_line(fmt::format("{}:{}:{}: invalid JSON ({})", name, line, column,
                                            json_reason(sax.error_what()))));
  }
  return Checker(name, resolve).config(root);
}

Result<ListenConfig>
load_listen_config(const std::string& path, SecretResolver resolve)
{
  RAG_TRY_ASSIGN(const std::string text, read_file(path));
  return parse_listen_config(text, path, resolve);
}

} // namespace rag::core
