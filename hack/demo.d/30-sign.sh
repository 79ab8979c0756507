#!/usr/bin/env bash
# Demo step 30: signing. The OEM's TEST-ONLY EV-style chain signs every
# cabinet of steps 20 and 25 in place; the os update only once its vendor
# package verifies against the OS vendor's roots, and that package comes
# out of the signed cabinet unchanged. Then every cabinet verifies with EV
# required (and by osslsigncode, when installed).
source "$(dirname "$0")/lib.sh"
pki=$DEMO_DIR/pki
cabs=("$DEMO_DIR"/cabs/*.cab)
os_cab=$DEMO_DIR/cabs/Contoso.Toaster.OS_10.0.17763.615.cab
vendor_roots=(--os-vendor-roots "$DEMO_DIR/os-vendor-pki/root.pem")
run oem-pki "$DEVUPDATE" keys dev-pki "$pki" --common-name "Contoso Ltd TEST-ONLY EV Code Signing"
oem=(--key "file:$pki/leaf.key" --cert "$pki/chain.pem" --roots "$pki/root.pem")

refused sign-os-no-vendor-roots no_os_vendor_roots "$DEVUPDATE" sign "$os_cab" "${oem[@]}"
say "sign: the os update is not signed without the OS vendor's roots to check its package"
run sign "$DEVUPDATE" sign "${cabs[@]}" "${oem[@]}" "${vendor_roots[@]}"
# verify exits 0 only when every cabinet is valid.
run verify "$DEVUPDATE" verify "${cabs[@]}" --roots "$pki/root.pem" "${vendor_roots[@]}"
checked=""
if command -v osslsigncode >/dev/null; then
	for cab in "${cabs[@]}"; do
		run osslsigncode osslsigncode verify -in "$cab" -CAfile "$pki/root.pem"
	done
	checked="; osslsigncode agrees"
fi
say "sign: ${#cabs[@]} cabinets signed with the OEM's TEST-ONLY EV key; verify (EV required): all valid$checked"

run os-extract "$DEVUPDATE" cab extract "$os_cab" -C "$DEMO_DIR/os-update-extracted"
cmp -s "$DEMO_DIR/os-update-extracted/os/Demo-OS-Package.cab" "$DEMO_DIR/os-update/payload/Demo-OS-Package.cab" ||
	fail "the vendor's package inside the signed os update was changed"
say "sign: the vendor's package inside the signed os update is byte for byte the vendor's"
