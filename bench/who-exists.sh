#!/usr/bin/env bash
# Who exists? Times the answer an unauthenticated client gets for a guess at
# a user with history and at a name that does not exist, from a place the
# user never logs in from (Lagos for a Shenzhen user), through
# `POST /v1/auth/verify` — what Dovecot's Lua passdb, checkpassword and a
# webmail's login send. Before issue 13 the user with history got
# `deny_risk` in well under a millisecond, before any password check, and
# the unknown name `wrong_password` after a dummy argon2 verification.
#
# Prints each group's answers, median and 10th/90th percentiles, and the
# Mann-Whitney U statistic's z (|z| < 2: the two groups' times cannot be
# told apart at that sample size). Requests alternate between the groups
# and each comes from its own address (no lockout).
#
# Usage: bench/who-exists.sh [PAIRS]   (default 200). WARDEN_BIN=path runs
# that binary instead of building this checkout's.
set -euo pipefail
cd "$(dirname "$0")/.."
pairs=${1:-200}
scripts/fetch-geo.sh data/geo >/dev/null
bin=${WARDEN_BIN:-target/release/warden}
if [ -z "${WARDEN_BIN:-}" ]; then
	cargo build --release --locked -p warden 2>&1 | tail -1
fi
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
port=18481
key=bench-key-0123456789
export WARDEN_DATA_DIR="$work" WARDEN_GEO__DIR="$PWD/data/geo" WARDEN_SERVER__LISTEN="127.0.0.1:$port" \
	WARDEN_SERVER__API_KEYS=$key WARDEN_LOG__FILTER=warn
"$bin" serve &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
echo "kim-password-Shenzhen-1" | WARDEN_API_KEY=$key \
	"$bin" user create kim@example.com --password-stdin >/dev/null
python3 - "$port" "$key" "$pairs" <<'PY'
import json, math, statistics, sys, time, urllib.request, datetime
port, key, pairs = sys.argv[1], sys.argv[2], int(sys.argv[3])
base = f"http://127.0.0.1:{port}"
def post(path, body):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    t = time.perf_counter()
    try:
        with urllib.request.urlopen(req) as r:
            out = json.load(r)
    except urllib.error.HTTPError as e:
        out = json.load(e)
    return time.perf_counter() - t, out
now = datetime.datetime.now(datetime.timezone.utc)
for d in range(7, 0, -1):
    ts = (now - datetime.timedelta(days=d)).strftime("%Y-%m-%dT%H:%M:%SZ")
    post("/v1/report", {"user": "kim@example.com", "ip": "113.88.1.10", "protocol": "imap", "outcome": "success", "ts": ts})
times = {"kim@example.com": [], "nobody@example.com": []}
answers = {u: {} for u in times}
for i in range(pairs):
    for user in times:
        ip = f"105.112.{(2 * i) // 250}.{1 + (2 * i) % 250 + (user[0] == 'n')}"
        dt, out = post("/v1/auth/verify", {"user": user, "password": f"guess-{i}", "protocol": "imap", "ip": ip, "tls": True})
        times[user].append(dt * 1000)
        a = out.get("reason") or out.get("result")
        answers[user][a] = answers[user].get(a, 0) + 1
def q(v, p):
    v = sorted(v); return v[min(len(v) - 1, int(p * len(v)))]
for u, v in times.items():
    print(f"{u:20} answers {answers[u]}  median {statistics.median(v):.2f} ms  p10 {q(v, .1):.2f}  p90 {q(v, .9):.2f}")
a, b = times["kim@example.com"], times["nobody@example.com"]
ranked = sorted([(x, 0) for x in a] + [(x, 1) for x in b])
r1 = sum(i + 1 for i, (_, g) in enumerate(ranked) if g == 0)
n1, n2 = len(a), len(b)
u = r1 - n1 * (n1 + 1) / 2
z = (u - n1 * n2 / 2) / math.sqrt(n1 * n2 * (n1 + n2 + 1) / 12)
print(f"Mann-Whitney z = {z:.2f} ({'cannot be told apart' if abs(z) < 2 else 'DIFFERENT'})")
PY
