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
duration=${BENCH_DURATION:-10s}
threads=2
connections=32
body_bytes=2048
target_path=/webhooks/bench

bench_name=forward_bench
# shellcheck source=tests/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_rag_binary "$rag_arg"
bench_need_tools wrk nginx
bench_scratch

# --- request body and wrk script -----------------------------------------------------------------
bench_body "$tmp/body.json" "$body_bytes"
bench_wrk_script "$tmp/body.json"

# Runs wrk (see bench_wrk) with $3 threads and $4 connections against URL $2; r_cpu_us is
# the CPU time per request that process $5 (the path's own server) used during the run,
# r_target_cpu_us the target's.
run_wrk() { bench_wrk "$1" "$2" "$3" "$4" "$5" "$target_worker"; }

# --- machine ------------------------------------------------------------------------------------
bench_machine
bench_versions nginx wrk rag

# --- nginx instances: 1 worker each, everything under $tmp, as the current user -----------------
# (1) the fast target: one nginx, one worker, `return 200` on three ports (fan-out targets).
port_a=$(free_port)
port_b=$(free_port)
port_c=$(free_port)
bench_nginx_return200 target "$target_path" "$port_a" "$port_b" "$port_c"
target_pid=$started_pid
target_a="http://127.0.0.1:$port_a"
target_b="http://127.0.0.1:$port_b"
target_c="http://127.0.0.1:$port_c"
# The one worker (the master's only child) does the target's work.
target_worker=$(bench_nginx_worker "$target_pid")

# (3) nginx proxy_pass to target A over a keepalive upstream, in its own process.
proxy_port=$(free_port)
bench_nginx proxy "  upstream u { server 127.0.0.1:$port_a; keepalive 64; }
  server {
    listen 127.0.0.1:$proxy_port;
    location / {
      proxy_pass http://u;
      proxy_http_version 1.1;
      proxy_set_header Connection \"\";
    }
  }"
proxy_pid=$started_pid
proxy_url="http://127.0.0.1:$proxy_port$target_path"
wait_for 10 curl -fsS -o /dev/null -X POST "$proxy_url" ||
  die "proxy nginx did not answer on $proxy_url: $(cat "$tmp/proxy/error.log" 2>/dev/null)"
proxy_worker=$(bench_nginx_worker "$proxy_pid")

# (4) rag listen on port 0, forwarding to A (rag1) or to A, B, C (rag3); URL from the banner.
# Starts rag with log $tmp/$1.jsonl and targets $2...; sets started_pid and started_base.
start_rag() {
  local name=$1 args=() url
  shift
  for url in "$@"; do args+=(-f "$url"); done
  bench_rag_listen "$name" "$tmp/$name.jsonl" "${args[@]}"
}
start_rag rag1 "$target_a"
rag1_pid=$started_pid
rag1_url="$started_base$target_path"
start_rag rag3 "$target_a" "$target_b" "$target_c"
rag3_pid=$started_pid
rag3_url="$started_base$target_path"
note "rag -f A on $rag1_url, rag -f A -f B -f C on $rag3_url"

# --- load: latency on one sequential keep-alive connection first, then throughput at -c32 ------
# Latency first: the throughput runs make rag write about 2 GB of log, and the kernel's
# writeback of it for the next half minute slows every process that runs meanwhile (rag's
# own log writes most), which is not what "added latency at low load" is about.
run_wrk direct-seq "$target_a$target_path" 1 1 "$target_worker"
ld_p50=$r_p50_us ld_p99=$r_p99_us ld_req=$r_requests ld_bad=$((r_non2xx + r_errors))
run_wrk proxy-seq "$proxy_url" 1 1 "$proxy_worker"
lp_p50=$r_p50_us lp_p99=$r_p99_us lp_req=$r_requests lp_bad=$((r_non2xx + r_errors))
lp_cpu=$r_cpu_us
run_wrk rag1-seq "$rag1_url" 1 1 "$rag1_pid"
lg_p50=$r_p50_us lg_p99=$r_p99_us lg_req=$r_requests lg_bad=$((r_non2xx + r_errors))
lg_cpu=$r_cpu_us
rag1_answered=$((r_requests - r_non2xx)) rag1_slack=$((1 + r_errors))

run_wrk direct "$target_a$target_path" "$threads" "$connections" "$target_worker"
d_rps=$r_rps d_req=$r_requests d_bad=$((r_non2xx + r_errors)) d_tcpu=$r_target_cpu_us
run_wrk proxy "$proxy_url" "$threads" "$connections" "$proxy_worker"
p_rps=$r_rps p_req=$r_requests p_bad=$((r_non2xx + r_errors))
p_cpu=$r_cpu_us p_tcpu=$r_target_cpu_us p_sys=$r_sys_pct
run_wrk rag1 "$rag1_url" "$threads" "$connections" "$rag1_pid"
g_rps=$r_rps g_req=$r_requests g_bad=$((r_non2xx + r_errors))
g_cpu=$r_cpu_us g_tcpu=$r_target_cpu_us g_sys=$r_sys_pct
rag1_answered=$((rag1_answered + r_requests - r_non2xx))
rag1_slack=$((rag1_slack + connections + r_errors))
run_wrk rag3 "$rag3_url" "$threads" "$connections" "$rag3_pid"
f_rps=$r_rps f_req=$r_requests f_bad=$((r_non2xx + r_errors))
f_cpu=$r_cpu_us f_tcpu=$r_target_cpu_us f_sys=$r_sys_pct
rag3_answered=$((r_requests - r_non2xx)) rag3_slack=$((connections + r_errors))
# Do the secondaries keep pace? The copies to B and C already in the log when wrk stopped,
# per event (issue 12: 74 % with 8 workers per target against the primary's 32 senders).
pace_events=$(grep -c '"kind":"event"' "$tmp/rag3.jsonl" || true)
pace_b=$(grep '"kind":"delivery"' "$tmp/rag3.jsonl" | grep -c "\"target\":\"$target_b" || true)
pace_c=$(grep '"kind":"delivery"' "$tmp/rag3.jsonl" | grep -c "\"target\":\"$target_c" || true)
pace_pct=$(py "f'{100 * ($pace_b + $pace_c) / max(2 * $pace_events, 1):.0f}'")

# Requests in flight when wrk stopped, and copies to secondary targets, still land: let them.
sleep 1
load_after=$(cut -d' ' -f1 /proc/loadavg)

# SIGTERM must finish in-flight deliveries, flush and exit 0.
bench_stop "$rag1_pid"
rag1_status=$bench_status
bench_stop "$rag3_pid"
rag3_status=$bench_status

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
    # The most common outcome of the deliveries that were not a 200, to say why.
    local why
    why=$(grep '"kind":"delivery"' "$tmp/$name.jsonl" | grep -v '"status":200,' |
      grep -o '"error":"[^"]*"\|"status":[0-9]*' | sed 's/[0-9][0-9]* deliveries ([^)]*)/N deliveries/' |
      sort | uniq -c | sort -rn | head -2 | tr -s ' \n' ' ' || true)
    c_verdict="MISMATCH (expected $answered..$((answered + slack)) events, \
$per_event deliveries with status 200 each; others: ${why:-none})"
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
| direct | $(ms "$ld_p50" 3) ms | $(ms "$ld_p99" 3) ms | | | | $ld_req |
| nginx \`proxy_pass\` | $(ms "$lp_p50" 3) ms | $(ms "$lp_p99" 3) ms \
| $(ms "$added_p50_proxy" 3) ms | $(ms "$added_p99_proxy" 3) ms | $lp_cpu µs | $lp_req |
| rag listen -f A | $(ms "$lg_p50" 3) ms | $(ms "$lg_p99" 3) ms | $(ms "$added_p50_rag" 3) ms \
| $(ms "$added_p99_rag" 3) ms | $lg_cpu µs | $lg_req |

| aim | measured | |
|---|---:|---|
| rag / proxy_pass throughput ≥ 0.5 | ${tp_ratio}× | $(aim "$tp_ratio >= 0.5") |
| rag added p50 / nginx added p50 ≤ 1.5 | ${lat_ratio}× | $(aim "$lat_ratio <= 1.5") |
| fan-out 3 / fan-out 1 throughput ≥ 0.5 | ${fan_ratio}× | $(aim "$fan_ratio >= 0.5") |
| copies to B and C logged when the load stopped ≥ 95 % | ${pace_pct} % | $(aim "$pace_pct >= 95") |

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
