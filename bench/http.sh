#!/usr/bin/env bash
# HTTP load benchmark: builds the release binary, starts Warden on a fresh
# data folder (real geo data from data/geo, SQLite), and drives evaluate +
# report with wrk over loopback. Prints wrk's summary with latency
# percentiles, then what each request cost: the service's CPU time and
# context switches and wrk's CPU time (from /proc and time(1)). These depend
# far less on what else the machine is doing than the percentiles do.
#
# Usage: bench/http.sh [DURATION] [CONNECTIONS]   (defaults 15s, 24: the
# README's figures). WARDEN_BIN=path runs that binary instead of building
# this checkout's (bench/compare.sh uses it to interleave two builds).
# WAL_EVERY=N prints the size of the database's WAL file every N seconds
# during the load (the README's disk figures).
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-15s}
conns=${2:-24}
if ! command -v wrk >/dev/null 2>&1 || ! [ -x /usr/bin/time ]; then
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk time
fi
scripts/fetch-geo.sh data/geo >/dev/null
bin=${WARDEN_BIN:-target/release/warden}
if [ -z "${WARDEN_BIN:-}" ]; then
	cargo build --release --locked -p warden 2>&1 | tail -1
fi
work=$(mktemp -d)
trap 'kill $pid ${sampler:-} 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
port=18480
WARDEN_DATA_DIR="$work" WARDEN_GEO__DIR="$PWD/data/geo" WARDEN_SERVER__LISTEN="127.0.0.1:$port" \
	WARDEN_SERVER__API_KEYS=bench-key-0123456789 WARDEN_LOG__FILTER=warn "$bin" serve &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
# CPU ticks, and voluntary plus involuntary context switches over all threads.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
switches() { cat /proc/"$pid"/task/*/status | awk '/ctxt_switches/ {s += $2} END {print s}'; }
ticks0=$(cpu_ticks) cs0=$(switches)
sampler=
if [ -n "${WAL_EVERY:-}" ]; then
	(
		t=0
		while sleep "$WAL_EVERY"; do
			t=$((t + WAL_EVERY))
			echo "WAL after ${t}s: $(stat -c %s "$work/warden.db-wal" 2>/dev/null || echo 0) bytes"
		done
	) &
	sampler=$!
fi
WARDEN_KEY=bench-key-0123456789 /usr/bin/time -o "$work/wrk.time" -f "%U %S" \
	wrk -t"${WRK_THREADS:-2}" -c"$conns" -d"$duration" --latency -s bench/evaluate_report.lua "http://127.0.0.1:$port" | tee "$work/wrk.txt"
ticks1=$(cpu_ticks) cs1=$(switches)
if [ -n "$sampler" ]; then kill "$sampler"; fi
requests=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
read -r wrk_user wrk_sys <"$work/wrk.time"
awk -v t=$((ticks1 - ticks0)) -v hz="$(getconf CLK_TCK)" -v c=$((cs1 - cs0)) -v n="$requests" \
	-v wu="$wrk_user" -v ws="$wrk_sys" \
	'BEGIN { printf "per request: service %.0f µs CPU, %.2f context switches; wrk %.0f µs CPU\n", t / hz * 1e6 / n, c / n, (wu + ws) * 1e6 / n }'
echo "events stored: $(curl -s "http://127.0.0.1:$port/metrics" | grep '^warden_store_events_written' | awk '{print $2}')"
