#!/usr/bin/env bash
# Open-loop HTTP benchmark: a fixed request rate, latency measured from the
# moment each request was due (oha --latency-correction), so queueing is not
# hidden the way a closed-loop tool (wrk) hides it. Half the rate is
# POST /v1/evaluate, half POST /v1/report (each report evaluates and stores
# one login, committed before it is answered). oha's bodies are fixed, so one
# user evaluates and another reports: storage touches few profile pages,
# which flatters the report path a little.
#
# Usage: bench/http-open-loop.sh [RATE] [DURATION]   (defaults 20000, 20s)
# CONNS=N sets each oha's connections (default 32, so 64 in all); more
# connections than server.max_in_flight (32) let the service shed.
# BENCH_TMP=/dev/shm puts the database on tmpfs (to separate disk stalls).
# It also prints the service's own CPU time per request (user + system, from
# /proc), a figure that depends far less on what else the machine is doing
# than the latency percentiles do.
# oha comes from crates.io (`cargo install oha`, about 5 minutes the first time).
set -euo pipefail
cd "$(dirname "$0")/.."
rate=${1:-20000}
duration=${2:-20s}
oha=${OHA:-$(command -v oha || echo "$PWD/target/tools/bin/oha")}
[[ -x "$oha" ]] || cargo install oha --locked --root "$PWD/target/tools"
scripts/fetch-geo.sh data/geo >/dev/null
cargo build --release --locked -p warden 2>&1 | tail -1
work=$(mktemp -d ${BENCH_TMP:+-p "$BENCH_TMP"})
port=18495
key=bench-key-0123456789
WARDEN_DATA_DIR="$work" WARDEN_GEO__DIR="$PWD/data/geo" WARDEN_SERVER__LISTEN="127.0.0.1:$port" \
	WARDEN_SERVER__API_KEYS=$key WARDEN_LOG__FILTER=warn target/release/warden serve &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
before=$(cpu_ticks)
half=$((rate / 2))
common=(--no-tui -z "$duration" -c "${CONNS:-32}" -q "$half" --latency-correction -m POST -H "Authorization: Bearer $key" -T application/json)
"$oha" "${common[@]}" -d '{"user":"alice@example.com","ip":"113.88.1.10","protocol":"imap","user_agent":"Foxmail 7.2"}' \
	"http://127.0.0.1:$port/v1/evaluate" >"$work/evaluate.txt" 2>&1 &
evaluating=$!
"$oha" "${common[@]}" -d '{"user":"bob@example.com","ip":"183.6.14.2","protocol":"imap","outcome":"success"}' \
	"http://127.0.0.1:$port/v1/report" >"$work/report.txt" 2>&1
wait "$evaluating"
after=$(cpu_ticks)
for part in evaluate report; do
	echo "== $part"
	grep -E "Success rate|Requests/sec|50.00%|99.00%|99.90%|\[[0-9]{3}\]" "$work/$part.txt"
done
# Overload as /metrics shows it, and the service's peak memory.
curl -s "http://127.0.0.1:$port/metrics" | grep -E "^warden_http_(requests_shed_total|queue_wait_seconds_count|connections_(evicted|refused)_total)" || true
grep VmHWM "/proc/$pid/status"
requests=$(awk '/Requests\/sec/{r+=$2} END{print r}' "$work/evaluate.txt" "$work/report.txt")
secs=${duration%s}
awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="$requests" -v s="$secs" \
	'BEGIN { printf "== service CPU: %.0f µs per request (user + system)\n", t / hz * 1e6 / (n * s) }'
