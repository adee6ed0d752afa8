#pragma once

// Secrets as the command line and the --config file write them. Reading the environment
// or a file is argument interpretation, so it happens here, once, for every flag that
// takes a secret (--verify, --resign, inspect --verify, trigger --secret, config "verify"):
// core only ever receives the secret's bytes.

#include "util/result.hpp"

#include <string>
#include <string_view>

namespace rag::cli {

// Resolve a secret as written: "env:NAME" reads the environment variable (unset or empty
// is a usage Error), "file:PATH" reads the file with one trailing newline removed
// (unreadable is an Error naming the path, empty a usage Error), anything else is the
// secret itself (empty is a usage Error). A core::SecretResolver.
Result<std::string> resolve_secret_arg(std::string_view text);

} // namespace rag::cli
