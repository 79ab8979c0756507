#!/usr/bin/env bash
# Builds every example update of the Contoso Toaster into $DEMO_DIR/cabs:
# checks each update.yaml (targets from ../../product.yaml, the driver's .inf
# and the files it names, the app's package), then writes
# <name>_<version>.cab with update.json embedded. SOURCE_DATE_EPOCH pins the
# file times, so the cabinets are the same bytes on every machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1793491200} # 2026-11-01T00:00:00Z
updates=examples/contoso-toaster/updates

echo "--- devupdate manifest validate $updates/*/update.yaml"
"$DEVUPDATE" manifest validate "$updates"/*/update.yaml

echo
echo "--- devupdate build $updates/*/update.yaml -o \$DEMO_DIR/cabs"
"$DEVUPDATE" build "$updates"/*/update.yaml -o "$DEMO_DIR/cabs"

echo
echo "--- building again is safe: an identical cabinet is left as it is"
"$DEVUPDATE" build "$updates/driver/update.yaml" -o "$DEMO_DIR/cabs" --output json

echo
echo "--- a driver whose .inf names a .sys missing from the payload is refused (exit status 1 expected)"
broken=$DEMO_DIR/broken-driver
mkdir -p "$broken/updates"
cp examples/contoso-toaster/product.yaml "$broken/"
cp -r "$updates/driver" "$broken/updates/"
rm "$broken/updates/driver/payload/toaster.sys"
if "$DEVUPDATE" build "$broken/updates/driver/update.yaml" -o "$DEMO_DIR/cabs"; then
	echo "demo: the broken driver was accepted" >&2
	exit 1
fi

# `devupdate cab` comes with the packager's CLI; list one cabinet when it is there.
if "$DEVUPDATE" --help | grep -qE '^[[:space:]]+cab[[:space:]]'; then
	echo
	echo "--- devupdate cab list \$DEMO_DIR/cabs/Contoso.Toaster.Driver_1.0.0.2.cab"
	"$DEVUPDATE" cab list "$DEMO_DIR/cabs/Contoso.Toaster.Driver_1.0.0.2.cab"
fi
