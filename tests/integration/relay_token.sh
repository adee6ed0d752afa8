#!/usr/bin/env bash
# --token protects subscribing, the channel page and replies (401 with a JSON error
# without it or with a wrong one; accepted as a Bearer header or ?token=), while
# publishing stays open. RAG_RELAY_TOKEN sets it too.
source "$(dirname "$0")/lib.sh"
need curl python3

start_relay R --token s3cret-token
url="$R_URL/locked"

refused() { # WHAT [CURL_ARGS...]: subscribing is answered 401 with a JSON error
  local what=$1
  shift
  local answer
  answer=$(curl -s -w '\n%{http_code} %{content_type}' -H 'Accept: text/event-stream' "$@" "$url")
  expect_contains "$answer" "401 application/json" "subscribe with $what"
  expect_contains "$answer" '"error":' "401 body is a JSON error ($what)"
}
refused "no token"
refused "a wrong Bearer token" -H 'Authorization: Bearer wrong'
refused "Basic auth" -H 'Authorization: Basic czNjcmV0LXRva2Vu'
answer=$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept: text/event-stream' "$url?token=nope")
expect_eq "$answer" 401 "subscribe with a wrong ?token="
answer=$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept: text/html' "$url")
expect_eq "$answer" 401 "the channel page needs the token"
answer=$(curl -s -o /dev/null -w '%{http_code}' --data '{"status":200}' \
  "$R_URL/_rag/reply/locked/evt_01KAF2J9ZC4M7T2S5XG1V9ARQD")
expect_eq "$answer" 401 "a reply needs the token"

subscribe_sse BEARER "$url" -H 'Authorization: Bearer s3cret-token'
subscribe_sse QUERY "$url?token=s3cret-token"

answer=$(curl -s -o /dev/null -w '%{http_code}' --data 'open' "$url")
expect_eq "$answer" 202 "publishing needs no token"
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
wait_for 10 '[ "$(sse_message_count "$T/BEARER.sse")" -eq 1 ] &&
  [ "$(sse_message_count "$T/QUERY.sse")" -eq 1 ]' || fail "subscribers with the token got nothing"
answer=$(curl -s -H 'Accept: text/html' -H 'Authorization: Bearer s3cret-token' "$url")
expect_contains "$answer" "<code>$url</code>" "the page with the token"
expect_not_contains "$(cat "$T/R.err" "$T/R.out")" "s3cret-token" "the token is never printed"
stop_relay R

# From the environment.
RAG_RELAY_TOKEN=env-token start_relay E
answer=$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept: text/html' "$E_URL/c")
expect_eq "$answer" 401 "RAG_RELAY_TOKEN protects too"
answer=$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept: text/html' "$E_URL/c?token=env-token")
expect_eq "$answer" 200 "RAG_RELAY_TOKEN via ?token="
stop_relay E
