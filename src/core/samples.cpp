#include "core/samples.hpp"

#include "util/text.hpp"
#include "util/time.hpp"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <optional>

namespace rag::core {

namespace {

using Json = nlohmann::ordered_json;

constexpr std::string_view k_alnum =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
constexpr std::string_view k_upper = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
constexpr std::string_view k_hex = "0123456789abcdef";
constexpr std::size_t k_max_random_chars = 256;

Result<Provider>
provider_of(std::string_view name)
{
  for (const Provider provider : {Provider::github, Provider::stripe, Provider::standard,
                                  Provider::shopify, Provider::slack, Provider::hmac}) {
    if (provider_name(provider) == name) {
      return provider;
    }
  }
  return error(fmt::format("unknown provider '{}'", name));
}

Result<Sample>
parse_sample(const EmbeddedFile& file)
{
  const auto bad = [&](std::string_view why) {
    return error(fmt::format("built-in sample '{}' is broken: {}", file.name, why),
                 "please report this");
  };
  const Json doc = Json::parse(file.text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return bad("not a JSON object");
  }
  Sample sample;
  sample.name = std::string(file.name);
  if (!doc.contains("description") || !doc["description"].is_string() ||
      !doc.contains("provider") || !doc["provider"].is_string() || !doc.contains("headers") ||
      !doc["headers"].is_array() || !doc.contains("body")) {
    return bad("needs description, provider, headers and body");
  }
  sample.description = doc["description"].get<std::string>();
  auto provider = provider_of(doc["provider"].get<std::string>());
  if (!provider) {
    return bad(provider.error().message);
  }
  sample.provider = *provider;
  sample.pretty = doc.contains("pretty") && doc["pretty"].is_boolean() && doc["pretty"].get<bool>();
  for (const auto& header : doc["headers"]) {
    if (!header.is_array() || header.size() != 2 || !header[0].is_string() ||
        !header[1].is_string()) {
      return bad("a header is not a [name, value] pair of strings");
    }
    sample.headers.emplace_back(header[0].get<std::string>(), header[1].get<std::string>());
  }
  sample.body_template = doc["body"].dump();
  return sample;
}

// Fills placeholders with values from the context; "#NAME" values are remembered.
class PlaceholderFiller
{
public:
  explicit PlaceholderFiller(const SampleContext& context) : m_context(context) {}

  // Return `text` with its placeholders filled. When the whole text is one numeric
  // placeholder, `number` receives its value as a JSON number.
  Result<std::string> fill(std::string_view text, std::optional<std::int64_t>* number)
  {
    std::string out;
    std::size_t pos = 0;
    int placeholders = 0;
    std::optional<std::int64_t> last_number;
    while (pos < text.size()) {
      const std::size_t open = text.find("{{", pos);
      if (open == std::string_view::npos) {
        out.append(text.substr(pos));
        break;
      }
      const std::size_t close = text.find("}}", open + 2);
      if (close == std::string_view::npos) {
        return error(fmt::format("unterminated placeholder in '{}'", text));
      }
      out.append(text.substr(pos, open - pos));
      RAG_TRY_ASSIGN(const Value value, evaluate(text.substr(open + 2, close - open - 2)));
      out.append(value.text);
      last_number = value.number;
      ++placeholders;
      pos = close + 2;
    }
    if (number != nullptr) {
      const bool whole =
          placeholders == 1 && text.substr(0, 2) == "{{" && text.find("}}") + 2 == text.size();
      *number = whole ? last_number : std::nullopt;
    }
    return out;
  }

private:
  struct Value
  {
    std::string text;
    std::optional<std::int64_t> number; // set for numeric kinds
  };

  std::string random_chars(std::string_view alphabet, std::size_t count)
  {
    std::string out;
    out.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      out.push_back(alphabet[m_context.random() % alphabet.size()]);
    }
    return out;
  }

  std::string uuid()
  {
    std::string hex = random_chars(k_hex, 32);
    hex[12] = '4';                      // version 4
    hex[16] = k_hex[8 + (hex[16] % 4)]; // variant 10xx
    return fmt::format("{}-{}-{}-{}-{}", hex.substr(0, 8), hex.substr(8, 4), hex.substr(12, 4),
                       hex.substr(16, 4), hex.substr(20));
  }

  std::string rfc3339() const { return util::format_rfc3339_us(m_context.now_us, false); }

  Result<Value> evaluate(std::string_view spec)
  {
    std::string name;
    if (const std::size_t hash = spec.find('#'); hash != std::string_view::npos) {
      name = std::string(spec.substr(hash + 1));
      spec = spec.substr(0, hash);
      if (auto it = m_named.find(name); it != m_named.end()) {
        return it->second;
      }
    }
    RAG_TRY_ASSIGN(Value value, generate(spec));
    if (!name.empty()) {
      m_named[name] = value;
    }
    return value;
  }

  Result<Value> generate(std::string_view spec)
  {
    const std::int64_t now_s = m_context.now_us / 1'000'000;
    if (spec == "unix") {
      return Value{std::to_string(now_s), now_s};
    }
    if (spec.substr(0, 5) == "unix+" || spec.substr(0, 5) == "unix-") {
      RAG_TRY_ASSIGN(const std::size_t offset, count_of(spec, spec.substr(5)));
      const std::int64_t value = spec[4] == '+' ? now_s + static_cast<std::int64_t>(offset)
                                                : now_s - static_cast<std::int64_t>(offset);
      return Value{std::to_string(value), value};
    }
    if (spec == "rfc3339") {
      return Value{rfc3339(), std::nullopt};
    }
    if (spec == "uuid") {
      return Value{uuid(), std::nullopt};
    }
    const std::size_t colon = spec.find(':');
    if (colon != std::string_view::npos) {
      const std::string_view kind = spec.substr(0, colon);
      RAG_TRY_ASSIGN(const std::size_t count, count_of(spec, spec.substr(colon + 1)));
      if (kind == "hex") {
        return Value{random_chars(k_hex, count), std::nullopt};
      }
      if (kind == "alnum") {
        return Value{random_chars(k_alnum, count), std::nullopt};
      }
      if (kind == "upper") {
        return Value{random_chars(k_upper, count), std::nullopt};
      }
      if (kind == "digits" && count <= 18) {
        // No leading zero, so the number has exactly `count` digits.
        std::string digits =
            random_chars(k_hex.substr(1, 9), 1) + random_chars(k_hex.substr(0, 10), count - 1);
        return Value{digits, std::stoll(digits)};
      }
    }
    return error(fmt::format("unknown placeholder '{{{{{}}}}}'", spec));
  }

  static Result<std::size_t> count_of(std::string_view spec, std::string_view text)
  {
    std::size_t value = 0;
    for (const char c : text) {
      if (c < '0' || c > '9' || value > 100'000'000'000) {
        return error(fmt::format("bad number in placeholder '{{{{{}}}}}'", spec));
      }
      value = value * 10 + static_cast<std::size_t>(c - '0');
    }
    if (text.empty() || value == 0 ||
        (spec.find(':') != std::string_view::npos && value > k_max_random_chars)) {
      return error(fmt::format("bad number in placeholder '{{{{{}}}}}'", spec));
    }
    return value;
  }

  const SampleContext& m_context;
  std::map<std::string, Value> m_named;
};

Result<void>
fill_json(Json& node, PlaceholderFiller& filler)
{
  if (node.is_string()) {
    std::optional<std::int64_t> number;
    RAG_TRY_ASSIGN(std::string text, filler.fill(node.get_ref<const std::string&>(), &number));
    if (number) {
      node = *number;
    } else {
      node = std::move(text);
    }
  } else if (node.is_structured()) {
    for (auto& child : node) {
      RAG_TRY(fill_json(child, filler));
    }
  }
  return {};
}

bool
is_index(std::string_view step)
{
  return !step.empty() && step.size() <= 9 &&
         std::all_of(step.begin(), step.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string_view
type_name(const Json& node)
{
  switch (node.type()) {
  case Json::value_t::string: return "a string";
  case Json::value_t::boolean: return "a boolean";
  case Json::value_t::null: return "null";
  case Json::value_t::array: return "an array";
  case Json::value_t::object: return "an object";
  default: return "a number";
  }
}

Result<void>
apply_set(Json& body, const FieldSet& set)
{
  const auto fail = [&](const std::string& why) {
    return usage_error(fmt::format("cannot set '{}': {}", set.path, why),
                       "paths are dot-separated keys and array indexes, e.g. items.0.sku");
  };
  Json* node = &body;
  std::string walked;
  for (const std::string& step : set.steps) {
    if (node->is_array()) {
      if (!is_index(step)) {
        return fail(fmt::format("'{}' is an array, '{}' is not an index", walked, step));
      }
      const std::size_t index = std::stoul(step);
      if (index >= node->size()) {
        return fail(fmt::format("index {} is out of range ('{}' has {} item{})", index, walked,
                                node->size(), node->size() == 1 ? "" : "s"));
      }
      node = &(*node)[index];
    } else if (node->is_object()) {
      node = &(*node)[step]; // creates a missing key (null, filled below or stepped into)
    } else if (node->is_null() && !walked.empty()) {
      *node = Json::object(); // a key created on the way, or a null field: make it an object
      node = &(*node)[step];
    } else {
      return fail(fmt::format("'{}' is {}", walked.empty() ? std::string("the body") : walked,
                              type_name(*node)));
    }
    walked += (walked.empty() ? "" : ".") + step;
  }
  Json value = Json::parse(set.value, nullptr, false);
  if (value.is_discarded()) {
    value = set.value;
  }
  *node = std::move(value);
  return {};
}

} // namespace

Result<std::vector<Sample>>
load_samples()
{
  std::vector<Sample> samples;
  for (const auto& file : embedded_sample_files()) {
    RAG_TRY_ASSIGN(Sample sample, parse_sample(file));
    samples.push_back(std::move(sample));
  }
  std::sort(samples.begin(), samples.end(),
            [](const Sample& a, const Sample& b) { return a.name < b.name; });
  return samples;
}

Result<Sample>
find_sample(std::string_view name)
{
  RAG_TRY_ASSIGN(std::vector<Sample> samples, load_samples());
  std::vector<std::string> names;
  for (auto& sample : samples) {
    if (sample.name == name) {
      return std::move(sample);
    }
    names.push_back(sample.name);
  }
  const std::string guess = util::closest_match(name, names);
  return usage_error(fmt::format("unknown sample '{}'", name),
                     guess.empty() ? std::string("run `rag trigger --list` for the samples")
                                   : fmt::format("did you mean '{}'?", guess));
}

std::string_view
default_test_secret(Provider provider)
{
  switch (provider) {
  case Provider::github: return "rag_github_test_secret";
  case Provider::stripe: return "whsec_rag_stripe_test_secret";
  case Provider::standard:
    // base64 of the 32 bytes "rag-standard-webhooks-test-key!!"
    return "whsec_cmFnLXN0YW5kYXJkLXdlYmhvb2tzLXRlc3Qta2V5ISE=";
  case Provider::shopify: return "rag_shopify_test_secret";
  case Provider::slack: return "rag_slack_signing_secret";
  case Provider::hmac: return "rag_test_secret";
  }
  return "rag_test_secret";
}

Result<FieldSet>
parse_field_set(std::string_view text)
{
  const std::size_t eq = text.find('=');
  if (eq == std::string_view::npos) {
    return usage_error(fmt::format("invalid --set '{}': expected PATH=VALUE", text),
                       "e.g. --set data.object.amount=5000");
  }
  FieldSet set;
  set.path = std::string(text.substr(0, eq));
  set.value = std::string(text.substr(eq + 1));
  std::string_view rest = set.path;
  while (true) {
    const std::size_t dot = rest.find('.');
    const std::string_view step = rest.substr(0, dot);
    if (step.empty()) {
      return usage_error(fmt::format("invalid --set path '{}': empty key", set.path),
                         "paths are dot-separated keys and indexes, e.g. items.0.sku");
    }
    set.steps.emplace_back(step);
    if (dot == std::string_view::npos) {
      break;
    }
    rest.remove_prefix(dot + 1);
  }
  return set;
}

Result<RenderedSample>
render_sample(const Sample& sample, const std::vector<FieldSet>& sets, const SampleContext& context)
{
  PlaceholderFiller filler(context);
  RenderedSample out;
  for (const auto& [name, value] : sample.headers) {
    RAG_TRY_ASSIGN(std::string filled, filler.fill(value, nullptr));
    out.headers.emplace_back(name, std::move(filled));
  }
  Json body = Json::parse(sample.body_template, nullptr, false);
  if (body.is_discarded()) {
    return error(fmt::format("built-in sample '{}' has a broken body", sample.name));
  }
  RAG_TRY(fill_json(body, filler));
  for (const auto& set : sets) {
    RAG_TRY(apply_set(body, set));
  }
  // --set values come from the command line and may not be UTF-8: replace, never throw.
  out.body = body.dump(sample.pretty ? 2 : -1, ' ', false, Json::error_handler_t::replace);
  return out;
}

} // namespace rag::core
