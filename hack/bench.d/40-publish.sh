#!/usr/bin/env bash
# Upload throughput and peak memory of `devupdate publish` against azcopy on
# the same Azurite in the same run, and the cost of re-publishing unchanged
# cabinets. Azurite and azcopy come from the npm packages pinned in
# package.json (make deps); azcopy's npm package ships its binary without the
# executable bit, so a runnable copy goes to $BENCH_DIR.
set -euo pipefail
: "${DEVUPDATE:?}" "${BENCH_DIR:?}"
cd "$(dirname "$0")/../.."
azcopy_src=node_modules/@azure-tools/azcopy-linux/dist/bin/azcopy_linux_amd64
[ -f "$azcopy_src" ] || { echo "azcopy missing: run make deps" >&2; exit 1; }
install -m 0755 "$azcopy_src" "$BENCH_DIR/azcopy"
echo "azcopy: $("$BENCH_DIR/azcopy" --version)"
go run ./hack/publishbench -dir "$BENCH_DIR" -devupdate "$DEVUPDATE" -azcopy "$BENCH_DIR/azcopy" \
	-azurite node_modules/.bin/azurite-blob -size-mib "${PUBLISH_BENCH_MIB:-1024}" -cabs "${PUBLISH_BENCH_CABS:-100}"
