#!/usr/bin/env bash
# Builds every example update of the Contoso Toaster into $DEMO_DIR/cabs:
# checks each update.yaml (targets from ../../product.yaml, the driver's .inf
# and the files it names, the app's package), then writes
# <name>_<version>.cab with update.json embedded. SOURCE_DATE_EPOCH pins the
# file times, so the cabinets are the same bytes on every machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1793491200} # 2026-11-01T00:00:00Z

"$DEVUPDATE" manifest validate examples/contoso-toaster/updates/*/update.yaml
"$DEVUPDATE" build examples/contoso-toaster/updates/*/update.yaml -o "$DEMO_DIR/cabs"

# Building again is safe: identical cabinets are left as they are.
"$DEVUPDATE" build examples/contoso-toaster/updates/driver/update.yaml -o "$DEMO_DIR/cabs" --output json

# `devupdate cab` comes with the packager's CLI; list one cabinet when it is there.
if "$DEVUPDATE" --help | grep -qE '^[[:space:]]+cab[[:space:]]'; then
	"$DEVUPDATE" cab list "$DEMO_DIR/cabs/Contoso.Toaster.Driver_1.0.0.2.cab"
fi
