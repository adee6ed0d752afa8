#!/usr/bin/env bash
# Benchmark `rag listen -f` against nginx `proxy_pass`, in one run, on loopback.
#
#   bash tests/bench/forward_bench.sh [RAG_BINARY]       (default: build/rag, a Release build)
#
# A fast target (nginx `return 200`, 1 worker, on 3 ports) is loaded directly, through nginx
# `proxy_pass` with a keepalive upstream (1 worker), through `rag listen -f` (1 target) and
# through `rag listen -f A -f B -f C` (fan-out to 3). Throughput: wrk -t2 -c32 for
# BENCH_DURATION (default 10s) POSTing a 2048-byte JSON body. Added latency: one keep-alive
# connection, sequential requests (wrk -t1 -c1), each path's p50/p99 minus direct's. Also
# reports each server's CPU time per request (from /proc), which a busy machine skews less
# than requests/s. Checks that rag's logs hold one event per answered request and 1 (or 3)
# deliveries per event, and prints markdown tables with the ratios the aims of issue 3 name.
# Not part of ctest.
# Installs wrk and nginx-light if missing.
set -euo pipefail

rag_arg=${1:-build/rag}
rag_bin=$rag_arg
duration=${BENCH_DURATION:-10s}
threads=2
connections=32
body_bytes=2048
target_path=/webhooks/bench

die() {
  echo "forward_bench: error: $*" >&2
  exit 1
}
note() { echo "forward_bench: $*" >&2; }

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
target_pid=
proxy_pid=
rag1_pid=
rag3_pid=
cleanup() {
  local pid
  for pid in "$rag1_pid" "$rag3_pid" "$proxy_pid" "$target_pid"; do
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

# Wait up to $1 seconds for command $2... to succeed.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

py() { python3 -c "print($1)"; }
# CPU time (user + system, in clock ticks) process $1 has used so far, all its threads included.
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
sys_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $13 }'; }
clk_tck=$(getconf CLK_TCK)
ms() { py "f'{$1 / 1000:.3f}'"; }
aim() { if python3 -c "import sys; sys.exit(0 if $1 else 1)"; then echo met; else echo MISSED; fi; }

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

# Runs wrk with $3 threads and $4 connections against URL $2, saving its output as
# $tmp/wrk-$1.txt; sets the r_* variables. r_cpu_us is the CPU time per request that
# process $5 (the path's own server) used during the run; r_target_cpu_us the target's.
run_wrk() {
  local name=$1 url=$2 t=$3 c=$4 own=$5 out="$tmp/wrk-$1.txt" line own0 sys0 target0
  note "wrk -t$t -c$c -d$duration --latency -s post.lua $url ($name)"
  own0=$(cpu_ticks "$own")
  sys0=$(sys_ticks "$own")
  target0=$(cpu_ticks "$target_worker")
  wrk -t"$t" -c"$c" -d"$duration" --timeout 5s --latency \
    -s "$tmp/post.lua" "$url" >"$out" 2>&1 || {
    cat "$out" >&2
    die "wrk failed against $name"
  }
  r_cpu_ticks=$(($(cpu_ticks "$own") - own0))
  r_sys_ticks=$(($(sys_ticks "$own") - sys0))
  r_target_ticks=$(($(cpu_ticks "$target_worker") - target0))
  sed 's/^/    /' "$out" >&2
  line=$(grep '^RESULT ' "$out") || die "no RESULT line from wrk ($name)"
  r_requests=$(sed -n 's/.* requests=\([0-9]*\).*/\1/p' <<<"$line")
  r_duration_us=$(sed -n 's/.* duration_us=\([0-9]*\).*/\1/p' <<<"$line")
  r_non2xx=$(sed -n 's/.* non2xx=\([0-9]*\).*/\1/p' <<<"$line")
  r_errors=$(sed -n 's/.* socket_errors=\([0-9]*\).*/\1/p' <<<"$line")
  r_p50_us=$(sed -n 's/.* p50_us=\([0-9]*\).*/\1/p' <<<"$line")
  r_p99_us=$(sed -n 's/.* p99_us=\([0-9]*\).*/\1/p' <<<"$line")
  r_rps=$(py "f'{$r_requests / ($r_duration_us / 1e6):.0f}'")
  r_cpu_us=$(py "f'{$r_cpu_ticks * 1e6 / $clk_tck / max($r_requests, 1):.1f}'")
  r_sys_pct=$(py "f'{100 * $r_sys_ticks / max($r_cpu_ticks, 1):.0f}'")
  r_target_cpu_us=$(py "f'{$r_target_ticks * 1e6 / $clk_tck / max($r_requests, 1):.1f}'")
}

# --- machine ------------------------------------------------------------------------------------
cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
# Other work on the machine skews every path's numbers: the report shows the load around the run.
load_before=$(cut -d' ' -f1 /proc/loadavg)
note "machine: $(nproc) CPUs, ${cpu_model:-unknown CPU}, $(uname -sr)"
note "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
note "versions: $("$nginx_bin" -v 2>&1), $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2), \
$("$rag_bin" --version 2>&1 | head -1)"

# --- nginx instances: 1 worker each, everything under $tmp, as the current user -----------------
user_line=
# A root master would switch its worker to "nobody", which cannot reach $tmp.
((EUID == 0)) && user_line="user $(id -un) $(id -gn);"

# Writes $tmp/$1/nginx.conf with the server block(s) $2 and starts nginx in the background.
start_nginx() {
  local name=$1 servers=$2 dir="$tmp/$1"
  mkdir -p "$dir"
  cat >"$dir/nginx.conf" <<NGINX
$user_line
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $dir/client_body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
$servers
}
NGINX
  "$nginx_bin" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" &
}

# (1) the fast target: one nginx, one worker, `return 200` on three ports (fan-out targets).
port_a=$(free_port)
port_b=$(free_port)
port_c=$(free_port)
start_nginx target "  server {
    listen 127.0.0.1:$port_a;
    listen 127.0.0.1:$port_b;
    listen 127.0.0.1:$port_c;
    location / { return 200; }
  }"
target_pid=$!
target_a="http://127.0.0.1:$port_a"
target_b="http://127.0.0.1:$port_b"
target_c="http://127.0.0.1:$port_c"
for url in "$target_a" "$target_b" "$target_c"; do
  wait_for 10 curl -fsS -o /dev/null -X POST "$url$target_path" ||
    die "target nginx did not answer on $url: $(cat "$tmp/target/error.log" 2>/dev/null)"
done
# The one worker (the master's only child) does the target's work.
target_worker=$(pgrep -P "$target_pid" | head -1)
[[ -n "$target_worker" ]] || die "no worker process under the target nginx ($target_pid)"

# (3) nginx proxy_pass to target A over a keepalive upstream, in its own process.
proxy_port=$(free_port)
start_nginx proxy "  upstream u { server 127.0.0.1:$port_a; keepalive 64; }
  server {
    listen 127.0.0.1:$proxy_port;
    location / {
      proxy_pass http://u;
      proxy_http_version 1.1;
      proxy_set_header Connection \"\";
    }
  }"
proxy_pid=$!
proxy_url="http://127.0.0.1:$proxy_port$target_path"
wait_for 10 curl -fsS -o /dev/null -X POST "$proxy_url" ||
  die "proxy nginx did not answer on $proxy_url: $(cat "$tmp/proxy/error.log" 2>/dev/null)"
proxy_worker=$(pgrep -P "$proxy_pid" | head -1)
[[ -n "$proxy_worker" ]] || die "no worker process under the proxy nginx ($proxy_pid)"

# (4) rag listen on port 0, forwarding to A (rag1) or to A, B, C (rag3); URL from the banner.
# Starts rag with log $tmp/$1.jsonl and targets $2...; sets started_pid and started_base.
start_rag() {
  local name=$1 args=() url
  shift
  for url in "$@"; do args+=(-f "$url"); done
  "$rag_bin" listen 127.0.0.1:0 --log "$tmp/$name.jsonl" "${args[@]}" \
    >"$tmp/$name.out" 2>"$tmp/$name.err" &
  started_pid=$!
  rag_banner() {
    kill -0 "$started_pid" 2>/dev/null || die "rag listen ($name) exited: $(cat "$tmp/$name.err")"
    grep -q 'Ready! Capturing on http://127\.0\.0\.1:[0-9]' "$tmp/$name.err"
  }
  wait_for 10 rag_banner || die "no banner from rag listen ($name): $(cat "$tmp/$name.err")"
  started_base=$(grep -o 'http://127\.0\.0\.1:[0-9][0-9]*' "$tmp/$name.err" | head -1)
}
start_rag rag1 "$target_a"
rag1_pid=$started_pid
rag1_url="$started_base$target_path"
start_rag rag3 "$target_a" "$target_b" "$target_c"
rag3_pid=$started_pid
rag3_url="$started_base$target_path"
note "rag -f A on $rag1_url, rag -f A -f B -f C on $rag3_url"

# --- load: throughput at -c32, then latency on one sequential keep-alive connection -----------
run_wrk direct "$target_a$target_path" "$threads" "$connections" "$target_worker"
d_rps=$r_rps d_req=$r_requests d_bad=$((r_non2xx + r_errors)) d_tcpu=$r_target_cpu_us
run_wrk proxy "$proxy_url" "$threads" "$connections" "$proxy_worker"
p_rps=$r_rps p_req=$r_requests p_bad=$((r_non2xx + r_errors))
p_cpu=$r_cpu_us p_tcpu=$r_target_cpu_us p_sys=$r_sys_pct
run_wrk rag1 "$rag1_url" "$threads" "$connections" "$rag1_pid"
g_rps=$r_rps g_req=$r_requests g_bad=$((r_non2xx + r_errors))
g_cpu=$r_cpu_us g_tcpu=$r_target_cpu_us g_sys=$r_sys_pct
rag1_answered=$((r_requests - r_non2xx)) rag1_slack=$((connections + r_errors))
run_wrk rag3 "$rag3_url" "$threads" "$connections" "$rag3_pid"
f_rps=$r_rps f_req=$r_requests f_bad=$((r_non2xx + r_errors))
f_cpu=$r_cpu_us f_tcpu=$r_target_cpu_us f_sys=$r_sys_pct
rag3_answered=$((r_requests - r_non2xx)) rag3_slack=$((connections + r_errors))

run_wrk direct-seq "$target_a$target_path" 1 1 "$target_worker"
ld_p50=$r_p50_us ld_p99=$r_p99_us ld_req=$r_requests ld_bad=$((r_non2xx + r_errors))
run_wrk proxy-seq "$proxy_url" 1 1 "$proxy_worker"
lp_p50=$r_p50_us lp_p99=$r_p99_us lp_req=$r_requests lp_bad=$((r_non2xx + r_errors))
lp_cpu=$r_cpu_us
run_wrk rag1-seq "$rag1_url" 1 1 "$rag1_pid"
lg_p50=$r_p50_us lg_p99=$r_p99_us lg_req=$r_requests lg_bad=$((r_non2xx + r_errors))
lg_cpu=$r_cpu_us
rag1_answered=$((rag1_answered + r_requests - r_non2xx))
rag1_slack=$((rag1_slack + 1 + r_errors))

# Requests in flight when wrk stopped, and copies to secondary targets, still land: let them.
sleep 1
load_after=$(cut -d' ' -f1 /proc/loadavg)

# SIGTERM must finish in-flight deliveries, flush and exit 0.
rag1_status=0
kill -TERM "$rag1_pid"
wait "$rag1_pid" || rag1_status=$?
rag1_pid=
rag3_status=0
kill -TERM "$rag3_pid"
wait "$rag3_pid" || rag3_status=$?
rag3_pid=

# --- correctness under load -------------------------------------------------------------------
# Sets c_events, c_deliveries, c_ok (deliveries with status 200) for log $1.
count_log() {
  c_events=$(grep -c '"kind":"event"' "$1" || true)
  c_deliveries=$(grep -c '"kind":"delivery"' "$1" || true)
  c_ok=$(grep '"kind":"delivery"' "$1" | grep -c '"status":200,' || true)
}
checks_ok=1
# Every answered request was logged before its answer; at most one in-flight request per
# connection (or per socket error) may be logged without wrk counting it. Every event must
# have exactly one delivery per target, each a 200 from nginx.
check_log() {
  local name=$1 answered=$2 slack=$3 per_event=$4
  count_log "$tmp/$name.jsonl"
  local want=$((c_events * per_event))
  if ((c_events >= answered && c_events <= answered + slack &&
    c_deliveries == want && c_ok == want)); then
    c_verdict=ok
  else
    c_verdict="MISMATCH (expected $answered..$((answered + slack)) events, \
$per_event deliveries with status 200 each)"
    checks_ok=0
  fi
}
check_log rag1 "$rag1_answered" "$rag1_slack" 1
k1_events=$c_events k1_deliveries=$c_deliveries k1_ok=$c_ok k1_verdict=$c_verdict
check_log rag3 "$rag3_answered" "$rag3_slack" 3
k3_events=$c_events k3_deliveries=$c_deliveries k3_ok=$c_ok k3_verdict=$c_verdict
for bad in "$d_bad" "$p_bad" "$g_bad" "$f_bad" "$ld_bad" "$lp_bad" "$lg_bad"; do
  ((bad == 0)) || checks_ok=0
done

# --- report -------------------------------------------------------------------------------------
tp_ratio=$(py "f'{$g_rps / $p_rps:.2f}'")
fan_ratio=$(py "f'{$f_rps / $g_rps:.2f}'")
added_p50_proxy=$((lp_p50 - ld_p50))
added_p99_proxy=$((lp_p99 - ld_p99))
added_p50_rag=$((lg_p50 - ld_p50))
added_p99_rag=$((lg_p99 - ld_p99))
lat_ratio=$(py "f'{$added_p50_rag / max($added_p50_proxy, 1):.2f}'")

cat <<REPORT

Command: bash tests/bench/forward_bench.sh $rag_arg
Body: POST ${body_bytes}-byte JSON (Content-Type: application/json) to $target_path
Machine: $(nproc) CPUs, ${cpu_model:-unknown CPU}; $(date -u "+%Y-%m-%d %H:%M") UTC; \
load average $load_before before, $load_after after (wrk included)
Target: nginx \`return 200\`, 1 worker, on 3 ports; proxy: a second nginx, 1 worker, keepalive 64
rag: logs in a temp dir on $(df -PT "$tmp" | awk 'NR == 2 { print $2 }'), terminal lines \
(stdout) to a file

Throughput, wrk -t$threads -c$connections -d$duration:

| path | requests/s | × direct | forwarder CPU / request | target CPU / request | requests | \
non-2xx + socket errors |
|---|---:|---:|---:|---:|---:|---:|
| direct to nginx \`return 200\` | $d_rps | 1.00× | | $d_tcpu µs | $d_req | $d_bad |
| nginx \`proxy_pass\` (keepalive upstream) | $p_rps | $(py "f'{$p_rps / $d_rps:.2f}'")× \
| $p_cpu µs ($p_sys% sys) | $p_tcpu µs | $p_req | $p_bad |
| rag listen -f A | $g_rps | $(py "f'{$g_rps / $d_rps:.2f}'")× \
| $g_cpu µs ($g_sys% sys) | $g_tcpu µs | $g_req | $g_bad |
| rag listen -f A -f B -f C | $f_rps | $(py "f'{$f_rps / $d_rps:.2f}'")× \
| $f_cpu µs ($f_sys% sys) | $f_tcpu µs | $f_req | $f_bad |

CPU / request: user + system CPU time the process used during the run (all its threads;
clock-tick resolution; the share spent in the kernel in brackets) divided by the requests
wrk completed. It depends much less on what else the machine is doing than requests/s.

Latency at low load, wrk -t1 -c1 -d$duration (one keep-alive connection, sequential):

| path | p50 | p99 | added p50 | added p99 | forwarder CPU / request | requests |
|---|---:|---:|---:|---:|---:|---:|
| direct | $(ms "$ld_p50") ms | $(ms "$ld_p99") ms | | | | $ld_req |
| nginx \`proxy_pass\` | $(ms "$lp_p50") ms | $(ms "$lp_p99") ms | $(ms "$added_p50_proxy") ms \
| $(ms "$added_p99_proxy") ms | $lp_cpu µs | $lp_req |
| rag listen -f A | $(ms "$lg_p50") ms | $(ms "$lg_p99") ms | $(ms "$added_p50_rag") ms \
| $(ms "$added_p99_rag") ms | $lg_cpu µs | $lg_req |

| aim | measured | |
|---|---:|---|
| rag / proxy_pass throughput ≥ 0.5 | ${tp_ratio}× | $(aim "$tp_ratio >= 0.5") |
| rag added p50 / nginx added p50 ≤ 1.5 | ${lat_ratio}× | $(aim "$lat_ratio <= 1.5") |
| fan-out 3 / fan-out 1 throughput ≥ 0.5 | ${fan_ratio}× | $(aim "$fan_ratio >= 0.5") |

CPU per request, rag / proxy_pass: $(py "f'{$g_cpu / max($p_cpu, 0.1):.2f}'")× \
(fan-out 3: $(py "f'{$f_cpu / max($p_cpu, 0.1):.2f}'")×)

| rag log check | events | delivery lines | deliveries 200 | requests answered (wrk) | |
|---|---:|---:|---:|---:|---|
| rag -f A (both runs) | $k1_events | $k1_deliveries | $k1_ok | $rag1_answered | $k1_verdict |
| rag -f A -f B -f C | $k3_events | $k3_deliveries | $k3_ok | $rag3_answered | $k3_verdict |

rag exit status after SIGTERM: $rag1_status (1 target), $rag3_status (3 targets)
REPORT

((checks_ok == 1)) || exit 1
((rag1_status == 0 && rag3_status == 0)) || exit 1
