#!/usr/bin/env bash
# Publishes every cabinet the earlier steps built and signed ($DEMO_DIR/cabs)
# to a local store, then publishes again to show that nothing is re-uploaded.
set -euo pipefail
: "${DEVUPDATE:?}" "${DEMO_DIR:?}"
shopt -s nullglob
cabs=("$DEMO_DIR"/cabs/*.cab)
if [ ${#cabs[@]} -eq 0 ]; then
	echo "no cabinets in $DEMO_DIR/cabs (the build step has not run): skipping publish"
	exit 0
fi
store="$DEMO_DIR/store"
echo "\$ devupdate publish ${#cabs[@]} cabinet(s) --store $store --output json"
"$DEVUPDATE" publish "${cabs[@]}" --store "$store" --cdn-base http://127.0.0.1:8080 --output json
echo "\$ devupdate publish (again: same content, nothing uploaded)"
"$DEVUPDATE" publish "${cabs[@]}" --store "$store" --cdn-base http://127.0.0.1:8080 --output json
