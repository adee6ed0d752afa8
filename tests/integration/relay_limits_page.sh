#!/usr/bin/env bash
# --max-body gives 413 and an over-size head 431, with the relay serving on; invalid
# channel names are 404; a browser GET of a channel shows its URL and recent events
# with everything HTML-escaped.
source "$(dirname "$0")/lib.sh"
need curl python3

start_relay R --max-body 1KiB
url="$R_URL/page-chan"

status=$(curl -s -o /dev/null -w '%{http_code}' --data-binary "$(head -c 2048 /dev/zero | tr '\0' a)" "$url")
expect_eq "$status" 413 "a body over --max-body"
status=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $(head -c 70000 /dev/zero | tr '\0' b)" \
  --data 'x' "$url")
expect_eq "$status" 431 "an over-size head"
status=$(curl -s -o /dev/null -w '%{http_code}' --data-binary "$(head -c 1024 /dev/zero | tr '\0' a)" "$url")
expect_eq "$status" 202 "a body of exactly --max-body"
expect_contains "$(cat "$T/R.err")" "with 413" "rejections are logged"

for bad in /_private /a.b "/$(printf 'x%.0s' $(seq 1 65))" /new/x "/%41bc"; do
  status=$(curl -s -o /dev/null -w '%{http_code}' --data 'x' "$R_URL$bad")
  expect_eq "$status" 404 "publish to $bad"
done
status=$(curl -s -o /dev/null -w '%{http_code}' --data 'x' "$R_URL/new")
expect_eq "$status" 405 "POST /new"
expect_contains "$(curl -s "$R_URL/")" 'href="'"$R_URL"'/new"' "the landing page links /new"

# A webhook whose method and target try to inject markup.
{
  printf 'POST /page-chan/x?a=<script>alert(1)</script>&b="q" HTTP/1.1\r\n'
  printf 'Host: relay\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc'
} >"$T/req"
expect_contains "$(raw_http "$R_PORT" "$T/req")" "HTTP/1.1 202" "odd target published"
page=$(curl -s -H 'Accept: text/html,application/xhtml+xml' -D "$T/page.head" "$url")
expect_contains "$(cat "$T/page.head")" "Content-Type: text/html" "page content type"
expect_contains "$page" "<code>$url</code>" "the page shows the channel URL"
expect_contains "$page" "/x?a=&lt;script&gt;alert(1)&lt;/script&gt;&amp;b=&quot;q&quot;" \
  "the target, escaped"
expect_not_contains "$page" "<script>" "no markup from a webhook"
expect_contains "$page" "1.0 KiB" "sizes of recent events"
expect_contains "$page" "<td>POST</td>" "methods of recent events"
stop_relay R
