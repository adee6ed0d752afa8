#!/usr/bin/env bash
# Benchmark `rag replay`: events/s to a fast local target, and memory on a big log.
#
#   bash tests/bench/replay_bench.sh [RAG_BINARY]        (default: build/rag, a Release build)
#
# 1. Capture: `rag listen` on port 0 captures BENCH_EVENTS (default 10,000) POSTs of a
#    2048-byte JSON body into a fresh log, sent by a small Python client (http.client, one
#    keep-alive HTTP/1.1 connection), so the events are real captures with a client's headers.
# 2. Target: nginx `return 200`, 1 worker, on a free 127.0.0.1 port.
# 3. Throughput, BENCH_RUNS rounds (default 5), medians reported. Each round runs
#    `ab -n N -c 1 -k` (the baseline: the same number of POSTs of the same body sent straight
#    to nginx by ApacheBench, one keep-alive connection per concurrent request), then
#    `rag replay --last N --to URL --concurrency 1` on a fresh copy of the captured log,
#    then the same two at concurrency 8. Every replay must exit 0 and log N replay
#    deliveries with status 200.
# 4. Memory: a generated log of ~10 MB and one of BENCH_BIG_MB (default 1024) MB, both of
#    valid records (one 2 KB event plus one delivery each; distinct ids, right body_sha256;
#    10 "rare" events spread evenly). On each: `rag replay --last 1000 --to URL`,
#    `rag replay --grep RARE --to URL` (a filter over the whole log that matches 10 events),
#    the same without --to (original targets: deliveries are read too), and the 10 rare
#    events by their ids; peak RSS from GNU time. Aim: peak RSS on the big log within 10 MB
#    of the small log's (memory flat).
#
# Prints markdown tables and a one-line summary; exit 1 when a correctness check fails.
# Installs nginx-light, apache2-utils (ab) and time (GNU time) if missing. Not part of ctest.
# BENCH_KEEP=1 keeps the temp directory.
set -euo pipefail

rag_arg=${1:-build/rag}
events=${BENCH_EVENTS:-10000}
runs=${BENCH_RUNS:-5}
big_mb=${BENCH_BIG_MB:-1024}
small_mb=10
body_bytes=2048
target_path=/webhooks/bench
rare=RARE-7Q2X
memory_last=1000
flat_slack_kb=$((10 * 1024))

bench_name=replay_bench
# shellcheck source=tests/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_rag_binary "$rag_arg"
bench_need_tools nginx ab time
bench_scratch

bench_body "$tmp/body.json" "$body_bytes"
bench_machine
bench_versions nginx ab rag

# --- target -------------------------------------------------------------------------------------
port=$(free_port)
bench_nginx_return200 target "$target_path" "$port"
target_pid=$started_pid
target_worker=$(bench_nginx_worker "$target_pid")
target="http://127.0.0.1:$port"

# --- 1. capture N events with rag listen ------------------------------------------------------
capture="$tmp/capture.jsonl"
bench_rag_listen capture "$capture"
listen_pid=$started_pid
note "capturing $events events on $started_base"
python3 - "$started_base$target_path" "$tmp/body.json" "$events" <<'PY'
import http.client, sys, urllib.parse
url, body_path, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
body = open(body_path, "rb").read()
parts = urllib.parse.urlsplit(url)
conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
for _ in range(count):
    conn.request("POST", parts.path, body=body, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    response.read()
    if response.status != 200:
        sys.exit(f"capture: status {response.status}")
conn.close()
PY
bench_stop "$listen_pid"
((bench_status == 0)) || die "rag listen exited with $bench_status after SIGTERM"
captured=$(grep -c '"kind":"event"' "$capture" || true)
((captured == events)) || die "the capture log holds $captured events, not $events"
note "captured $captured events ($(du -k "$capture" | cut -f1) kB)"

# --- 2./3. throughput: ab and rag replay, interleaved -------------------------------------------
# Failed checks are written to a file: the measuring functions run in command substitutions.
failures="$tmp/failures.txt"
: >"$failures"
check_failed() {
  note "CHECK FAILED: $*"
  echo "$*" >>"$failures"
}

# Runs ab with concurrency $1 against the target; prints requests/s. A failed or
# non-2xx request fails the check.
run_ab() {
  local c=$1 out="$tmp/ab-c$1.txt" failed non2xx
  ab -q -n "$events" -c "$c" -k -p "$tmp/body.json" -T application/json \
    "$target$target_path" >"$out" 2>&1 || {
    cat "$out" >&2
    die "ab failed"
  }
  failed=$(awk '/^Failed requests:/ { print $3 }' "$out")
  non2xx=$(awk '/^Non-2xx responses:/ { print $3 }' "$out")
  if [[ "$failed" != 0 || -n "$non2xx" ]]; then
    check_failed "ab -c$c: $failed failed, ${non2xx:-0} non-2xx"
  fi
  awk '/^Requests per second:/ { print $4 }' "$out"
}

# Replays the captured events at concurrency $1 from a fresh copy of the capture log;
# prints "EVENTS_PER_S CPU_US_PER_EVENT PEAK_RSS_KB", checks exit status and deliveries.
run_replay() {
  local c=$1 log="$tmp/replay.jsonl" t0 t1 rc=0 wall user sys rss delivered
  cp "$capture" "$log"
  t0=$(date +%s%N)
  /usr/bin/time -f '%e %U %S %M' -o "$tmp/time.txt" \
    "$rag_bin" replay --last "$events" --to "$target" --concurrency "$c" --log "$log" \
    >"$tmp/replay-c$c.out" 2>"$tmp/replay-c$c.err" || rc=$?
  t1=$(date +%s%N)
  read -r wall user sys rss <"$tmp/time.txt"
  delivered=$(grep '"kind":"delivery"' "$log" | grep '"replay":true' | grep -c '"status":200,' ||
    true)
  if ((rc != 0 || delivered != events)); then
    tail -3 "$tmp/replay-c$c.err" >&2
    check_failed "replay -c$c: exit $rc, $delivered replay deliveries with status 200 \
(want $events)"
  fi
  py "f'{$events / (($t1 - $t0) / 1e9):.0f} {($user + $sys) * 1e6 / $events:.1f} $rss'"
}

ab1=() ab8=() rag1=() rag8=() cpu1=() cpu8=() rss1=() rss8=()
target_cpu0=$(cpu_ticks "$target_worker")
for ((round = 1; round <= runs; round++)); do
  ab1+=("$(run_ab 1)")
  read -r rate cpu rss <<<"$(run_replay 1)"
  rag1+=("$rate") cpu1+=("$cpu") rss1+=("$rss")
  ab8+=("$(run_ab 8)")
  read -r rate cpu rss <<<"$(run_replay 8)"
  rag8+=("$rate") cpu8+=("$cpu") rss8+=("$rss")
  note "round $round/$runs: ab -c1 ${ab1[-1]}/s, replay -c1 ${rag1[-1]}/s, \
ab -c8 ${ab8[-1]}/s, replay -c8 ${rag8[-1]}/s"
done
target_cpu_us=$(py "f'{($(cpu_ticks "$target_worker") - $target_cpu0) * 1e6 / $clk_tck \
/ ($runs * 4 * $events):.1f}'")
load_mid=$(cut -d' ' -f1 /proc/loadavg)

m_ab1=$(py "f'{$(median "${ab1[@]}"):.0f}'") m_ab8=$(py "f'{$(median "${ab8[@]}"):.0f}'")
m_rag1=$(py "f'{$(median "${rag1[@]}"):.0f}'") m_rag8=$(py "f'{$(median "${rag8[@]}"):.0f}'")
m_cpu1=$(py "f'{$(median "${cpu1[@]}"):.1f}'") m_cpu8=$(py "f'{$(median "${cpu8[@]}"):.1f}'")
m_rss1=$(py "f'{$(median "${rss1[@]}"):.0f}'") m_rss8=$(py "f'{$(median "${rss8[@]}"):.0f}'")
ratio1=$(py "f'{$m_rag1 / $m_ab1:.2f}'")
ratio8=$(py "f'{$m_rag8 / $m_ab8:.2f}'")

# --- 4. memory on a small and a big generated log ----------------------------------------------
# Writes a log of about $2 MB to $1: per event one event record (the 2 KB body, the headers
# the capture client sent) and one delivery to the target; 10 events carry $rare in their
# body. Prints the ids of those 10, one per line.
generate_log() {
  python3 - "$1" "$2" "$tmp/body.json" "$rare" "$target$target_path" <<'PY'
import hashlib, json, sys, time
path, megabytes, body_path, rare, url = sys.argv[1:6]
megabytes = int(megabytes)
body = open(body_path).read()
rare_body = body.replace('"order":"A-1001"', '"order":"' + rare + '"', 1)
assert rare_body != body
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
def b32(n, width):
    return "".join(CROCKFORD[(n >> (5 * (width - 1 - i))) & 31] for i in range(width))
def text(s):
    return json.dumps(s, ensure_ascii=False)
headers = text([["Host", "127.0.0.1:7777"], ["Accept-Encoding", "identity"],
                ["Content-Length", str(len(body))], ["Content-Type", "application/json"]])
def event_tail(b):
    raw = b.encode()
    return (f',"source":"listen:127.0.0.1:7777","remote":"127.0.0.1:50000","method":"POST",'
            f'"target":"/webhooks/bench","http_version":"HTTP/1.1","headers":{headers},'
            f'"body":{text(b)},"body_size":{len(raw)},'
            f'"body_sha256":"{hashlib.sha256(raw).hexdigest()}"}}\n')
tails = {False: event_tail(body), True: event_tail(rare_body)}
per_event = len(tails[False]) + 400  # event head and delivery, roughly
total = max(20, megabytes * 1024 * 1024 // per_event)
every = total // 10
start_us = (int(time.time()) - 86400) * 1_000_000
rare_ids = []
with open(path, "w") as out:
    chunk = []
    for i in range(total):
        t = start_us + i * 1000
        stamp = (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t // 1_000_000))
                 + f".{t % 1_000_000:06d}Z")
        eid = "evt_" + b32(t, 11) + b32(i * 2654435761 % (1 << 75), 15)
        did = "dlv_" + b32(t + 300, 11) + b32(i, 15)
        is_rare = i % every == every // 2 and len(rare_ids) < 10
        if is_rare:
            rare_ids.append(eid)
        chunk.append(f'{{"v":1,"kind":"event","id":"{eid}","time":"{stamp}"{tails[is_rare]}')
        chunk.append(f'{{"v":1,"kind":"delivery","id":"{did}","event_id":"{eid}","time":"{stamp}",'
                     f'"target":"{url}","attempt":1,"replay":false,"status":200,'
                     f'"duration_ms":0.321,"response":{{"headers":[["Server","nginx"]],'
                     f'"body":"","body_size":0,"truncated":false}}}}\n')
        if len(chunk) >= 2000:
            out.write("".join(chunk))
            chunk = []
    out.write("".join(chunk))
print("\n".join(rare_ids))
PY
}

# Runs `rag replay $2...` on log $1 with GNU time; prints "PEAK_RSS_KB SECONDS". The
# replay must exit 0 and replay exactly the number of events $expect says.
expect=0
measure() {
  local log=$1 rc=0 wall rss
  shift
  /usr/bin/time -f '%M %e' -o "$tmp/mem-time.txt" "$rag_bin" replay "$@" --log "$log" \
    >"$tmp/mem.out" 2>"$tmp/mem.err" || rc=$?
  if ((rc != 0)) || ! grep -q "replayed $expect events: $expect deliveries, $expect ok" \
    "$tmp/mem.err"; then
    tail -3 "$tmp/mem.err" >&2
    check_failed "replay $* on $(basename "$log"): exit $rc, want $expect events replayed"
  fi
  read -r rss wall <"$tmp/mem-time.txt"
  echo "$rss $wall"
}

mem_rows=()
declare -A peak
for size in small big; do
  log="$tmp/$size.jsonl"
  mb_wanted=$small_mb
  [[ $size == big ]] && mb_wanted=$big_mb
  note "generating a ~$mb_wanted MB log ($size)"
  mapfile -t rare_ids < <(generate_log "$log" "$mb_wanted")
  ((${#rare_ids[@]} == 10)) || die "the generator marked ${#rare_ids[@]} rare events, not 10"
  if [[ $size == small ]]; then
    # The generator's records must be what rag writes: no line skipped as corrupt.
    "$rag_bin" log verify --log "$log" >"$tmp/verify.out" 2>&1 ||
      die "rag log verify rejects the generated log: $(tail -3 "$tmp/verify.out")"
  fi
  log_mb=$(py "f'{$(stat -c %s "$log") / 1048576:.0f}'")
  log_events=$(grep -c '"kind":"event"' "$log" || true)
  note "$size log: $log_mb MB, $log_events events"
  expect=$memory_last
  read -r rss wall <<<"$(measure "$log" --last "$memory_last" --to "$target")"
  peak[$size-last]=$rss
  mem_rows+=("| $size ($log_mb MB, $log_events events) | \`--last $memory_last --to URL\` \
| $(mb "$rss") | $wall s |")
  expect=10
  read -r rss wall <<<"$(measure "$log" --grep "$rare" --to "$target")"
  peak[$size-grep]=$rss
  mem_rows+=("| | \`--grep $rare --to URL\` (10 match) | $(mb "$rss") | $wall s |")
  read -r rss wall <<<"$(measure "$log" --grep "$rare")"
  peak[$size-orig]=$rss
  mem_rows+=("| | \`--grep $rare\` (original targets) | $(mb "$rss") | $wall s |")
  read -r rss wall <<<"$(measure "$log" "${rare_ids[@]}" --to "$target")"
  peak[$size-ids]=$rss
  mem_rows+=("| | 10 IDs \`--to URL\` | $(mb "$rss") | $wall s |")
  [[ -n "${BENCH_KEEP:-}" ]] || rm -f "$log"
done

flat=1
growth=()
max_delta=0
for kind in last grep orig ids; do
  big=${peak[big-$kind]}
  small=${peak[small-$kind]}
  delta=$((big - small))
  growth+=("$(mb "$delta")")
  ((delta <= max_delta)) || max_delta=$delta
  ((delta <= flat_slack_kb)) || flat=0
done
load_after=$(cut -d' ' -f1 /proc/loadavg)

# --- report -------------------------------------------------------------------------------------
aim8=$(aim "$m_rag8 >= 5000")
flat_word=$( ((flat == 1)) && echo met || echo MISSED)
cat <<REPORT

Command: bash tests/bench/replay_bench.sh $rag_arg
Events: $events captured by rag listen (POST, ${body_bytes}-byte JSON body, HTTP/1.1 keep-alive
client); target: nginx \`return 200\`, 1 worker, 127.0.0.1; rag stdout to a file (no TTY)
Machine: $(nproc) CPUs, ${cpu_model:-unknown CPU}; $(date -u "+%Y-%m-%d %H:%M") UTC; \
load average $load_before before, $load_mid after the throughput rounds, $load_after at the end
Log: temp dir on $(df -PT "$tmp" | awk 'NR == 2 { print $2 }') (the page cache holds it)

Throughput, median of $runs rounds (each: ab -c1, replay -c1, ab -c8, replay -c8):

| sender | concurrency | events/s | × ab | rag CPU / event | rag peak RSS |
|---|---:|---:|---:|---:|---:|
| ab -n $events -k (baseline, straight to nginx) | 1 | $m_ab1 | 1.00× | | |
| rag replay --last $events --to URL | 1 | $m_rag1 | ${ratio1}× | $m_cpu1 µs | \
$(mb "$m_rss1") MB |
| ab -n $events -k (baseline, straight to nginx) | 8 | $m_ab8 | 1.00× | | |
| rag replay --last $events --to URL | 8 | $m_rag8 | ${ratio8}× | $m_cpu8 µs | \
$(mb "$m_rss8") MB |

All rounds (events/s): ab -c1 ${ab1[*]}; replay -c1 ${rag1[*]}; ab -c8 ${ab8[*]}; \
replay -c8 ${rag8[*]}
rag events/s include reading the selection from the log and writing $events delivery records;
target CPU per request (nginx worker, all senders): $target_cpu_us µs

Memory, peak RSS (GNU time, maximum resident set size):

| log | selection | peak RSS (MB) | time |
|---|---|---:|---:|
$(printf '%s\n' "${mem_rows[@]}")

Peak RSS growth from the small to the big log (last, grep, original targets, ids): \
${growth[*]} MB

| aim | measured | |
|---|---:|---|
| ≥ 5,000 events/s at concurrency 8 | $m_rag8 events/s | $aim8 |
| memory flat: big-log peak RSS within $(mb "$flat_slack_kb") MB of the small log's | \
max growth $(mb "$max_delta") MB | $flat_word |

Summary: rag replay sends $m_rag1 events/s at concurrency 1 (${ratio1}× ab) and $m_rag8 \
events/s at concurrency 8 (${ratio8}× ab), aim $aim8; peak RSS $(mb "${peak[small-grep]}") MB \
on a ${small_mb} MB log vs $(mb "${peak[big-grep]}") MB on a ${big_mb} MB log (--grep), \
memory flat: $flat_word
REPORT

if [[ -s "$failures" ]]; then
  echo "Checks FAILED:"
  sed 's/^/  /' "$failures"
  exit 1
fi
echo "Checks: every replay exited 0 and delivered every selected event with status 200"
