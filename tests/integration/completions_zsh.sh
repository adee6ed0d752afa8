#!/usr/bin/env bash
# The zsh completion script loads under compinit in a clean zsh, defines _rag and one
# function per command, and names every command and nested command.
source "$(dirname "$0")/lib.sh"
need zsh

file="$SRC/completions/_rag"
out=$(cd "$T" && zsh -fc "autoload -U compinit; compinit -u -d $T/zcompdump; source '$file';
  whence -w _rag _rag_listen _rag_log _rag_log_prune _rag_completions" 2>&1) ||
  fail "zsh could not load _rag: $out"
expect_contains "$out" "_rag: function" "whence -w _rag"
expect_contains "$out" "_rag_log_prune: function" "whence -w _rag_log_prune"
[ "$(zsh -fc 'autoload -U compinit; compinit -u -d '"$T"'/zcompdump; source '"'$file'"';
  print -r -- ${_comps[rag]}')" == _rag ] || fail "compdef did not register _rag for rag"
zsh -n "$file" || fail "_rag has a syntax error"

for cmd in listen inspect replay export import trigger log completions; do
  grep -q "^      '$cmd:" "$file" || fail "command $cmd is not in _rag"
  grep -q "^    $cmd) _rag_$cmd ;;" "$file" || fail "command $cmd is not dispatched in _rag"
done
for cmd in path stats verify prune; do
  grep -q "^      '$cmd:" "$file" || fail "log command $cmd is not in _rag"
done
grep -q -- "--forward-to}'\[" "$file" || fail "--forward-to is not in _rag"
grep -q "github= " "$file" || fail "provider names are not in _rag"
