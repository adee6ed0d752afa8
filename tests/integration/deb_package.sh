#!/usr/bin/env bash
# `cpack -G DEB` in the build under test makes rag_VERSION_ARCH.deb whose control fields
# are right (Depends found by dpkg-shlibdeps: a package for every library the binary
# links), which holds the binary, man page, completions and docs under /usr, and whose
# binary runs once extracted.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
for tool in dpkg dpkg-deb; do
  command -v "$tool" >/dev/null 2>&1 || skip "$tool is missing: .deb packages need a Debian system"
done
command -v dpkg-shlibdeps >/dev/null 2>&1 || skip "dpkg-shlibdeps is missing (apt-get install dpkg-dev)"
need cpack readelf ldd file

build=$(cd "$(dirname "$RAG")" && pwd)
[ -f "$build/CPackConfig.cmake" ] || fail "$build has no CPackConfig.cmake"

# -B keeps the package and CPack's staging tree out of the build dir.
(cd "$build" && cpack -G DEB -B "$T/pkg") >"$T/cpack.out" 2>"$T/cpack.err" ||
  fail "cpack -G DEB failed: $(tail -n 20 "$T/cpack.out")"

version=$("$RAG" --version)
version=${version#rag }
arch=$(dpkg --print-architecture)
deb="$T/pkg/rag_${version}_${arch}.deb"
[ -f "$deb" ] || fail "no rag_${version}_${arch}.deb; cpack made: $(ls "$T/pkg")"

field() { dpkg-deb --field "$deb" "$1"; }
expect_eq "$(field Package)" rag "Package"
expect_eq "$(field Version)" "$version" "Version"
expect_eq "$(field Architecture)" "$arch" "Architecture"
[ -n "$(field Section)" ] || fail "no Section field"
[[ "$(field Maintainer)" == *"<"*"@"*">"* ]] || fail "Maintainer is not 'Name <email>': $(field Maintainer)"
description=$(field Description)
expect_contains "$description" "webhook" "Description"
expect_not_contains "$description" "DESCRIPTION" "Description (CMake's placeholder)"
[ "$(printf '%s\n' "$description" | wc -l)" -ge 2 ] || fail "Description has no extended text"

# Depends names the package of every library the binary needs directly.
depends=$(field Depends)
for needed in libssl3 libfmt9 "libcpp-httplib"; do
  expect_contains "$depends" "$needed" "Depends"
done
owner_of() { # PATH: the Debian package that ships PATH (merged /usr: try both spellings)
  local path candidates=("$1" "/usr$1" "${1#/usr}")
  candidates+=("$(readlink -f "$1")")
  for path in "${candidates[@]}"; do
    dpkg -S "$path" 2>/dev/null | grep -v '^diversion' | head -n 1 | cut -d: -f1 && return 0
  done
  return 1
}
mapfile -t sonames < <(readelf -d "$RAG" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
((${#sonames[@]} >= 4)) || fail "readelf found only ${#sonames[@]} libraries in $RAG"
for soname in "${sonames[@]}"; do
  path=$(ldd "$RAG" | awk -v so="$soname" '$1 == so { print $3 }')
  [ -n "$path" ] || fail "ldd does not resolve $soname"
  package=$(owner_of "$path") || fail "no Debian package ships $path"
  [ -n "$package" ] || fail "no Debian package ships $path"
  [[ ", $depends" == *", $package "* || ", $depends," == *", $package,"* ]] ||
    fail "Depends lacks $package (for $soname): $depends"
done

dpkg-deb --contents "$deb" | awk '{ print $NF }' >"$T/contents"
for path in ./usr/bin/rag ./usr/share/man/man1/rag.1 ./usr/share/bash-completion/completions/rag \
  ./usr/share/zsh/vendor-completions/_rag ./usr/share/fish/vendor_completions.d/rag.fish \
  ./usr/share/doc/rag/README.md ./usr/share/doc/rag/LICENSE \
  ./usr/share/doc/rag/docs/event-log.md; do
  grep -qxF "$path" "$T/contents" || fail "the package lacks $path"
done
if grep -v '^\./usr/' "$T/contents" | grep -qv '^\./$'; then
  fail "the package has files outside /usr: $(grep -v '^\./usr/' "$T/contents" | head -n 3)"
fi

# Each shell looks where the package puts its completion (Debian's zsh has no
# /usr/share/zsh/site-functions in its fpath; vendor-completions is there).
if command -v zsh >/dev/null 2>&1; then
  zsh -fc 'print -l $fpath' | grep -qxF /usr/share/zsh/vendor-completions ||
    fail "zsh's fpath lacks /usr/share/zsh/vendor-completions, where the package puts _rag"
fi

dpkg-deb -x "$deb" "$T/root"
extracted=$("$T/root/usr/bin/rag" --version) || fail "the packaged rag --version failed"
expect_eq "$extracted" "rag $version" "packaged rag --version"
cmp -s "$T/root/usr/share/man/man1/rag.1" "$SRC/docs/rag.1" || fail "packaged man page differs"

echo "ok: $(basename "$deb"), Depends: $depends"
