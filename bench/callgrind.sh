#!/usr/bin/env bash
# Instructions per HTTP request (evaluate + report as bench/http.sh drives
# them), counted by valgrind's callgrind: repeatable for the same binary and
# inputs whatever else the machine does, unlike latencies. Instrumentation
# starts once the service is ready (start-up and geo loading are not
# counted) and stops before it shuts down.
#
# Usage: bench/callgrind.sh [BINARY] [DURATION]   (defaults: this checkout's
# release build, 20s)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release/warden}
duration=${2:-20s}
command -v valgrind >/dev/null && command -v wrk >/dev/null ||
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind wrk; }
scripts/fetch-geo.sh data/geo >/dev/null
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
port=18490
WARDEN_DATA_DIR="$work" WARDEN_GEO__DIR="$PWD/data/geo" WARDEN_SERVER__LISTEN="127.0.0.1:$port" \
	WARDEN_SERVER__API_KEYS=bench-key-0123456789 WARDEN_LOG__FILTER=warn \
	valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/cg.out" "$bin" serve 2>"$work/valgrind.log" &
pid=$!
for _ in $(seq 600); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done
callgrind_control -i on "$pid" >/dev/null
# A status request makes callgrind act on the command before the load starts.
sleep 1
callgrind_control -s "$pid" >/dev/null
WARDEN_KEY=bench-key-0123456789 wrk -t1 -c2 -d"$duration" -s bench/evaluate_report.lua "http://127.0.0.1:$port" >"$work/wrk.txt"
callgrind_control -d "$pid" >/dev/null
# The dump is written by the service's own thread: wait until it is whole.
for _ in $(seq 150); do
	grep -qs '^totals:' "$work"/cg.out.* && break
	sleep 0.2
done
requests=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
instructions=$(cat "$work"/cg.out.* | awk '/^summary:/ {s += $2} END {print s}')
awk -v i="$instructions" -v n="$requests" 'BEGIN { printf "%d requests, %.1fk instructions per request\n", n, i / n / 1000 }'
