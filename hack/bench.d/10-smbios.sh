#!/usr/bin/env bash
# Bench step 10: decoding a real DMI dump, devupdate against Debian's
# dmidecode, process start included for both (that is how each is used).
# Prints the wall time of N runs of each and the ratio.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${DEVUPDATE:?run through make bench}" "${BENCH_DIR:?run through make bench}"
dump=examples/golden-device/thinkpad-t490.bin
n=${SMBIOS_BENCH_RUNS:-200}
command -v dmidecode >/dev/null || PATH=$PATH:/usr/sbin
command -v dmidecode >/dev/null || { echo "dmidecode missing: run make deps" >&2; exit 1; }

run() { # run N times, print elapsed nanoseconds
	local start end
	start=$(date +%s%N)
	for ((i = 0; i < n; i++)); do "$@" >/dev/null; done
	end=$(date +%s%N)
	echo $((end - start))
}
ours=$(run "$DEVUPDATE" smbios show --dmi "$dump" --output json)
theirs=$(run dmidecode --from-dump "$dump" -t 0,1,2,3)
printf 'smbios decode (%d runs of %s):\n' "$n" "$dump"
awk -v o="$ours" -v t="$theirs" -v n="$n" 'BEGIN {
	printf "  devupdate smbios show --dmi -O json : %6.2f ms/run (decode + 15 CHIDs + JSON)\n", o / n / 1e6
	printf "  dmidecode --from-dump -t 0,1,2,3    : %6.2f ms/run (decode + text)\n", t / n / 1e6
	printf "  ratio devupdate/dmidecode           : %6.2f\n", o / t
}'
