#!/usr/bin/env bash
# Bench step 60: the device agent (issue 9, item 5). One scan with nothing
# new against a served ring (requests, bytes, CPU time, peak RSS), against
# go-tuf's bare updater.Refresh of the same repository, as processes and in
# process; the agent binary's size, stripped and not; peak RSS while
# installing a 200 MB cabinet and a larger one (flat: it does not grow with
# the file), against curl + osslsigncode verify on the same file.
set -euo pipefail
: "${BENCH_DIR:?}"
cd "$(dirname "$0")/../.."
work="$BENCH_DIR/agent"
rm -rf "$work" && mkdir -p "$work"
go build -o "$work/devupdate-agent" ./cmd/devupdate-agent
go build -ldflags "-s -w" -o "$work/devupdate-agent.stripped" ./cmd/devupdate-agent
GOOS=windows GOARCH=arm64 go build -ldflags "-s -w" -o "$work/devupdate-agent-arm64.exe" ./cmd/devupdate-agent
go build -o "$work/agentbench" ./hack/agentbench
size() { awk -v s="$(stat -c %s "$1")" 'BEGIN { printf "%.1f MB", s / 1048576 }'; }
echo "-- binary size"
printf '%-44s %s\n' "devupdate-agent linux/amd64" "$(size "$work/devupdate-agent")"
printf '%-44s %s\n' "devupdate-agent linux/amd64, -s -w" "$(size "$work/devupdate-agent.stripped")"
printf '%-44s %s\n' "devupdate-agent windows/arm64, -s -w" "$(size "$work/devupdate-agent-arm64.exe")"
echo "-- scan with nothing new"
"$work/agentbench" scan -agent "$work/devupdate-agent" -work "$work" -runs "${AGENT_SCAN_RUNS:-7}"
echo "-- download and verify"
"$work/agentbench" download -agent "$work/devupdate-agent" -work "$work" -sizes "${AGENT_CAB_SIZES:-200,600}"
