#include "core/json_line.hpp"

#include "core/log/record_writer.hpp"

namespace rag::core {

void
JsonLine::key(std::string_view name)
{
  if (!m_body.empty()) {
    m_body.push_back(',');
  }
  m_body.push_back('"');
  m_body += json_escape(name);
  m_body += "\":";
}

JsonLine&
JsonLine::text(std::string_view name, std::string_view value)
{
  key(name);
  m_body.push_back('"');
  m_body += json_escape(value);
  m_body.push_back('"');
  return *this;
}

JsonLine&
JsonLine::number(std::string_view name, std::int64_t value)
{
  key(name);
  m_body += std::to_string(value);
  return *this;
}

JsonLine&
JsonLine::boolean(std::string_view name, bool value)
{
  key(name);
  m_body += value ? "true" : "false";
  return *this;
}

JsonLine&
JsonLine::texts(std::string_view name, const std::vector<std::string>& values)
{
  key(name);
  m_body.push_back('[');
  for (std::size_t i = 0; i < values.size(); ++i) {
    m_body += i == 0 ? "\"" : ",\"";
    m_body += json_escape(values[i]);
    m_body.push_back('"');
  }
  m_body.push_back(']');
  return *this;
}

JsonLine&
JsonLine::pairs(std::string_view name, const Headers& headers)
{
  key(name);
  m_body.push_back('[');
  for (std::size_t i = 0; i < headers.size(); ++i) {
    m_body += i == 0 ? "[\"" : ",[\"";
    m_body += json_escape(headers[i].first);
    m_body += "\",\"";
    m_body += json_escape(headers[i].second);
    m_body += "\"]";
  }
  m_body.push_back(']');
  return *this;
}

std::string
JsonLine::str() const
{
  return "{" + m_body + "}";
}

} // namespace rag::core
