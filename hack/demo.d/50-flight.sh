#!/usr/bin/env bash
# Demo step 50: flighting. Initialises the rings with TEST-ONLY development
# keys (soak times zero for the demo), adds the signed example updates to
# Preview, promotes them to EarlyAdopter and GeneralAvailability with a
# staged rollout (50 %, then 100 %), pauses and resumes one, halts one, then
# shows status and the audit trail. A real go-tuf client reads the result in
# the tests (flight, cmd/devupdate).
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${DEVUPDATE:?}" "${DEMO_DIR:?}"
shopt -s nullglob
cabs=("$DEMO_DIR"/cabs/*.cab)
if [ ${#cabs[@]} -eq 0 ] || [ ! -f "$DEMO_DIR/pki/root.pem" ]; then
	echo "50-flight: no signed cabinets (steps 20 and 30 make them)" >&2
	exit 1
fi
store=$DEMO_DIR/store
export DEVUPDATE_ACTOR="release-engineer@demo"
flight() { echo "\$ devupdate flight $*"; "$DEVUPDATE" flight "$@" --store "$store"; }

echo "--- rings with TEST-ONLY development keys; device roots in \$DEMO_DIR/device-roots"
flight init examples/contoso-toaster/product.yaml --dev-keys "$DEMO_DIR/flight-keys" --out "$DEMO_DIR/device-roots"
export DEVUPDATE_FLIGHT_KEYS=$DEMO_DIR/flight-keys/keys.json

echo
echo "--- add every example update to Preview"
flight add "${cabs[@]}" --ring Preview --roots "$DEMO_DIR/pki/root.pem" \
	--os-vendor-roots "$DEMO_DIR/os-vendor-pki/root.pem" --reason "nightly build"

names=()
for cab in "${cabs[@]}"; do
	base=$(basename "$cab" .cab)
	names+=("${base%_*} ${base##*_}")
done
echo
echo "--- promote to EarlyAdopter at 50 %, then GeneralAvailability at 50 % and on to 100 %"
for nv in "${names[@]}"; do
	read -r name version <<<"$nv"
	flight promote "$name" "$version" --to EarlyAdopter --rollout 50 --reason "Preview soak passed"
	flight promote "$name" "$version" --to GeneralAvailability --rollout 50 --reason "EarlyAdopter looks good"
	flight rollout "$name" "$version" --ring GeneralAvailability --percent 100 --reason "no regressions at 50 %"
done

read -r first_name first_version <<<"${names[0]}"
read -r last_name last_version <<<"${names[${#names[@]}-1]}"
echo
echo "--- pause and resume $first_name, halt $last_name"
flight pause "$first_name" "$first_version" --ring GeneralAvailability --reason "support tickets under review"
flight resume "$first_name" "$first_version" --ring GeneralAvailability --reason "tickets unrelated"
flight halt "$last_name" "$last_version" --ring GeneralAvailability --reason "bricks toasters on cold start"

echo
echo "--- a halted update takes no further change (exit status 1 expected)"
status=0
"$DEVUPDATE" flight rollout "$last_name" "$last_version" --ring GeneralAvailability --percent 10 --reason "retry" --store "$store" || status=$?
[ "$status" -eq 1 ] || { echo "expected exit status 1, got $status" >&2; exit 1; }

echo
flight status --ring GeneralAvailability
echo
flight history "$first_name"
echo
flight refresh
