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
duration=${BENCH_DURATION:-10s}
threads=2
connections=32
body_bytes=2048
target_path=/webhooks/bench

bench_name=listen_bench
# shellcheck source=tests/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_rag_binary "$rag_arg"
bench_need_tools wrk nginx
bench_scratch

# --- request body and wrk script -----------------------------------------------------------------
bench_body "$tmp/body.json" "$body_bytes"
bench_wrk_script "$tmp/body.json"

# --- machine ------------------------------------------------------------------------------------
bench_machine
bench_versions nginx wrk rag

# --- (a) nginx: one worker, return 200, everything under $tmp, as the current user ---------------
nginx_port=$(free_port)
bench_nginx_return200 nginx "$target_path" "$nginx_port"
nginx_url="http://127.0.0.1:$nginx_port$target_path"

# --- (b) rag listen on port 0; the bound URL comes from its banner ------------------------------
log="$tmp/events.jsonl"
bench_rag_listen rag "$log"
rag_pid=$started_pid
rag_base=$started_base
rag_url="$rag_base$target_path"
sleep 1
rss_idle_kb=$(proc_kb "$rag_pid" VmRSS)
note "rag listening on $rag_base, idle RSS $(mb "$rss_idle_kb") MB"

# --- load: nginx first, then rag ----------------------------------------------------------------
bench_wrk nginx "$nginx_url" "$threads" "$connections"
n_rps=$r_rps n_requests=$r_requests n_non2xx=$r_non2xx n_errors=$r_errors
n_p50=$r_p50_us n_p99=$r_p99_us

bench_wrk rag "$rag_url" "$threads" "$connections"
g_rps=$r_rps g_requests=$r_requests g_non2xx=$r_non2xx g_errors=$r_errors
g_p50=$r_p50_us g_p99=$r_p99_us

# Requests in flight when wrk stopped were captured but not counted by wrk: let them land.
sleep 1
rss_peak_kb=$(proc_kb "$rag_pid" VmHWM)
rss_after_kb=$(proc_kb "$rag_pid" VmRSS)
load_after=$(cut -d' ' -f1 /proc/loadavg)
log_lines=$(wc -l <"$log")

# SIGTERM must flush and exit 0.
bench_stop "$rag_pid"
rag_status=$bench_status

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
