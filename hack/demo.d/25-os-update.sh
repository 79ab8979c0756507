#!/usr/bin/env bash
# Demo step 25: an OS update. A TEST-ONLY "OS vendor" (its own, non-EV
# dev PKI: OS vendors sign with their own certificates) packs and signs its
# package; the OEM builds an os update carrying it, which step 30 signs
# only after the vendor's package verifies against the vendor's roots.
source "$(dirname "$0")/lib.sh"
vendor=$DEMO_DIR/os-vendor-pki
update=$DEMO_DIR/os-update
src=$DEMO_DIR/os-vendor-src

run os-vendor-pki "$DEVUPDATE" keys dev-pki "$vendor" --common-name "TEST-ONLY Demo OS Vendor Code Signing" --non-ev
mkdir -p "$src" "$update/payload"
printf '<?xml version="1.0" encoding="utf-8"?>\r\n<assembly name="Demo-OS-Package" version="10.0.17763.615"/>\r\n' >"$src/update.mum"
for i in $(seq 1 200); do printf 'demo OS component %d\n' "$i"; done >"$src/component.txt"
run os-vendor-cab "$DEVUPDATE" cab create "$update/payload/Demo-OS-Package.cab" "$src"
run os-vendor-sign "$DEVUPDATE" sign "$update/payload/Demo-OS-Package.cab" --key "file:$vendor/leaf.key" --cert "$vendor/chain.pem" \
	--roots "$vendor/root.pem" --insecure-allow-non-ev
say "os update: the OS vendor signs Demo-OS-Package.cab with its own key"

cp "$repo/examples/contoso-toaster/product.yaml" "$update/product.yaml"
cat >"$update/update.yaml" <<'YAML'
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
YAML
run os-build "$DEVUPDATE" build "$update/update.yaml" -o "$DEMO_DIR/cabs"
say "os update: the OEM builds Contoso.Toaster.OS_10.0.17763.615.cab carrying the vendor's package"
