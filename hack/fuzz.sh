#!/usr/bin/env bash
# Runs every Fuzz… test in the module. FUZZTIME is passed to -fuzztime; the
# default is an execution count (50000x per target), not a duration: with a
# duration, Go 1.26's fuzz coordinator can fail a target with a bare "context
# deadline exceeded" when the deadline races a busy worker (golang/go#75804,
# fixed in Go 1.27), which would make CI flaky on a loaded machine. Longer runs
# on demand: `make fuzz FUZZTIME=2000000x` (or a duration, accepting the race).
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-50000x}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for pkg in $(go list ./...); do
	for fn in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
		start=$SECONDS
		if ! go test -run='^$' -fuzz="^${fn}\$" -fuzztime="$fuzztime" "$pkg" >"$log" 2>&1; then
			cat "$log"
			echo "fuzz: FAIL $pkg $fn" >&2
			exit 1
		fi
		echo "fuzz: ok $pkg $fn ($fuzztime, $((SECONDS - start))s)"
	done
done
