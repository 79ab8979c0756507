#!/usr/bin/env bash
# Bench step 35: os updates at real size. A TEST-ONLY, non-EV "OS vendor"
# PKI signs packages of 1 MiB each (incompressible), as in
# hack/demo.d/25-os-update.sh; os updates carrying 10, 100 and 500 of them
# (one folder) are built with `devupdate build`, signed with `devupdate
# sign` (the vendor packages verified first) and verified with `devupdate
# verify`. Each time is printed with its ratio to one Go SHA-256 pass over
# the same cabinet (in process, page cache warm), and peak RSS.
#
# Goals for sign and verify: at most 2.5x one SHA-256 pass, and flat (the
# ratio at the most packages within 1.25x of the ratio at the fewest).
# Build is bounded by compression and only reported.
#
# Env: OSUPDATE_PACKAGES (default "10 100 500"), OSUPDATE_REPEAT (best of,
# default 3). DEVUPDATE may be any build of devupdate, to compare before and
# after a change on the same machine in the same conditions.
set -euo pipefail
: "${DEVUPDATE:?}" "${BENCH_DIR:?}"
cd "$(dirname "$0")/../.."
counts=${OSUPDATE_PACKAGES:-10 100 500}
repeat=${OSUPDATE_REPEAT:-3}
work=$BENCH_DIR/osupdate
mkdir -p "$work"
tool=$work/benchtool
scratch=$work/scratch
go build -o "$tool" ./hack/benchtool
export SOURCE_DATE_EPOCH=1793491200

most=0
for n in $counts; do ((n > most)) && most=$n; done

# The vendor's signed packages, made once and kept between runs.
pkgs=$work/packages
if [ ! -f "$pkgs/.count" ] || (($(cat "$pkgs/.count") < most)); then
	rm -rf "$pkgs" "$work/vendor-pki" "$work/oem-pki"
	mkdir -p "$pkgs"
	"$DEVUPDATE" keys dev-pki "$work/vendor-pki" --common-name "TEST-ONLY Bench OS Vendor Code Signing" --non-ev >/dev/null
	"$DEVUPDATE" keys dev-pki "$work/oem-pki" >/dev/null
	for i in $(seq -w 1 "$most"); do
		src=$work/src/$i && mkdir -p "$src"
		printf '<assembly name="Bench-OS-Package-%s"/>\r\n' "$i" >"$src/update.mum"
		head -c 1048576 /dev/urandom >"$src/payload.bin"
		"$DEVUPDATE" cab create "$pkgs/Bench-OS-Package-$i.cab" "$src" >/dev/null
	done
	rm -rf "$work/src"
	"$DEVUPDATE" sign "$pkgs"/*.cab --key "file:$work/vendor-pki/leaf.key" --cert "$work/vendor-pki/chain.pem" \
		--roots "$work/vendor-pki/root.pem" --insecure-allow-non-ev >/dev/null
	echo "$most" >"$pkgs/.count"
fi
oem=(--roots "$work/oem-pki/root.pem" --os-vendor-roots "$work/vendor-pki/root.pem")
key=(--key "file:$work/oem-pki/leaf.key" --cert "$work/oem-pki/chain.pem")

field() { sed -n "s/\(^\|.* \)$1=\([0-9.]*\).*/\2/p"; }

# quiet waits (at most ten seconds) until the CPUs are idle for half a
# second: the machine may be shared, and a run that loses a core to
# someone else measures them, not us.
quiet() {
	local a b
	for _ in $(seq 20); do
		a=$(head -1 /proc/stat)
		sleep 0.5
		b=$(head -1 /proc/stat)
		printf '%s\n%s\n' "$a" "$b" | awk '{ t = 0; for (f = 2; f <= NF; f++) t += $f; idle[NR] = $5 + $6; total[NR] = t }
			END { exit !(total[2] > total[1] && (idle[2] - idle[1]) / (total[2] - total[1]) >= 0.9) }' && return 0
	done
	return 0 # busy all along: measure anyway (the load is printed)
}

# best LABEL FILE PREPARE -- CMD...: runs PREPARE (untimed), then CMD,
# $repeat times (the page cache warm, the CPUs quiet); prints the fastest
# run and its ratio to $base.
best() {
	local label=$1 file=$2 prepare=$3 out line s bs=
	shift 4
	for _ in $(seq "$repeat"); do
		rm -rf "$scratch" && mkdir -p "$scratch"
		$prepare
		quiet
		line=$("$tool" run "$file" -- "$@")
		s=$(echo "$line" | field seconds)
		if [ -z "$bs" ] || awk -v a="$s" -v b="$bs" 'BEGIN { exit !(a < b) }'; then bs=$s out=$line; fi
	done
	printf '  %-8s %s ratio_to_sha256=%s\n' "$label" "$out" "$(awk -v a="$bs" -v b="$base" 'BEGIN { printf "%.2f", a / b }')"
	ratios[$label]=$(awk -v a="$bs" -v b="$base" 'BEGIN { printf "%.3f", a / b }')
}

declare -A ratios first last worst
echo "devupdate: $DEVUPDATE ($("$DEVUPDATE" version 2>/dev/null | head -1)); $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
# The fixed cost of a devupdate process, which weighs on the smallest
# update's ratio: the fastest of $repeat runs of `devupdate version`.
start=$(for _ in $(seq "$repeat"); do quiet; "$tool" run "$DEVUPDATE" -- "$DEVUPDATE" version | field seconds; done | sort -n | head -1)
echo "process start (devupdate version): ${start} s"
for n in $counts; do
	upd=$work/update-$n
	rm -rf "$upd" && mkdir -p "$upd/payload" "$upd/out"
	cp examples/contoso-toaster/product.yaml "$upd/"
	all=("$pkgs"/*.cab)
	ln "${all[@]:0:n}" "$upd/payload/"
	cat >"$upd/update.yaml" <<EOF
name: Contoso.Toaster.OS
kind: os
version: 10.0.17763.$n
os_build: 10.0.17763.$n
products: [product.yaml]
files:
  - source: payload/**
    dest: os/
EOF
	cab=$upd/out/Contoso.Toaster.OS_10.0.17763.$n.cab
	"$DEVUPDATE" build --signature-reserve "$upd/update.yaml" -o "$upd/out" >/dev/null
	sync
	cat "$cab" >/dev/null
	quiet
	line=$("$tool" sha256 "$cab")
	for _ in $(seq 2 "$repeat"); do
		quiet
		l=$("$tool" sha256 "$cab")
		awk -v a="$(echo "$l" | field seconds)" -v b="$(echo "$line" | field seconds)" 'BEGIN { exit !(a < b) }' && line=$l
	done
	base=$(echo "$line" | field seconds)
	echo "-- $n vendor packages of 1 MiB: cabinet $(awk -v s="$(stat -c %s "$cab")" 'BEGIN { printf "%.1f", s / 1e6 }') MB (load $(cut -d' ' -f1 /proc/loadavg))"
	printf '  %-8s %s\n' "sha256" "$line"
	best build "$cab" : -- "$DEVUPDATE" build --signature-reserve "$upd/update.yaml" -o "$scratch"
	# Signed in place: the cabinet is built with --signature-reserve, so the
	# reserve is filled and the signature appended and what is measured is
	# the reading (the default cabinet, with no reserve, is copied once more
	# to insert it: hack/bench.d/30-sign.sh measures that copy). The copy is
	# synced first, as build leaves its cabinet: sign's own sync then
	# writes the signature, not the copy.
	unsigned() { cp "$cab" "$scratch/signed.cab" && sync "$scratch/signed.cab" && cat "$scratch/signed.cab" >/dev/null; }
	best sign "$cab" unsigned -- "$DEVUPDATE" sign "$scratch/signed.cab" "${key[@]}" "${oem[@]}"
	signed=$work/signed-$n.cab
	cp "$cab" "$signed"
	"$DEVUPDATE" sign "$signed" "${key[@]}" "${oem[@]}" >/dev/null
	best verify "$cab" : -- "$DEVUPDATE" verify "$signed" "${oem[@]}"
	rm -f "$signed"
	for op in sign verify; do
		[ -n "${first[$op]:-}" ] || first[$op]=${ratios[$op]}
		last[$op]=${ratios[$op]}
		worst[$op]=$(awk -v a="${worst[$op]:-0}" -v b="${ratios[$op]}" 'BEGIN { print (a > b ? a : b) }')
	done
done
rm -rf "$scratch"
for op in sign verify; do
	awk -v op="$op" -v f="${first[$op]}" -v l="${last[$op]}" -v w="${worst[$op]}" 'BEGIN {
		printf "%s: ratio to one SHA-256 pass %.2f (fewest packages) .. %.2f (most): most/fewest %.2f (goal <= 1.25), worst %.2f (goal <= 2.5)\n", op, f, l, l / f, w
	}'
done
