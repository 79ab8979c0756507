#!/usr/bin/env bash
# Bench step 30: Authenticode-sign a large cabinet with devupdate and with
# osslsigncode in the same run, next to one Go SHA-256 pass over the same
# file (signing must hash the file once; that pass is the physical limit).
# Prints time, MB/s and peak RSS of each and the ratios to the SHA-256 pass.
# Goal: devupdate within 1.3x of the SHA-256 pass and under 64 MB peak RSS.
#
# Cabinets: the packager corpus of step 20 ($BENCH_DIR/corpus.cab) if there
# is one, else a ~300 MB one made with our packager (both carry the
# signature reserve, so signing in place only fills it and appends); and a
# ~300 MB gcab cabinet without reserve (osslsigncode 2.9 cannot sign a
# cabinet with an empty reserve, so this is where the two are compared).
set -euo pipefail
: "${DEVUPDATE:?}" "${BENCH_DIR:?}"
cd "$(dirname "$0")/../.."
work="$BENCH_DIR/sign"
rm -rf "$work" && mkdir -p "$work"
tool="$work/benchtool"
go build -o "$tool" ./hack/benchtool
"$DEVUPDATE" keys dev-pki "$work/pki" >/dev/null
sign=(--key "file:$work/pki/leaf.key" --cert "$work/pki/chain.pem" --roots "$work/pki/root.pem")

gcab_cab="$BENCH_DIR/sign-corpus-gcab.cab"
ours_cab="$BENCH_DIR/corpus.cab"
[ -f "$ours_cab" ] || ours_cab="$BENCH_DIR/sign-corpus-packager.cab"
if [ ! -f "$gcab_cab" ] || [ ! -f "$ours_cab" ]; then
	src="$work/src" && mkdir -p "$src"
	head -c 280000000 /dev/urandom >"$src/random.bin"
	yes "devupdate driver payload line, compressible text" | head -c 100000000 >"$src/text.bin" || true
	[ -f "$gcab_cab" ] || (cd "$src" && gcab -c -z "$gcab_cab" random.bin text.bin)
	[ -f "$ours_cab" ] || "$tool" mkcab "$ours_cab" "$src/random.bin" "$src/text.bin"
	rm -rf "$src"
fi

field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
ratio() { awk -v a="$(echo "$1" | field seconds)" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

bench() { # FILE LABEL
	local cab=$1 label=$2 mb sha base ours inplace ossl
	mb=$(awk -v s="$(stat -c %s "$cab")" 'BEGIN { printf "%.0f", s / 1e6 }')
	echo "-- $label: $cab ($mb MB)"
	cp "$cab" "$work/inplace.cab"
	sync
	cat "$cab" "$work/inplace.cab" >/dev/null # page cache warm for every contender alike
	sha=$("$tool" sha256 "$cab")
	base=$(echo "$sha" | field seconds)
	ours=$("$tool" run "$cab" -- "$DEVUPDATE" sign "$cab" -o "$work/ours.cab" "${sign[@]}")
	inplace=$("$tool" run "$cab" -- "$DEVUPDATE" sign "$work/inplace.cab" "${sign[@]}")
	"$DEVUPDATE" verify "$work/ours.cab" "$work/inplace.cab" --roots "$work/pki/root.pem" >/dev/null
	if ossl=$("$tool" run "$cab" -- osslsigncode sign -certs "$work/pki/chain.pem" -key "$work/pki/leaf.key" \
		-h sha256 -in "$cab" -out "$work/ossl.cab" 2>"$work/ossl.err"); then
		ossl="$ossl ratio_to_sha256=$(ratio "$ossl" "$base")"
	else
		ossl="failed: $(grep -m1 -i 'error or unsupported\|failed' "$work/ossl.err" || tail -1 "$work/ossl.err")"
	fi
	rm -f "$work/ours.cab" "$work/inplace.cab" "$work/ossl.cab"
	printf '%-26s %s\n' "Go SHA-256 pass" "$sha"
	printf '%-26s %s ratio_to_sha256=%s\n' "devupdate sign -o OUT" "$ours" "$(ratio "$ours" "$base")"
	printf '%-26s %s ratio_to_sha256=%s\n' "devupdate sign (in place)" "$inplace" "$(ratio "$inplace" "$base")"
	printf '%-26s %s\n' "osslsigncode sign" "$ossl"
}

bench "$ours_cab" "packager cabinet (reserve)"
bench "$gcab_cab" "gcab cabinet (no reserve)"
echo "goal: devupdate sign ratio_to_sha256 <= 1.3 and peak_rss_mb < 64"
