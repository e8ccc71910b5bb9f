#!/usr/bin/env bash
# Runs every check Warden has: formatting, lints, and all tests (unit,
# scenario, HTTP over real sockets with real SQLite files, the real binary,
# a test against the real DB-IP data, which this script fetches, and
# Schemathesis fuzzing the running service from its OpenAPI document).
set -euo pipefail
cd "$(dirname "$0")/.."

command -v npm >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm; }
# The end-to-end tests run the real Debian mail daemons (Dovecot with the Lua
# passdb, Postfix) and Python's mail clients (docs/integrations/).
missing=()
# The answer page is checked in headless Chromium (driven over the DevTools
# protocol on a pipe by crates/warden-api/tests/browser/cdp.py), with a CJK
# font for the Chinese page's screenshot.
for p in dovecot-imapd dovecot-pop3d dovecot-auth-lua postfix swaks python3 openssl chromium fonts-wqy-zenhei; do
	dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
# Schemathesis fuzzes the running API from its OpenAPI document
# (crates/warden/tests/e2e/openapi_fuzz.rs); pinned, so the deterministic
# run sends the same requests everywhere.
SCHEMATHESIS=4.32.5
if ! st --version 2>/dev/null | grep -qx "st, version $SCHEMATHESIS"; then
	python3 -m pip --version >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip; }
	# Debian's own Python refuses pip installs outside a venv (PEP 668).
	python3 -m pip install --quiet "schemathesis==$SCHEMATHESIS" ||
		python3 -m pip install --quiet --break-system-packages "schemathesis==$SCHEMATHESIS"
fi
# The alert-delivery tests run a real SMTP server (Python aiosmtpd) on a
# loopback port (crates/warden-service/tests/notify.rs,
# crates/warden/tests/notify.rs), and receives login protection's emailed
# codes (crates/warden-api/tests/stepup.rs).
if ! python3 -c "import aiosmtpd" 2>/dev/null; then
	python3 -m pip install --quiet "aiosmtpd==1.4.6" ||
		python3 -m pip install --quiet --break-system-packages "aiosmtpd==1.4.6"
fi
scripts/fetch-geo.sh data/geo
export WARDEN_GEO_DIR="$PWD/data/geo"

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
if cargo nextest --version >/dev/null 2>&1; then
	cargo nextest run --workspace --locked --no-fail-fast
else
	cargo test --workspace --locked --no-fail-fast
fi
