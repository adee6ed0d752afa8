#include "cli/secret_arg.hpp"

#include "core/signature.hpp"

#include <fmt/core.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

namespace rag::cli {

Result<std::string>
resolve_secret_arg(std::string_view text)
{
  if (text.substr(0, 4) == "env:") {
    const std::string name(text.substr(4));
    if (name.empty()) {
      return usage_error("empty variable name in secret 'env:'", "write env:NAME");
    }
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) {
      return usage_error(fmt::format("environment variable {} is not set", name),
                         fmt::format("export {}=... with the webhook secret", name));
    }
    if (*value == '\0') {
      return usage_error(fmt::format("environment variable {} is empty", name),
                         fmt::format("export {}=... with the webhook secret", name));
    }
    return std::string(value);
  }
  if (text.substr(0, 5) == "file:") {
    const std::string path(text.substr(5));
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      return error(fmt::format("cannot read the secret file '{}'", path),
                   "check the path and its permissions");
    }
    std::string secret((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) {
      return error(fmt::format("cannot read the secret file '{}'", path),
                   "check the path and its permissions");
    }
    // Editors and `echo` end files with a newline that is not part of the secret.
    if (!secret.empty() && secret.back() == '\n') {
      secret.pop_back();
      if (!secret.empty() && secret.back() == '\r') {
        secret.pop_back();
      }
    }
    if (secret.empty()) {
      return usage_error(fmt::format("the secret file '{}' is empty", path),
                         "write the webhook secret into it");
    }
    return secret;
  }
  return core::literal_secret(text);
}

} // namespace rag::cli
