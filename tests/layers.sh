#!/usr/bin/env bash
# The layer rules of docs/architecture.md, as greps over src/: every include points
# inward (util <- core <- {net, engine} <- commands <- cli <- main.cpp), and the heavy or
# system-facing headers stay in the one layer (or file) that owns them. The link graph
# (one CMake library per layer) already keeps CLI11, cpp-httplib and libssl out of the
# layers that do not link them; this catches what linking cannot: an include of a
# layer above, and sockets, threads or the environment in core.
# Usage: bash tests/layers.sh [SRC_DIR]. Prints each breach as FILE:LINE: text, exits 1.
set -euo pipefail

src=${1:-$(cd "$(dirname "$0")/../src" && pwd)}
cd "$src"
breaches=0

# rule LAYER_GLOB REGEX WHY: no line of a file under LAYER_GLOB may match REGEX.
rule() {
  local files=$1 regex=$2 why=$3 found
  # shellcheck disable=SC2086 # the glob is meant to expand
  found=$(grep -nE -- "$regex" $files 2>/dev/null || true)
  if [ -n "$found" ]; then
    printf '%s\n' "$found" | sed "s|\$|   <- $why|" >&2
    breaches=$((breaches + 1))
  fi
}

# Quoted includes: the folder of each must be the layer itself or one below it.
check_folders() { # LAYER ALLOWED_REGEX
  local layer=$1 allowed=$2 file line
  while IFS= read -r -d '' file; do
    while IFS= read -r line; do
      local target=${line#*\"}
      target=${target%%\"*}
      if ! [[ "$target" =~ ^($allowed)/ ]]; then
        echo "$file: $line   <- $layer may include only $allowed" >&2
        breaches=$((breaches + 1))
      fi
    done < <(grep -E '^#include "' "$file" || true)
  done < <(find "$layer" -name '*.[ch]pp' -print0)
}

check_folders util 'util'
check_folders core 'core|util'
check_folders net 'net|core|util'
check_folders engine 'engine|core|util' # the network only through core's interfaces
check_folders commands 'commands|engine|net|core|util'
check_folders cli 'cli|commands|engine|net|core|util'

# core is the deterministic domain: no sockets, threads, CLI11, httplib or OpenSSL.
rule "core/*.?pp core/*/*.?pp" '^#include <(httplib\.h|CLI/|openssl/|sys/socket\.h|netdb\.h|arpa/|netinet/|poll\.h|thread>|pthread\.h)' \
  "core has no sockets, threads, CLI11, httplib or OpenSSL (util/ and net/ do)"
# The log package reads no environment: its callers in cli/ pass what it depends on.
rule "core/log/*.?pp" 'getenv' "core/log reads no environment (cli/ reads it and passes it in)"
# engine uses the network only through core's interfaces: no socket or TLS header.
rule "engine/*.?pp" '^#include <(httplib\.h|CLI/|openssl/|sys/socket\.h|netdb\.h|arpa/|netinet/)' \
  "engine reaches the network only through core's HttpClient (net/ implements it)"
# OpenSSL is util's (hashes, HMAC, random bytes) and net's (TLS) alone.
rule "core/*.?pp core/*/*.?pp engine/*.?pp commands/*.?pp cli/*.?pp main.cpp" '^#include <openssl/' \
  "only util/ and net/ include OpenSSL"
# Exactly one file includes httplib (contributing.md: its ABI macros and compile cost), and only
# cli/ includes CLI11.
httplib=$(grep -rlE '^#include <httplib\.h>' --include='*.[ch]pp' . | sort | tr '\n' ' ')
if [ "$httplib" != "./net/sse_client.cpp " ]; then
  echo "httplib is included by: ${httplib:-nothing}  <- only net/sse_client.cpp may" >&2
  breaches=$((breaches + 1))
fi
rule "util/*.?pp core/*.?pp core/*/*.?pp net/*.?pp engine/*.?pp commands/*.?pp" '^#include <CLI/' \
  "only cli/ includes CLI11"
# main.cpp is one call into cli.
rule "main.cpp" '^#include "(commands|engine|net|core|util)/' "main.cpp includes only cli/"

if ((breaches > 0)); then
  echo "layers: $breaches rule(s) broken (see docs/architecture.md, Layers)" >&2
  exit 1
fi
echo "layers: every include points inward"
