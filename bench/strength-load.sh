#!/usr/bin/env bash
# Evaluate throughput while clients hammer the password-strength check with
# crafted passwords (issue 13, item 3): starts Warden (WARDEN_BIN, default
# this checkout's release build) on a fresh data folder with the real geo
# data, then runs wrk on /v1/evaluate alone, and again while a second wrk
# keeps 4 connections on /v1/users/{user}/password/check with a crafted
# 128-character password. Prints both wrk summaries (the strength clients'
# "Non-2xx" are the 503 busy answers of a full pool).
#
# Usage: bench/strength-load.sh [SECONDS] [CONNECTIONS]   (defaults 10, 24)
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}
duration=${duration%s}
conns=${2:-24}
command -v wrk >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
geo=${WARDEN_GEO_DIR:-$PWD/data/geo}
bin=${WARDEN_BIN:-target/release/warden}
if [ -z "${WARDEN_BIN:-}" ]; then
	cargo build --release --locked -p warden 2>&1 | tail -1
fi
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
port=18481
key=bench-key-0123456789
WARDEN_DATA_DIR="$work" WARDEN_GEO__DIR="$geo" WARDEN_SERVER__LISTEN="127.0.0.1:$port" \
	WARDEN_SERVER__API_KEYS=$key WARDEN_LOG__FILTER=error "$bin" serve &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
curl -sf -H "Authorization: Bearer $key" -H 'content-type: application/json' \
	"http://127.0.0.1:$port/v1/users" -d '{"user":"bob@acme.test"}' >/dev/null
cat >"$work/evaluate.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $key"
wrk.body = '{"user":"alice@acme.test","ip":"113.88.1.10","protocol":"imap"}'
LUA
crafted=$(printf '4@1!|3$5+70(<{[%.0s' $(seq 9) | cut -c1-128)
cat >"$work/strength.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $key"
wrk.body = '{"password":"$crafted"}'
LUA
echo "== evaluate alone"
wrk -t2 -c"$conns" -d"${duration}s" --latency -s "$work/evaluate.lua" "http://127.0.0.1:$port/v1/evaluate"
echo "== evaluate while 4 connections check crafted 128-character passwords"
wrk -t1 -c4 -d"$((duration + 2))s" -s "$work/strength.lua" "http://127.0.0.1:$port/v1/users/bob@acme.test/password/check" >"$work/strength.txt" &
spid=$!
sleep 1
wrk -t2 -c"$conns" -d"${duration}s" --latency -s "$work/evaluate.lua" "http://127.0.0.1:$port/v1/evaluate"
wait $spid
echo "== the strength checks meanwhile"
cat "$work/strength.txt"
