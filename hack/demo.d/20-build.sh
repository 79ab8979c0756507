#!/usr/bin/env bash
# Demo step 20: the updates. Every example update of the Toaster 3000 (OEM
# settings, a driver, an app) is checked and built into
# $DEMO_DIR/cabs/<name>_<version>.cab with its update.json embedded;
# SOURCE_DATE_EPOCH makes the cabinets the same bytes on every machine, so
# building again leaves them as they are. A driver whose .inf names a file
# missing from its payload is refused.
source "$(dirname "$0")/lib.sh"
updates=$repo/examples/contoso-toaster/updates

run build "$DEVUPDATE" build "$updates"/*/update.yaml -o "$DEMO_DIR/cabs" --output json
[ "$(count '"state": "written"' "$out")" -eq 3 ] || fail "build wrote $(count '"state": "written"' "$out") cabinets, want 3"
say "build: $(cd "$DEMO_DIR/cabs" && echo *.cab)"
run build-again "$DEVUPDATE" build "$updates"/*/update.yaml -o "$DEMO_DIR/cabs" --output json
[ "$(count '"state": "unchanged"' "$out")" -eq 3 ] || fail "building again changed a cabinet: $(cat "$out")"
say "build: building again leaves the 3 identical cabinets as they are (reproducible)"

broken=$DEMO_DIR/broken-driver
mkdir -p "$broken/updates"
cp "$repo/examples/contoso-toaster/product.yaml" "$broken/"
cp -r "$updates/driver" "$broken/updates/"
rm "$broken/updates/driver/payload/toaster.sys"
refused build-broken invalid_input "$DEVUPDATE" build "$broken/updates/driver/update.yaml" -o "$DEMO_DIR/broken-cabs"
say "build: a driver whose .inf names a .sys missing from its payload is refused"
