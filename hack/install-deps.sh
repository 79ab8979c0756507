#!/usr/bin/env bash
# Installs what the tests and benchmarks need beyond Go, gcc, node/npm and
# osslsigncode: the Debian packages listed in hack/deps/*.apt (one per line,
# '#' comments allowed) and the npm packages pinned in package.json +
# package-lock.json. Idempotent: it only calls apt-get/npm when something is
# missing, so `make test` stays fast on a machine that already has everything.
set -euo pipefail
cd "$(dirname "$0")/.."

want=()
for f in hack/deps/*.apt; do
	[ -e "$f" ] || continue
	while read -r pkg _; do
		pkg=${pkg%%#*}
		[ -n "$pkg" ] && want+=("$pkg")
	done <"$f"
done

missing=()
for p in "${want[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -gt 0 ]; then
	echo "install-deps: installing Debian packages: ${missing[*]}"
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null || { echo "install-deps: need root or sudo for apt-get" >&2; exit 1; }
		sudo="sudo"
	fi
	export DEBIAN_FRONTEND=noninteractive
	# Packages such as nginx start a system service on install, listening on
	# every address. The tests start their own servers on loopback, so forbid
	# service starts for the duration of the install (Debian's policy-rc.d).
	policy=/usr/sbin/policy-rc.d
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
		$sudo chmod 755 "$policy"
		trap '$sudo rm -f "$policy"' EXIT
	fi
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ -f package-lock.json ]; then
	stamp=node_modules/.devupdate-lock.sha256
	sum=$(sha256sum package-lock.json | cut -d' ' -f1)
	if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$sum" ]; then
		echo "install-deps: npm ci (package-lock.json)"
		npm ci --no-audit --no-fund --loglevel=error
		echo "$sum" >"$stamp"
	fi
fi
