#include "core/http_syntax.hpp"

namespace rag::core::http {

namespace {

// Read one Content-Length list element into `framing`.
void
read_length(std::string_view element, Framing& framing)
{
  unsigned long long parsed = 0;
  for (char c : element) {
    if (c < '0' || c > '9') {
      framing.length_bad = true;
      return;
    }
    const auto digit = static_cast<unsigned long long>(c - '0');
    if (parsed > (std::numeric_limits<unsigned long long>::max() - digit) / 10) {
      framing.length_overflow = true;
      return;
    }
    parsed = parsed * 10 + digit;
  }
  if (framing.has_length && parsed != framing.length) {
    framing.length_conflict = true;
  }
  framing.has_length = true;
  framing.length = parsed;
}

} // namespace

Framing
read_framing(const Headers& headers)
{
  Framing framing;
  for (const auto& [name, value] : headers) {
    if (iequals(name, "content-length")) {
      // A list of identical values is tolerated; anything else is not.
      bool any = false;
      for_each_element(value, [&](std::string_view element) {
        any = true;
        read_length(element, framing);
      });
      if (!any) {
        framing.length_bad = true;
      }
    } else if (iequals(name, "transfer-encoding")) {
      framing.has_te = true;
      for_each_element(value, [&](std::string_view element) {
        const std::string_view coding = trim_ows(element.substr(0, element.find(';')));
        framing.chunked_last = iequals(coding, "chunked");
        ++framing.coding_count;
        framing.chunked_count += framing.chunked_last ? 1 : 0;
      });
    } else if (iequals(name, "connection")) {
      for_each_element(value, [&](std::string_view option) {
        framing.close = framing.close || iequals(option, "close");
        framing.keep_alive = framing.keep_alive || iequals(option, "keep-alive");
      });
    }
  }
  return framing;
}

} // namespace rag::core::http
