#pragma once

// `rag replay --set-header NAME:VALUE`: replace or add headers on a request that is
// about to be sent. Pure functions.

#include "core/record.hpp"
#include "util/result.hpp"

#include <string_view>

namespace rag::core {

// Parse "NAME:VALUE" (spaces and tabs around VALUE ignored; VALUE may be empty). A
// NAME that is not an HTTP token, a VALUE holding CR, LF or NUL, and the headers
// rag must set itself to frame the body (Content-Length and the hop-by-hop ones,
// Transfer-Encoding included) are a usage Error.
Result<Header> parse_header_override(std::string_view spec);

// Return `headers` with `overrides` applied. The overrides that share a name (ASCII
// case ignored) form one group: every header of that name is removed and the group
// is put, in the order given, where the first of them was, or appended when there
// was none. The other headers keep their order, case and duplicates.
Headers apply_header_overrides(const Headers& headers, const Headers& overrides);

} // namespace rag::core
