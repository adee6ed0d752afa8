# shellcheck shell=bash
# The functions set variables for the sourcing script and read its settings ($duration).
# shellcheck disable=SC2034,SC2154
# Shared set-up for the benchmark scripts in tests/bench/ (sourced, never run on its own).
#
# A script sets `bench_name` (the prefix of its messages), sources this file and then:
#
#   bench_rag_binary "${1:-build/rag}"   # checks the binary; sets rag_bin (absolute)
#   bench_need_tools wrk nginx           # installs what is missing; sets nginx_bin
#   bench_scratch                        # sets tmp (a fresh mktemp -d) and the cleanup trap
#
# Every process a script starts in the background goes through bench_track (the helpers
# that start servers do it): on exit the trap stops them all with SIGTERM, newest first,
# waits for them and removes $tmp (BENCH_KEEP=1 keeps it). Servers listen on 127.0.0.1
# only, on free ports (free_port) or on port 0 (rag, whose banner names the port).

bench_name=${bench_name:-bench}
bench_pids=()

die() {
  echo "$bench_name: error: $*" >&2
  exit 1
}
note() { echo "$bench_name: $*" >&2; }

# Checks that $1 is an executable rag (a Release build is what the docs report) and that
# python3 exists; sets rag_bin to its absolute path.
bench_rag_binary() {
  rag_bin=$1
  [[ -x "$rag_bin" ]] || die "no rag binary at $rag_bin (build one: cmake -S . -B build -G Ninja \
-DCMAKE_BUILD_TYPE=Release && ninja -C build)"
  rag_bin=$(cd "$(dirname "$rag_bin")" && pwd)/$(basename "$rag_bin")
  command -v python3 >/dev/null || die "python3 is needed (bash .ci/deps installs it)"
}

# Installs the benchmark-only tools named (wrk, nginx, ab, time: GNU time as /usr/bin/time)
# that are missing, from Debian packages (with sudo unless root); sets nginx_bin.
bench_need_tools() {
  local tool sudo_cmd=() missing=()
  nginx_bin=$(command -v nginx || true)
  [[ -z "$nginx_bin" && -x /usr/sbin/nginx ]] && nginx_bin=/usr/sbin/nginx
  for tool in "$@"; do
    case $tool in
    wrk) command -v wrk >/dev/null || missing+=(wrk) ;;
    nginx) [[ -n "$nginx_bin" ]] || missing+=(nginx-light) ;;
    ab) command -v ab >/dev/null || missing+=(apache2-utils) ;;
    time) [[ -x /usr/bin/time ]] || missing+=(time) ;;
    *) die "bench_need_tools: unknown tool $tool" ;;
    esac
  done
  if ((${#missing[@]} > 0)); then
    note "installing ${missing[*]}"
    ((EUID == 0)) || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -q --no-install-recommends "${missing[@]}"
    nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
  fi
}

# --- scratch space and cleanup -----------------------------------------------------------------

# Makes the scratch directory $tmp and installs the trap that cleans up on any exit.
bench_scratch() {
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/rag-bench.XXXXXX")
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
}

# Stops every tracked process (SIGTERM, then waits), newest first, and removes $tmp.
bench_cleanup() {
  local pid
  for pid in "${bench_pids[@]}"; do
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

# Has the exit trap stop background process $1.
bench_track() { bench_pids=("$1" "${bench_pids[@]}"); }

# Stops tracked process $1 now with SIGTERM and waits for it; sets bench_status to its
# exit status.
bench_stop() {
  local pid=$1 kept=() p
  kill -TERM "$pid"
  bench_status=0
  wait "$pid" || bench_status=$?
  for p in "${bench_pids[@]}"; do
    [[ "$p" == "$pid" ]] || kept+=("$p")
  done
  bench_pids=("${kept[@]}")
}

# --- small helpers -----------------------------------------------------------------------------

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
# Prints microseconds $1 as milliseconds with $2 (default 2) decimals.
ms() { python3 -c "print(f'{$1 / 1000:.${2:-2}f}')"; }
# Prints kB $1 as MB with one decimal.
mb() { python3 -c "print(f'{$1 / 1024:.1f}')"; }
# Prints "met" when the Python expression $1 is true, else "MISSED".
aim() { if python3 -c "import sys; sys.exit(0 if $1 else 1)"; then echo met; else echo MISSED; fi; }
# Prints the median of the numbers given.
median() {
  python3 -c "import statistics, sys; print(statistics.median(map(float, sys.argv[1:])))" "$@"
}

# Prints a /proc/PID/status field (VmRSS, VmHWM) in kB.
proc_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
# CPU time (user + system, in clock ticks) process $1 has used so far, all its threads included.
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
sys_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $13 }'; }
clk_tck=$(getconf CLK_TCK)

# --- machine ------------------------------------------------------------------------------------

# Sets cpu_model and load_before (the 1-minute load average now) and notes the machine and
# the date; other work on the machine skews every number, so reports show the load.
bench_machine() {
  cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
  load_before=$(cut -d' ' -f1 /proc/loadavg)
  note "machine: $(nproc) CPUs, ${cpu_model:-unknown CPU}, $(uname -sr)"
  note "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
}

# Notes the versions of the tools named (nginx, wrk, ab, rag).
bench_versions() {
  local tool list=()
  for tool in "$@"; do
    case $tool in
    nginx) list+=("$("$nginx_bin" -v 2>&1 || true)") ;;
    # wrk --version exits 1 after printing its version.
    wrk) list+=("$(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2 || true)") ;;
    ab) list+=("$(ab -V 2>&1 | head -1 | sed 's/^This is //; s/, Version//; s/ <.*//' || true)") ;;
    rag) list+=("$("$rag_bin" --version 2>&1 | head -1 || true)") ;;
    esac
  done
  local joined="" item
  for item in "${list[@]}"; do
    joined+="${joined:+, }$item"
  done
  note "versions: $joined"
}

# --- the request body and wrk ------------------------------------------------------------------

# Writes a JSON webhook body of exactly $2 bytes (a Stripe-like event, padded) to $1.
bench_body() {
  python3 - "$1" "$2" <<'PY'
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
}

# Writes $tmp/post.lua: POST body file $1 as application/json; done() prints one
# machine-readable RESULT line (--latency still prints wrk's own distribution).
bench_wrk_script() {
  cat >"$tmp/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = assert(io.open([[$1]], "rb"))
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
}

# Runs wrk with $3 threads and $4 connections for $duration against URL $2 with
# $tmp/post.lua, saving its output as $tmp/wrk-$1.txt; sets r_requests, r_duration_us,
# r_non2xx, r_errors, r_p50_us, r_p99_us and r_rps. With $5 (the path's own server process)
# and $6 (the target's process) also r_cpu_us and r_target_cpu_us (CPU time per request
# during the run), r_cpu_ticks, r_sys_ticks and r_sys_pct (the kernel's share of r_cpu_us).
bench_wrk() {
  local name=$1 url=$2 t=$3 c=$4 own=${5:-} target=${6:-} out="$tmp/wrk-$1.txt" line
  local own0=0 sys0=0 target0=0
  note "wrk -t$t -c$c -d$duration --latency -s post.lua $url ($name)"
  if [[ -n "$own" ]]; then
    own0=$(cpu_ticks "$own")
    sys0=$(sys_ticks "$own")
    target0=$(cpu_ticks "$target")
  fi
  wrk -t"$t" -c"$c" -d"$duration" --timeout 5s --latency \
    -s "$tmp/post.lua" "$url" >"$out" 2>&1 || {
    cat "$out" >&2
    die "wrk failed against $name"
  }
  if [[ -n "$own" ]]; then
    r_cpu_ticks=$(($(cpu_ticks "$own") - own0))
    r_sys_ticks=$(($(sys_ticks "$own") - sys0))
    r_target_ticks=$(($(cpu_ticks "$target") - target0))
  fi
  sed 's/^/    /' "$out" >&2
  line=$(grep '^RESULT ' "$out") || die "no RESULT line from wrk ($name)"
  r_requests=$(sed -n 's/.* requests=\([0-9]*\).*/\1/p' <<<"$line")
  r_duration_us=$(sed -n 's/.* duration_us=\([0-9]*\).*/\1/p' <<<"$line")
  r_non2xx=$(sed -n 's/.* non2xx=\([0-9]*\).*/\1/p' <<<"$line")
  r_errors=$(sed -n 's/.* socket_errors=\([0-9]*\).*/\1/p' <<<"$line")
  r_p50_us=$(sed -n 's/.* p50_us=\([0-9]*\).*/\1/p' <<<"$line")
  r_p99_us=$(sed -n 's/.* p99_us=\([0-9]*\).*/\1/p' <<<"$line")
  r_rps=$(py "f'{$r_requests / ($r_duration_us / 1e6):.0f}'")
  if [[ -n "$own" ]]; then
    r_cpu_us=$(py "f'{$r_cpu_ticks * 1e6 / $clk_tck / max($r_requests, 1):.1f}'")
    r_sys_pct=$(py "f'{100 * $r_sys_ticks / max($r_cpu_ticks, 1):.0f}'")
    r_target_cpu_us=$(py "f'{$r_target_ticks * 1e6 / $clk_tck / max($r_requests, 1):.1f}'")
  fi
}

# --- servers ------------------------------------------------------------------------------------

# Writes $tmp/$1/nginx.conf (1 worker, no access log, everything under $tmp/$1, as the
# current user) with the server block(s) $2, starts nginx in the background and tracks it;
# sets started_pid.
bench_nginx() {
  local name=$1 servers=$2 dir="$tmp/$1" user_line=
  # A root master would switch its worker to "nobody", which cannot reach $tmp.
  ((EUID == 0)) && user_line="user $(id -un) $(id -gn);"
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
  started_pid=$!
  bench_track "$started_pid"
}

# Starts nginx $1 answering `return 200` on 127.0.0.1 ports $3... and waits until a POST to
# path $2 succeeds on each; sets started_pid.
bench_nginx_return200() {
  local name=$1 path=$2 port listens=""
  shift 2
  for port in "$@"; do
    listens+="    listen 127.0.0.1:$port;"$'\n'
  done
  bench_nginx "$name" "  server {
$listens    location / { return 200; }
  }"
  for port in "$@"; do
    wait_for 10 curl -fsS -o /dev/null -X POST "http://127.0.0.1:$port$path" ||
      die "nginx ($name) did not answer on http://127.0.0.1:$port$path: \
$(cat "$tmp/$name/error.log" 2>/dev/null)"
  done
}

# Prints the pid of nginx master $1's worker (its only child), which does the serving.
bench_nginx_worker() {
  local worker
  worker=$(pgrep -P "$1" | head -1)
  [[ -n "$worker" ]] || die "no worker process under nginx ($1)"
  echo "$worker"
}

# Starts `rag listen 127.0.0.1:0 --log $2 $3...` in the background (terminal lines to
# $tmp/$1.out, diagnostics to $tmp/$1.err), tracks it and waits for its banner; sets
# started_pid and started_base (the bound http://127.0.0.1:PORT).
bench_rag_listen() {
  local name=$1 log=$2
  shift 2
  "$rag_bin" listen 127.0.0.1:0 --log "$log" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  started_pid=$!
  bench_track "$started_pid"
  wait_for 10 bench_rag_banner_ "$name" ||
    die "no banner from rag listen ($name) within 10 s: $(cat "$tmp/$name.err")"
  started_base=$(grep 'Ready! Capturing on' "$tmp/$name.err" |
    grep -o 'http://127\.0\.0\.1:[0-9][0-9]*' | head -1)
}

bench_rag_banner_() {
  kill -0 "$started_pid" 2>/dev/null || die "rag listen ($1) exited: $(cat "$tmp/$1.err")"
  grep -q 'Ready! Capturing on http://127\.0\.0\.1:[0-9]' "$tmp/$1.err"
}
