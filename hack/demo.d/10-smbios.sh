#!/usr/bin/env bash
# Demo step 10: SMBIOS targeting. Validates the example product, shows the
# hardware IDs a Toaster 3000 computes from its SMBIOS fields (the targeting
# CHID, HardwareID-3, is among them), and reads a real DMI dump of a golden
# device and checks it against its registered product.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${DEVUPDATE:?run through make demo}" "${DEMO_DIR:?run through make demo}"

echo "--- devupdate product validate examples/contoso-toaster/product.yaml"
"$DEVUPDATE" product validate examples/contoso-toaster/product.yaml

echo
echo "--- devupdate smbios show --fields examples/contoso-toaster/fields.yaml"
"$DEVUPDATE" smbios show --fields examples/contoso-toaster/fields.yaml

echo
echo "--- devupdate smbios show --dmi examples/golden-device/thinkpad-t490.bin --output json (first lines)"
"$DEVUPDATE" smbios show --dmi examples/golden-device/thinkpad-t490.bin --output json >"$DEMO_DIR/thinkpad-t490.smbios.json"
head -n 16 "$DEMO_DIR/thinkpad-t490.smbios.json"

echo
echo "--- devupdate product validate examples/golden-device/product.yaml --dmi examples/golden-device/thinkpad-t490.bin"
"$DEVUPDATE" product validate examples/golden-device/product.yaml --dmi examples/golden-device/thinkpad-t490.bin

echo
echo "--- a product with factory placeholders is refused (exit status 1 expected)"
cat >"$DEMO_DIR/placeholder.yaml" <<'YAML'
name: no-name-box
smbios:
  manufacturer: To be filled by O.E.M.
  family: Default string
  product_name: System Product Name
  sku: Default string
  baseboard_product: Base Board Product Name
YAML
status=0
"$DEVUPDATE" product validate "$DEMO_DIR/placeholder.yaml" || status=$?
if [ "$status" -ne 1 ]; then
	echo "expected exit status 1, got $status" >&2
	exit 1
fi
