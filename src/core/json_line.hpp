#pragma once

// One JSON object on one line, built field by field: the writer places its own commas
// and escapes every string (invalid UTF-8 becomes U+FFFD, so the line is always valid
// JSON). For the `--json` lines of the commands; the log's records have their own fixed
// serialisers (core/log/record_writer).

#include "core/record.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rag::core {

// A JSON object under construction; fields appear in the order they are added.
class JsonLine
{
public:
  // Add a string field.
  JsonLine& text(std::string_view name, std::string_view value);
  // Add an integer field.
  JsonLine& number(std::string_view name, std::int64_t value);
  // Add a true/false field.
  JsonLine& boolean(std::string_view name, bool value);
  // Add an array of strings.
  JsonLine& texts(std::string_view name, const std::vector<std::string>& values);
  // Add headers as an array of [name, value] pairs, in order.
  JsonLine& pairs(std::string_view name, const Headers& headers);
  // Return the object as one line: "{...}" (no newline).
  std::string str() const;

private:
  // Start a field: the comma before it (if any) and its quoted name and colon.
  void key(std::string_view name);

  std::string m_body;
};

} // namespace rag::core
