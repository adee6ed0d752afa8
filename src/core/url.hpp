#pragma once

// URLs and request targets: forwarding targets as given on the command line, exact
// URLs from delivery records, the path and query of a raw request target, and the
// percent-encoding, query-string and form codecs. Pure functions over bytes: nothing
// is resolved or looked up.

#include "util/result.hpp"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rag::core {

// A forwarding destination. `path` empty means "keep the incoming path": a URL
// with no path and a URL whose path is just "/" both mean that ("http://h:3000"
// and "http://h:3000/" forward "/a/b?x" as "/a/b?x"); any other path replaces
// the incoming path.
struct Target
{
  std::string scheme; // "http" or "https"
  std::string host;   // DNS name or IP literal; IPv6 without brackets
  int port = 0;       // always set (80/443 when the URL has none)
  std::string path;   // raw path from the URL, or empty (see above)
  std::string query;  // raw query from the URL without '?', or empty
  std::string url;    // normalised URL for records and display
};

// Parse a target given on the command line: "3000" and ":3000" mean
// http://127.0.0.1:3000 and "3000/hooks" http://127.0.0.1:3000/hooks, "host:port[/path]"
// means http://host:port[/path], and http:// and https:// URLs are taken as they are
// (fragment dropped). A host that is a number but not a full dotted-quad IPv4 address
// ("4000", "127.1", "0x7f000001") is an Error, never a lookup. Anything else (other
// schemes, credentials, bad ports, spaces) is a usage Error too.
Result<Target> parse_target(std::string_view text);

// A URL taken from a delivery record, to be re-sent to exactly: where to connect
// (scheme, host and port, without path or query) and the request target (path and
// query) as the URL spells it.
struct ExactUrl
{
  Target origin;
  std::string request_target;
};

// Split a full http(s) URL into its origin and its raw request target ("/" when the
// URL has no path; a query without a path gets "/" in front). A URL parse_target
// rejects is an Error.
Result<ExactUrl> parse_exact_url(std::string_view url);

// Return true when the last label of `host` is a number (decimal, or hex as "0x7f"):
// the resolver reads such a name as an IPv4 address in one of inet_aton's short forms.
bool host_ends_in_number(std::string_view host);

// Return true when `host` is an IPv4 address in full dotted-quad form ("127.0.0.1";
// no leading zeros, which inet_aton would read as octal).
bool is_dotted_quad(std::string_view host);

// Return the Host header value for `target`: host, bracketed when IPv6, with
// ":port" unless the port is the scheme's default.
std::string host_header_value(const Target& target);

// Return true when `text` has no byte that would end or split a request line (SP,
// control bytes, DEL); obs-text (0x80-0xFF) is allowed, kept as the sender sent it.
bool is_target_safe(std::string_view text);

// The path and the query of a request target, as views into it (nothing decoded).
struct TargetParts
{
  std::string_view path;
  std::string_view query; // without the '?'
  bool has_query = false; // a '?' was there, even with nothing after it
};

// Split `target` at its first '?' into path and query, and nothing else: no fragment
// dropped, no absolute form recognised ("/a?b#c" has the query "b#c").
TargetParts split_path_query(std::string_view target);

// Return `target` up to its first '#': fragments never go on the wire.
std::string_view strip_fragment(std::string_view target);

// Split a raw request target as a forwarder reads it: fragment dropped, an
// absolute-form target ("http://host/p?q") contributing only its path and query
// (none when it has neither), "*" staying "*"; then split_path_query.
TargetParts split_target(std::string_view raw);

// Return the request target (path and query, raw as written) of an absolute URL with
// any scheme; "/" when it has no path, fragment dropped. A URL that starts with '/' is
// taken as a target already; anything else is an Error naming `url`.
Result<std::string> url_request_target(std::string_view url);

// Return the authority of an absolute URL without its user info ("http://u@h:1/p"
// gives "h:1"), or "" when `url` has no "://".
std::string url_authority(std::string_view url);

// A name and value pair of a query string or a form body, decoded.
using Param = std::pair<std::string, std::string>;

// Return `text` with %XX escapes decoded (and '+' as a space when `plus_as_space`);
// a '%' not followed by two hex digits is kept as is.
std::string percent_decode(std::string_view text, bool plus_as_space);

// Return the parameters of the query part of a request target or URL (after '?',
// before '#'), names and values percent-decoded with '+' as a space; empty pieces
// between '&' are skipped.
std::vector<Param> parse_query(std::string_view target);

// Return `params` as an application/x-www-form-urlencoded body ("a=1&b=two+words"):
// unreserved bytes kept, ' ' as '+', every other byte as %XX.
std::string form_urlencode(const std::vector<Param>& params);

} // namespace rag::core
