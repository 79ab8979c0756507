#!/usr/bin/env bash
# Bench step 30: Authenticode-sign a large cabinet with devupdate and with
# osslsigncode in the same run, next to one Go SHA-256 pass over the same
# file (signing must hash the file once; that pass is the physical limit).
# Prints time, MB/s and peak RSS of each and the ratios to the SHA-256 pass.
# Goal: devupdate within 1.3x of the SHA-256 pass and under 64 MB peak RSS.
set -euo pipefail
: "${DEVUPDATE:?}" "${BENCH_DIR:?}"
cd "$(dirname "$0")/../.."
work="$BENCH_DIR/sign"
rm -rf "$work" && mkdir -p "$work"
tool="$work/benchtool"
go build -o "$tool" ./hack/benchtool
"$DEVUPDATE" keys dev-pki "$work/pki" >/dev/null

# A ~300 MB gcab cabinet (no reserve: osslsigncode 2.9 cannot sign a cabinet
# that carries an empty signature reserve), made once and kept.
gcab_cab="$BENCH_DIR/sign-corpus-gcab.cab"
if [ ! -f "$gcab_cab" ]; then
	src="$work/src" && mkdir -p "$src"
	head -c 150000000 /dev/urandom >"$src/random.bin"
	yes "devupdate driver payload line, compressible text" | head -c 150000000 >"$src/text.bin" || true
	(cd "$src" && gcab -c -z "$gcab_cab" random.bin text.bin)
	rm -rf "$src"
fi

field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }

bench() { # FILE LABEL
	local cab=$1 label=$2
	local mb
	mb=$(awk -v s="$(stat -c %s "$cab")" 'BEGIN { printf "%.0f", s / 1e6 }')
	echo "-- $label: $cab ($mb MB)"
	cat "$cab" >/dev/null # page cache warm for every contender alike
	local sha ours ossl
	sha=$("$tool" sha256 "$cab")
	ours=$("$tool" run "$cab" -- "$DEVUPDATE" sign "$cab" -o "$work/ours.cab" \
		--key "file:$work/pki/leaf.key" --cert "$work/pki/chain.pem" --roots "$work/pki/root.pem")
	"$DEVUPDATE" verify "$work/ours.cab" --roots "$work/pki/root.pem" --require-ev >/dev/null
	if ossl=$("$tool" run "$cab" -- osslsigncode sign -certs "$work/pki/chain.pem" -key "$work/pki/leaf.key" \
		-h sha256 -in "$cab" -out "$work/ossl.cab" 2>"$work/ossl.err"); then :; else
		ossl="failed: $(tail -1 "$work/ossl.err")"
	fi
	rm -f "$work/ours.cab" "$work/ossl.cab"
	local base
	base=$(echo "$sha" | field seconds)
	printf '%-22s %s\n' "Go SHA-256 pass" "$sha"
	printf '%-22s %s ratio_to_sha256=%s\n' "devupdate sign" "$ours" "$(awk -v a="$(echo "$ours" | field seconds)" -v b="$base" 'BEGIN { printf "%.2f", a / b }')"
	case $ossl in
	failed*) printf '%-22s %s\n' "osslsigncode sign" "$ossl" ;;
	*) printf '%-22s %s ratio_to_sha256=%s\n' "osslsigncode sign" "$ossl" "$(awk -v a="$(echo "$ossl" | field seconds)" -v b="$base" 'BEGIN { printf "%.2f", a / b }')" ;;
	esac
}

if [ -f "$BENCH_DIR/corpus.cab" ]; then
	bench "$BENCH_DIR/corpus.cab" "packager corpus (step 20)"
fi
bench "$gcab_cab" "gcab cabinet"
echo "goal: devupdate sign ratio_to_sha256 <= 1.3 and peak_rss_mb < 64"
