#!/usr/bin/env bash
# Demo step 30: sign every cabinet of steps 20 and 25 in place with a
# TEST-ONLY EV-style dev PKI, then verify them requiring EV. The os update of
# step 25 is signed and verified with the OS vendor's roots too: its vendor
# package must verify against them, and comes out of the signed cabinet
# unchanged.
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
oem=(--key "file:$DEMO_DIR/pki/leaf.key" --cert "$DEMO_DIR/pki/chain.pem" --roots "$DEMO_DIR/pki/root.pem")
vendor_roots=()
os_cab=$DEMO_DIR/cabs/Contoso.Toaster.OS_10.0.17763.615.cab
if [ -f "$os_cab" ]; then
	vendor_roots=(--os-vendor-roots "$DEMO_DIR/os-vendor-pki/root.pem")
	echo "--- an os update is not signed without the OS vendor's roots (exit status 1 expected)"
	if "$DEVUPDATE" sign "$os_cab" "${oem[@]}"; then
		echo "demo: the os update was signed without checking its vendor package" >&2
		exit 1
	fi
	echo
fi
echo "--- devupdate sign (OEM key)"
"$DEVUPDATE" sign "${cabs[@]}" "${oem[@]}" ${vendor_roots[@]+"${vendor_roots[@]}"}
echo
echo "--- devupdate verify "
"$DEVUPDATE" verify "${cabs[@]}" --roots "$DEMO_DIR/pki/root.pem" ${vendor_roots[@]+"${vendor_roots[@]}"}
if [ -f "$os_cab" ]; then
	echo
	echo "--- the vendor's package inside the signed os update is byte for byte the vendor's"
	"$DEVUPDATE" cab extract "$os_cab" -C "$DEMO_DIR/os-update-extracted"
	cmp "$DEMO_DIR/os-update-extracted/os/Demo-OS-Package.cab" "$DEMO_DIR/os-update/payload/Demo-OS-Package.cab"
	echo "os/Demo-OS-Package.cab: identical"
	if command -v osslsigncode >/dev/null; then
		echo "--- osslsigncode verify: the OEM's outer signature, and the vendor's inside"
		osslsigncode verify -in "$os_cab" -CAfile "$DEMO_DIR/pki/root.pem" | grep -E '^(Signature verification|Number of verified)'
		osslsigncode verify -in "$DEMO_DIR/os-update-extracted/os/Demo-OS-Package.cab" -CAfile "$DEMO_DIR/os-vendor-pki/root.pem" | grep -E '^(Signature verification|Number of verified)'
	fi
fi
