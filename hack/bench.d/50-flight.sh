#!/usr/bin/env bash
# Flighting benchmark (issue 8, item 6): the metadata one device downloads
# (go-tuf's updater, bytes and requests counted at the HTTP layer) for a
# first scan, nothing new, a change to another product and to its own, at
# 10, 100 and 1,000 products of 5 updates each, for devupdate's layout (one
# TUF repository per ring and product) against the peer layout (one
# repository per ring, one delegated role per product) in the same run; then
# the time of each kind of flight change on a ring of 1,000 products on the
# local store and on Azurite, against the same change in the peer layout.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${BENCH_DIR:?}"
azurite=node_modules/.bin/azurite-blob
[ -x "$azurite" ] || { echo "azurite missing: run make deps" >&2; exit 1; }
mkdir -p "$BENCH_DIR/flight"
go run ./hack/flightbench -sizes "${FLIGHT_SIZES:-10,100,1000}" -timed "${FLIGHT_TIMED:-1000}" \
	-azurite "$azurite" -work "$BENCH_DIR/flight"
