#!/usr/bin/env bash
# Demo step 10: the product. The example Toaster 3000 passes the Device
# Update Center rules and is targeted by its HardwareID-3; its golden
# device's SMBIOS dump carries the same values; a product of factory
# placeholders is refused.
source "$(dirname "$0")/lib.sh"
product=$repo/examples/contoso-toaster/product.yaml
golden=$repo/examples/contoso-toaster/golden-device.bin

run product-validate "$DEVUPDATE" product validate "$product" --dmi "$golden" --output json
chid=$(sed -n 's/.*"guid": "\([^"]*\)".*/\1/p' "$out" | head -n 1)
[ -n "$chid" ] || fail "product validate reports no targeting CHID: $(cat "$out")"
run smbios-show "$DEVUPDATE" smbios show --dmi "$golden"
grep -q "{$chid}" "$out" || fail "the golden device does not compute the product's CHID $chid"
say "product: the Toaster 3000 meets the Device Update Center rules, targeted by $chid; the golden device computes it"

cat >"$DEMO_DIR/placeholder.yaml" <<'YAML'
name: no-name-box
smbios:
  manufacturer: To be filled by O.E.M.
  family: Default string
  product_name: System Product Name
  sku: Default string
  baseboard_product: Base Board Product Name
YAML
refused product-placeholder invalid_input "$DEVUPDATE" product validate "$DEMO_DIR/placeholder.yaml"
say "product: one of factory placeholders is refused ($(count '"rule"' "$out") problems): an update aimed at it would reach other makers' machines"
