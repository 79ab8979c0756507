# Sourced by the demo steps (hack/demo.d/[0-9]*.sh, run in order by
# `make demo`): each step prints one line per thing that happened, keeps
# every command's full output under $DEMO_DIR/logs, and stops the demo
# with a non-zero status the moment an outcome is not what the story says.
set -euo pipefail
: "${DEVUPDATE:?run through make demo}" "${DEVUPDATE_AGENT:?run through make demo}" "${DEMO_DIR:?run through make demo}"
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1793491200} # 2026-11-01T00:00:00Z: reproducible cabinets
export DEVUPDATE_ACTOR=release-engineer@demo
logs=$DEMO_DIR/logs
mkdir -p "$logs"

# say prints what happened.
say() { printf '  %s\n' "$*"; }

# fail stops the demo: the story did not happen.
fail() {
	printf 'demo: FAILED: %s\n' "$*" >&2
	exit 1
}

# run NAME CMD...: runs CMD with its stdout in $logs/NAME.out (the path is
# left in $out) and its stderr in $logs/NAME.err; fails the demo, showing
# them, when CMD fails.
run() {
	local name=$1
	shift
	out=$logs/$name.out
	local status=0
	"$@" >"$out" 2>"$logs/$name.err" || status=$?
	if [ "$status" -ne 0 ]; then
		cat "$out" "$logs/$name.err" >&2
		fail "$name: $* exited with status $status"
	fi
}

# refused NAME CODE CMD...: CMD must exit 1 with the error code CODE in
# its JSON report (CMD is given --output json).
refused() {
	local name=$1 code=$2 status=0
	shift 2
	out=$logs/$name.out
	"$@" --output json >"$out" 2>"$logs/$name.err" || status=$?
	[ "$status" -eq 1 ] || fail "$name: $* exited with status $status, want 1"
	grep -q "\"code\": \"$code\"" "$out" || fail "$name: refused without the code $code: $(cat "$out")"
}

# count PATTERN FILE: how many lines of FILE match PATTERN (0 when none).
count() { grep -c -- "$1" "$2" || true; }
