#!/usr/bin/env bash
# Demo step 25: an OS update, end to end with step 30. A TEST-ONLY "OS
# vendor" (its own dev PKI) packs and signs its package; the OEM builds an
# os-kind update carrying that signed package into $DEMO_DIR/cabs. Step 30
# signs the outer cabinet with the OEM's key only after the vendor's package
# verifies against the vendor's roots, and never changes that package.
set -euo pipefail
: "${DEVUPDATE:?}" "${DEMO_DIR:?}"
repo=$(cd "$(dirname "$0")/../.." && pwd)
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1793491200} # 2026-11-01T00:00:00Z
vendor=$DEMO_DIR/os-vendor-pki
update=$DEMO_DIR/os-update

echo "--- the OS vendor's TEST-ONLY PKI (not EV: OS vendors sign with their own, non-EV certificates)"
"$DEVUPDATE" keys dev-pki "$vendor" --common-name "TEST-ONLY Demo OS Vendor Code Signing" --non-ev

echo
echo "--- the OS vendor packs its package and signs it with its own key"
src=$DEMO_DIR/os-vendor-src
mkdir -p "$src" "$update/payload"
printf '<?xml version="1.0" encoding="utf-8"?>\r\n<assembly name="Demo-OS-Package" version="10.0.17763.615"/>\r\n' >"$src/update.mum"
for i in $(seq 1 200); do printf 'demo OS component %d\n' "$i"; done >"$src/component.txt"
"$DEVUPDATE" cab create "$update/payload/Demo-OS-Package.cab" "$src"
"$DEVUPDATE" sign "$update/payload/Demo-OS-Package.cab" --key "file:$vendor/leaf.key" --cert "$vendor/chain.pem" --roots "$vendor/root.pem" --insecure-allow-non-ev

echo
echo "--- the OEM builds an os update carrying the vendor's signed package"
cp "$repo/examples/contoso-toaster/product.yaml" "$update/product.yaml"
cat >"$update/update.yaml" <<'EOF'
# An OS update: the vendor's signed package, targeted at the Contoso Toaster.
name: Contoso.Toaster.OS
kind: os
version: 10.0.17763.615
os_build: 10.0.17763.615
description: Demo OS update (TEST-ONLY vendor package).
products: [product.yaml]
files:
  - source: payload/**
    dest: os/
EOF
"$DEVUPDATE" build "$update/update.yaml" -o "$DEMO_DIR/cabs"
