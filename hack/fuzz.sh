#!/usr/bin/env bash
# Runs every Fuzz… test in the module for FUZZTIME each (default 10s): short
# in `make test`, longer on demand with `make fuzz FUZZTIME=10m`.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-10s}
for pkg in $(go list ./...); do
	for fn in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
		echo "fuzz: $pkg $fn ($fuzztime)"
		go test -run='^$' -fuzz="^${fn}\$" -fuzztime="$fuzztime" "$pkg" >/tmp/devupdate-fuzz.$$.log 2>&1 || {
			cat /tmp/devupdate-fuzz.$$.log
			rm -f /tmp/devupdate-fuzz.$$.log
			exit 1
		}
	done
done
rm -f /tmp/devupdate-fuzz.$$.log
