#pragma once

#include <doctest/doctest.h>

#include <filesystem>
#include <stdlib.h>
#include <string>
#include <string_view>
#include <system_error>

namespace rag::test {

// A fresh directory under /tmp, removed with everything in it at scope exit.
class TempDir
{
public:
  TempDir()
  {
    char tmpl[] = "/tmp/rag-unit-XXXXXX";
    const char* made = ::mkdtemp(tmpl);
    REQUIRE(made != nullptr);
    m_path = made;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir()
  {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  // Return the path of `name` inside the directory.
  std::string file(std::string_view name) const { return m_path + "/" + std::string(name); }
  const std::string& path() const { return m_path; }

private:
  std::string m_path;
};

} // namespace rag::test
