#!/usr/bin/env bash
# HTTP load benchmark: builds the release binary, starts Warden on a fresh
# data folder (real geo data from data/geo, SQLite), and drives evaluate +
# report with wrk over loopback. Prints wrk's summary with latency
# percentiles.
#
# Usage: bench/http.sh [DURATION] [CONNECTIONS]   (defaults 30s, 64)
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-30s}
conns=${2:-64}
command -v wrk >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
scripts/fetch-geo.sh data/geo >/dev/null
cargo build --release --locked -p warden 2>&1 | tail -1
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
port=18480
WARDEN_DATA_DIR="$work" WARDEN_GEO__DIR="$PWD/data/geo" WARDEN_SERVER__LISTEN="127.0.0.1:$port" \
	WARDEN_SERVER__API_KEYS=bench-key-0123456789 WARDEN_LOG__FILTER=warn target/release/warden serve &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
WARDEN_KEY=bench-key-0123456789 wrk -t"${WRK_THREADS:-2}" -c"$conns" -d"$duration" --latency -s bench/evaluate_report.lua "http://127.0.0.1:$port"
echo "events stored: $(curl -s "http://127.0.0.1:$port/metrics" | grep '^warden_store_events_written' | awk '{print $2}')"
