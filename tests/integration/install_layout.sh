#!/usr/bin/env bash
# `cmake --install` of the build under test puts the binary, the man page, the bash, zsh
# and fish completions and the documentation in the standard places below a prefix, the
# installed binary runs, and bash and fish load the completions from where they were put;
# under the prefix /usr the zsh completion goes to Debian's vendor-completions.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
need cmake cmp

build=$(cd "$(dirname "$RAG")" && pwd)
[ -f "$build/cmake_install.cmake" ] || fail "$build is not a CMake build dir (no cmake_install.cmake)"

prefix="$T/prefix"
cmake --install "$build" --prefix "$prefix" >"$T/install.out" 2>"$T/install.err" ||
  fail "cmake --install failed: $(cat "$T/install.err")"

# Installed path, then the file it must be a copy of.
expected=(
  bin/rag "$RAG"
  share/man/man1/rag.1 "$SRC/docs/rag.1"
  share/bash-completion/completions/rag "$SRC/completions/rag.bash"
  share/zsh/site-functions/_rag "$SRC/completions/_rag"
  share/fish/vendor_completions.d/rag.fish "$SRC/completions/rag.fish"
  share/doc/rag/README.md "$SRC/README.md"
  share/doc/rag/LICENSE "$SRC/LICENSE"
  share/doc/rag/docs/event-log.md "$SRC/docs/event-log.md"
  share/doc/rag/docs/config.md "$SRC/docs/config.md"
  share/doc/rag/docs/signatures.md "$SRC/docs/signatures.md"
)
for ((i = 0; i < ${#expected[@]}; i += 2)); do
  installed="$prefix/${expected[i]}"
  [ -f "$installed" ] || fail "cmake --install did not create ${expected[i]}"
  if [ "${expected[i]}" != bin/rag ]; then
    cmp -s "$installed" "${expected[i + 1]}" || fail "${expected[i]} differs from ${expected[i + 1]}"
  fi
done
[ -x "$prefix/bin/rag" ] || fail "bin/rag is not executable"

# The installed binary runs by itself.
version=$("$prefix/bin/rag" --version) || fail "installed rag --version failed"
expect_eq "$version" "$("$RAG" --version)" "installed rag --version"

# man finds the page under the prefix the way it finds any page on MANPATH.
if command -v man >/dev/null 2>&1; then
  found=$(MANPATH="$prefix/share/man" man -w rag 2>&1) || fail "man -w rag: $found"
  expect_eq "$found" "$prefix/share/man/man1/rag.1" "man -w rag with MANPATH=prefix/share/man"
fi

# complete_bash WORD...: what bash offers for the command line WORD... (the last word is
# the one being completed). With bash-completion, the script is found by its on-demand
# loader in $XDG_DATA_DIRS/bash-completion/completions, as on a real system; without it,
# the installed file is sourced directly.
complete_bash() {
  HOME="$T" XDG_DATA_HOME="$T/data" XDG_DATA_DIRS="$prefix/share" \
    BASH_COMPLETION_USER_DIR="$T/no-user-completions" PATH="$prefix/bin:$PATH" bash -c '
    if [ -f /usr/share/bash-completion/bash_completion ]; then
      source /usr/share/bash-completion/bash_completion
      __load_completion rag || { echo "bash-completion found no completion for rag" >&2; exit 1; }
    else
      source "$1"
    fi
    spec=$(complete -p rag) || exit 1
    function=${spec#*-F }
    function=${function%% *}
    shift
    COMP_WORDS=("$@")
    COMP_CWORD=$(($# - 1))
    COMP_LINE="$*"
    COMP_POINT=${#COMP_LINE}
    "$function" rag "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
    printf "%s\n" "${COMPREPLY[@]}"
  ' bash "$prefix/share/bash-completion/completions/rag" "$@"
}
need bash
expect_eq "$(complete_bash rag li)" listen "bash: rag li<TAB> from the installed completion"
expect_eq "$(complete_bash rag log prune --ol)" --older-than "bash: rag log prune --ol<TAB>"

# fish reads vendor_completions.d of every $XDG_DATA_DIRS entry.
need fish
fish_says=$(HOME="$T" XDG_CONFIG_HOME="$T/config" XDG_DATA_HOME="$T/data" \
  XDG_DATA_DIRS="$prefix/share" PATH="$prefix/bin:$PATH" fish -c 'complete -C "rag li"' | cut -f1)
expect_eq "$fish_says" listen "fish: rag li<TAB> from the installed completion"

# zsh autoloads a function file named after its first line's #compdef.
expect_eq "$(head -n 1 "$prefix/share/zsh/site-functions/_rag")" "#compdef rag" \
  "first line of share/zsh/site-functions/_rag"

# Under the prefix /usr (a distribution's package), _rag goes where Debian's zsh looks
# for packaged completions instead; DESTDIR stages it like a packager's install.
DESTDIR="$T/stage" cmake --install "$build" --prefix /usr >"$T/stage.out" 2>"$T/stage.err" ||
  fail "DESTDIR=... cmake --install --prefix /usr failed: $(cat "$T/stage.err")"
cmp -s "$T/stage/usr/share/zsh/vendor-completions/_rag" "$SRC/completions/_rag" ||
  fail "with the prefix /usr, _rag is not in share/zsh/vendor-completions"
[ ! -e "$T/stage/usr/share/zsh/site-functions/_rag" ] ||
  fail "with the prefix /usr, _rag is also in share/zsh/site-functions"
[ -f "$T/stage/usr/share/bash-completion/completions/rag" ] ||
  fail "with the prefix /usr, the bash completion is missing"

echo "ok: installed into $prefix"
