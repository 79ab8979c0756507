#!/usr/bin/env bash
# Demo step 30: sign every cabinet of step 20 in place with a TEST-ONLY
# EV-style dev PKI, then verify them requiring EV.
set -euo pipefail
: "${DEVUPDATE:?}" "${DEMO_DIR:?}"
"$DEVUPDATE" keys dev-pki "$DEMO_DIR/pki"
shopt -s nullglob
cabs=("$DEMO_DIR"/cabs/*.cab)
if [ ${#cabs[@]} -eq 0 ]; then
	# Step 20 makes the example cabinets; without it, build the example driver.
	echo "30-sign: no cabinets in $DEMO_DIR/cabs; building the example driver update"
	"$DEVUPDATE" build "$(dirname "$0")/../../examples/contoso-toaster/updates/driver/update.yaml" -o "$DEMO_DIR/cabs"
	cabs=("$DEMO_DIR"/cabs/*.cab)
fi
"$DEVUPDATE" sign "${cabs[@]}" --key "file:$DEMO_DIR/pki/leaf.key" --cert "$DEMO_DIR/pki/chain.pem" --roots "$DEMO_DIR/pki/root.pem"
"$DEVUPDATE" verify "${cabs[@]}" --roots "$DEMO_DIR/pki/root.pem" --require-ev
