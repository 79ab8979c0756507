#!/usr/bin/env bash
# Bench step 70: a fleet (issue 10, item 2). Devices running the agent
# library scan through nginx (examples/cdn/nginx.conf) in front of
# `devupdate serve` ($DEVUPDATE) with a 2-second timestamp max-age, while
# the default timeline adds, promotes, ramps, pauses, halts and rolls
# forward: scans, origin requests per ring per max-age window (from serve's
# access log), bytes per scan, latency, versions over time and violations
# (must be 0), for two fleet sizes side by side (what reaches the origin
# and the publisher's work do not grow with the fleet); then one scan's
# CPU in rings of 10 and 1,000 products.
# The full run of the closing note: go run ./hack/fleetsim -devices 5000.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${BENCH_DIR:?}" "${DEVUPDATE:?}"
mkdir -p "$BENCH_DIR/fleet"
go run ./hack/fleetsim -devices "${FLEET_DEVICES:-250,1000}" -cost-products "${FLEET_COST_PRODUCTS:-10,1000}" \
	-devupdate "$DEVUPDATE" -work "$BENCH_DIR/fleet" 2>"$BENCH_DIR/fleet/progress.log"
