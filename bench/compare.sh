#!/usr/bin/env bash
# Interleaved A/B of the HTTP benchmark: runs bench/http.sh with binary A,
# then B, ROUNDS times, so both meet the same machine load, and prints one
# line per run (throughput, latency percentiles, service CPU per request).
#
# Usage: bench/compare.sh BIN_A BIN_B [ROUNDS] [DURATION] [CONNECTIONS]
#   e.g. build the commit before a change into another target dir:
#   git worktree add /tmp/base BASE && (cd /tmp/base && CARGO_TARGET_DIR=/tmp/base-target \
#     cargo build --release -p warden) && cargo build --release -p warden &&
#   bench/compare.sh /tmp/base-target/release/warden target/release/warden 6
set -euo pipefail
cd "$(dirname "$0")/.."
a=$1 b=$2 rounds=${3:-6} duration=${4:-15s} conns=${5:-24}
printf '%-4s %-3s %10s %8s %8s %8s %s\n' run bin "req/s" p50 p90 p99 "per request"
for i in $(seq "$rounds"); do
	for which in A B; do
		bin=$a
		[ "$which" = B ] && bin=$b
		out=$(WARDEN_BIN="$bin" bench/http.sh "$duration" "$conns" 2>&1)
		rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
		p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
		p90=$(awk '$1 == "90%" {print $2}' <<<"$out")
		p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
		cost=$(grep '^per request' <<<"$out" | sed 's/^per request: //')
		printf '%-4s %-3s %10s %8s %8s %8s %s\n' "$i" "$which" "$rps" "$p50" "$p90" "$p99" "$cost"
	done
done
