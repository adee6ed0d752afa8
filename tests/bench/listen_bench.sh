#!/usr/bin/env bash
# Benchmark capture-only `rag listen` against nginx `return 200`, in one run, on loopback.
#
#   bash tests/bench/listen_bench.sh [RAG_BINARY]        (default: build/rag, a Release build)
#
# Both servers get the same load: wrk -t2 -c32 for BENCH_DURATION (default 10s) POSTing a
# 2048-byte JSON body. Prints req/s, p50/p99 latency, rag's RSS (idle, peak, after load),
# checks that rag's log holds one line per request wrk saw answered, and prints a markdown
# table with the rag/nginx ratio. Not part of ctest. Installs wrk and nginx-light if missing.
set -euo pipefail

rag_arg=${1:-build/rag}
rag_bin=$rag_arg
duration=${BENCH_DURATION:-10s}
threads=2
connections=32
body_bytes=2048
target_path=/webhooks/bench

die() {
  echo "listen_bench: error: $*" >&2
  exit 1
}
note() { echo "listen_bench: $*" >&2; }

[[ -x "$rag_bin" ]] || die "no rag binary at $rag_bin (build one: cmake -S . -B build -G Ninja \
-DCMAKE_BUILD_TYPE=Release && ninja -C build)"
rag_bin=$(cd "$(dirname "$rag_bin")" && pwd)/$(basename "$rag_bin")
command -v python3 >/dev/null || die "python3 is needed (bash .ci/deps installs it)"

# --- benchmark-only tools ----------------------------------------------------------------------
nginx_bin=$(command -v nginx || true)
[[ -z "$nginx_bin" && -x /usr/sbin/nginx ]] && nginx_bin=/usr/sbin/nginx
missing=()
command -v wrk >/dev/null || missing+=(wrk)
[[ -n "$nginx_bin" ]] || missing+=(nginx-light)
if ((${#missing[@]} > 0)); then
  note "installing ${missing[*]}"
  sudo_cmd=()
  ((EUID == 0)) || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}"
  nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
fi

# --- scratch space and cleanup -----------------------------------------------------------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rag-bench.XXXXXX")
nginx_pid=
rag_pid=
cleanup() {
  local pid
  for pid in "$rag_pid" "$nginx_pid"; do
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  if [[ -n "${BENCH_KEEP:-}" ]]; then
    note "kept $tmp"
  else
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
}

# Wait up to $2 seconds for command $1... to succeed.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

# --- request body and wrk script -----------------------------------------------------------------
python3 - "$tmp/body.json" "$body_bytes" <<'PY'
import json, sys
path, size = sys.argv[1], int(sys.argv[2])
event = {"id": "evt_bench", "type": "payment_intent.succeeded", "created": 1764140000,
         "livemode": False, "data": {"object": {"id": "pi_3Bench", "amount": 2000,
         "currency": "usd", "status": "succeeded", "metadata": {"order": "A-1001"},
         "description": ""}}}
pad = size - len(json.dumps(event, separators=(",", ":")))
event["data"]["object"]["description"] = "x" * pad
text = json.dumps(event, separators=(",", ":"))
assert len(text) == size, len(text)
open(path, "w").write(text)
PY

# done() prints one machine-readable line; --latency still prints wrk's own distribution.
cat >"$tmp/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = assert(io.open([[$tmp/body.json]], "rb"))
wrk.body = f:read("*a")
f:close()

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d non2xx=%d socket_errors=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
LUA

# Runs wrk against URL $2, saving its output as $tmp/wrk-$1.txt; sets the r_* variables.
run_wrk() {
  local name=$1 url=$2 out="$tmp/wrk-$1.txt" line
  note "wrk -t$threads -c$connections -d$duration --latency -s post.lua $url ($name)"
  wrk -t"$threads" -c"$connections" -d"$duration" --timeout 5s --latency \
    -s "$tmp/post.lua" "$url" >"$out" 2>&1 || {
    cat "$out" >&2
    die "wrk failed against $name"
  }
  sed 's/^/    /' "$out" >&2
  line=$(grep '^RESULT ' "$out") || die "no RESULT line from wrk ($name)"
  r_requests=$(sed -n 's/.* requests=\([0-9]*\).*/\1/p' <<<"$line")
  r_duration_us=$(sed -n 's/.* duration_us=\([0-9]*\).*/\1/p' <<<"$line")
  r_non2xx=$(sed -n 's/.* non2xx=\([0-9]*\).*/\1/p' <<<"$line")
  r_errors=$(sed -n 's/.* socket_errors=\([0-9]*\).*/\1/p' <<<"$line")
  r_p50_us=$(sed -n 's/.* p50_us=\([0-9]*\).*/\1/p' <<<"$line")
  r_p99_us=$(sed -n 's/.* p99_us=\([0-9]*\).*/\1/p' <<<"$line")
  r_rps=$(python3 -c "print(f'{$r_requests / ($r_duration_us / 1e6):.0f}')")
}

# Prints a /proc/PID/status field (VmRSS, VmHWM) in kB.
proc_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
mb() { python3 -c "print(f'{$1 / 1024:.1f}')"; }
ms() { python3 -c "print(f'{$1 / 1000:.2f}')"; }

# --- machine ------------------------------------------------------------------------------------
cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
# Other work on the machine skews both servers' numbers: the report shows the load around the run.
load_before=$(cut -d' ' -f1 /proc/loadavg)
note "machine: $(nproc) CPUs, ${cpu_model:-unknown CPU}, $(uname -sr)"
note "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
note "versions: $("$nginx_bin" -v 2>&1), $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2), \
$("$rag_bin" --version 2>&1 | head -1)"

# --- (a) nginx: one worker, return 200, everything under $tmp, as the current user ---------------
nginx_port=$(free_port)
user_line=
# A root master would switch its worker to "nobody", which cannot reach $tmp.
((EUID == 0)) && user_line="user $(id -un) $(id -gn);"
mkdir -p "$tmp/nginx"
cat >"$tmp/nginx/nginx.conf" <<NGINX
$user_line
worker_processes 1;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $tmp/nginx/client_body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  server {
    listen 127.0.0.1:$nginx_port;
    location / { return 200; }
  }
}
NGINX
"$nginx_bin" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -e "$tmp/nginx/error.log" &
nginx_pid=$!
nginx_url="http://127.0.0.1:$nginx_port$target_path"
wait_for 10 curl -fsS -o /dev/null -X POST "$nginx_url" ||
  die "nginx did not answer on $nginx_url: $(cat "$tmp/nginx/error.log" 2>/dev/null)"

# --- (b) rag listen on port 0; the bound URL comes from its banner ------------------------------
log="$tmp/events.jsonl"
"$rag_bin" listen 127.0.0.1:0 --log "$log" >"$tmp/rag.out" 2>"$tmp/rag.err" &
rag_pid=$!
rag_banner() {
  kill -0 "$rag_pid" 2>/dev/null || die "rag listen exited: $(cat "$tmp/rag.err")"
  grep -qo 'http://127\.0\.0\.1:[0-9][0-9]*' "$tmp/rag.err"
}
wait_for 10 rag_banner || die "no banner from rag listen within 10 s: $(cat "$tmp/rag.err")"
rag_base=$(grep -o 'http://127\.0\.0\.1:[0-9][0-9]*' "$tmp/rag.err" | head -1)
rag_url="$rag_base$target_path"
sleep 1
rss_idle_kb=$(proc_kb "$rag_pid" VmRSS)
note "rag listening on $rag_base, idle RSS $(mb "$rss_idle_kb") MB"

# --- load: nginx first, then rag ----------------------------------------------------------------
run_wrk nginx "$nginx_url"
n_rps=$r_rps n_requests=$r_requests n_non2xx=$r_non2xx n_errors=$r_errors
n_p50=$r_p50_us n_p99=$r_p99_us

run_wrk rag "$rag_url"
g_rps=$r_rps g_requests=$r_requests g_non2xx=$r_non2xx g_errors=$r_errors
g_p50=$r_p50_us g_p99=$r_p99_us

# Requests in flight when wrk stopped were captured but not counted by wrk: let them land.
sleep 1
rss_peak_kb=$(proc_kb "$rag_pid" VmHWM)
rss_after_kb=$(proc_kb "$rag_pid" VmRSS)
load_after=$(cut -d' ' -f1 /proc/loadavg)
log_lines=$(wc -l <"$log")

# SIGTERM must flush and exit 0.
kill -TERM "$rag_pid"
rag_status=0
wait "$rag_pid" || rag_status=$?
rag_pid=

# --- report -------------------------------------------------------------------------------------
ratio=$(python3 -c "print(f'{$g_rps / $n_rps:.2f}')")
# Every answered 2xx was logged before its answer; at most one in-flight request per
# connection (or per socket error) may be logged without wrk counting it.
low=$((g_requests - g_non2xx))
high=$((g_requests + connections + g_errors))
if ((log_lines >= low && log_lines <= high)); then
  log_check="ok ($log_lines lines for $g_requests requests wrk completed, $g_non2xx non-2xx)"
  log_ok=1
else
  log_check="MISMATCH ($log_lines lines, expected $low..$high)"
  log_ok=0
fi
aim() { if python3 -c "import sys; sys.exit(0 if $1 else 1)"; then echo met; else echo MISSED; fi; }

cat <<REPORT

Command: bash tests/bench/listen_bench.sh $rag_arg
Load: wrk -t$threads -c$connections -d$duration --latency, POST ${body_bytes}-byte JSON \
(Content-Type: application/json) to $target_path
Machine: $(nproc) CPUs, ${cpu_model:-unknown CPU}; $(date -u +%Y-%m-%d); \
load average $load_before before, $load_after after (wrk included)
rag: log in a temp dir on $(df -PT "$tmp" | awk 'NR == 2 { print $2 }'), terminal lines (stdout) to a file

| server | requests/s | p50 latency | p99 latency | requests | non-2xx | socket errors |
|---|---:|---:|---:|---:|---:|---:|
| nginx \`return 200\` (1 worker) | $n_rps | $(ms "$n_p50") ms | $(ms "$n_p99") ms | \
$n_requests | $n_non2xx | $n_errors |
| rag listen (capture only) | $g_rps | $(ms "$g_p50") ms | $(ms "$g_p99") ms | \
$g_requests | $g_non2xx | $g_errors |
| **rag / nginx** | **${ratio}×** | $(python3 -c "print(f'{$g_p50 / max($n_p50, 1):.2f}')")× | \
$(python3 -c "print(f'{$g_p99 / max($n_p99, 1):.2f}')")× | | | |

| rag memory | MB | aim |
|---|---:|---|
| RSS idle (after startup) | $(mb "$rss_idle_kb") | < 10 MB: $(aim "$rss_idle_kb < 10 * 1024") |
| RSS peak (VmHWM) | $(mb "$rss_peak_kb") | < 64 MB: $(aim "$rss_peak_kb < 64 * 1024") |
| RSS after load | $(mb "$rss_after_kb") | |

Throughput aim (rag >= 0.3x nginx): $(aim "$ratio >= 0.3")
Log check: $log_check
rag exit status after SIGTERM: $rag_status
REPORT

((log_ok == 1)) || exit 1
((rag_status == 0)) || exit 1
