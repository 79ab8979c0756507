#!/usr/bin/env bash
# Demo step 50: flighting to devices. The rings are initialised with
# TEST-ONLY development keys and served by `devupdate serve` on a free
# loopback port (stopped when the step ends). Two devices run the real
# devupdate-agent with the golden device's SMBIOS and a Linux test handler
# that records what it installed (examples/agent/test-handler.sh): one in
# Preview, one in GeneralAvailability. The updates enter Preview and the
# Preview device installs them; the GeneralAvailability device sees nothing
# until they are promoted to it at 50 %, then 100 %; a bad settings update
# is halted and rolled forward to a fixed version, which every device ends
# on. Each outcome is checked.
source "$(dirname "$0")/lib.sh"
store=$DEMO_DIR/store
pki=$DEMO_DIR/pki
roots=(--roots "$pki/root.pem" --os-vendor-roots "$DEMO_DIR/os-vendor-pki/root.pem")
subject="Contoso Ltd TEST-ONLY EV Code Signing"
settings=Contoso.Toaster.Settings
cabs=("$DEMO_DIR"/cabs/*.cab)
names=()
for cab in "${cabs[@]}"; do
	base=$(basename "$cab" .cab)
	names+=("${base%_*} ${base##*_}")
done

run flight-init "$DEVUPDATE" flight init "$repo/examples/contoso-toaster/product.yaml" --store "$store" \
	--dev-keys "$DEMO_DIR/flight-keys" --out "$DEMO_DIR/device-roots"
export DEVUPDATE_FLIGHT_KEYS=$DEMO_DIR/flight-keys/keys.json
say "flight: rings Preview, EarlyAdopter, GeneralAvailability with TEST-ONLY keys; each ring's root.json for device images in \$DEMO_DIR/device-roots"

"$DEVUPDATE" serve --store "$store" --addr 127.0.0.1:0 --output json >"$logs/serve.out" 2>"$logs/serve.err" &
serve_pid=$!
trap 'kill "$serve_pid" 2>/dev/null; wait "$serve_pid" 2>/dev/null || true' EXIT
url=""
for _ in $(seq 100); do
	url=$(sed -n 's/.*"url": "\([^"]*\)".*/\1/p' "$logs/serve.out")
	[ -z "$url" ] || break
	kill -0 "$serve_pid" 2>/dev/null || fail "devupdate serve exited: $(cat "$logs/serve.out" "$logs/serve.err")"
	sleep 0.1
done
[ -n "$url" ] || fail "devupdate serve did not start listening"
say "serve: devupdate serve --store \$DEMO_DIR/store on $url"

# device RING SMBIOS: a device of the ring (SMBIOS from the file SMBIOS, the
# test handler for every kind, its own state directory).
device() {
	local dir=$DEMO_DIR/devices/$1 h
	mkdir -p "$dir"
	h="{\"command\": [\"$repo/examples/agent/test-handler.sh\", \"$dir/installed.log\"]}"
	cat >"$dir/config.json" <<JSON
{
  "server": "$url/",
  "ring": "$1",
  "tuf_roots": "$DEMO_DIR/device-roots",
  "state_dir": "$dir/state",
  "smbios": "$2",
  "authenticode": {"roots": "$pki/root.pem", "subjects": ["$subject"],
                   "os_vendor_roots": "$DEMO_DIR/os-vendor-pki/root.pem"},
  "inventory": {"Windows.IoT.Core": "10.0.17763.615"},
  "handlers": {"ocp": $h, "driver": $h, "app": $h, "os": $h}
}
JSON
	: >"$dir/installed.log"
}
# agent RING COMMAND: devupdate-agent COMMAND on the device of RING.
agent() {
	local ring=$1
	shift
	run "agent-$ring-$1-$((++agent_runs))" "$DEVUPDATE_AGENT" "$@" --config "$DEMO_DIR/devices/$ring/config.json"
}
agent_runs=0
# installed RING: what the ring's device's handler installed, in order.
installed() { cut -d' ' -f2- "$DEMO_DIR/devices/$1/installed.log" | sed 's/^Contoso\.Toaster\.//' | paste -sd, | sed 's/,/, /g'; }
# The GeneralAvailability device reads the golden device's fields from a JSON
# fields file: the same model (the same CHIDs), but no system UUID, so the
# agent generates its id once and keeps it.
"$DEVUPDATE" smbios show --dmi "$repo/examples/contoso-toaster/golden-device.bin" --output json |
	sed -n '/^  "fields": {/,/^  }/p' | sed '1s/.*/{/; $s/.*/}/' >"$DEMO_DIR/ga-fields.json"
device Preview "$repo/examples/contoso-toaster/golden-device.bin"
device GeneralAvailability "$DEMO_DIR/ga-fields.json"
# device_id RING: the id of the ring's device and where it comes from.
device_id() { "$DEVUPDATE_AGENT" status --config "$DEMO_DIR/devices/$1/config.json" | sed -n 's/^\tid: //p'; }

run flight-add "$DEVUPDATE" flight add "${cabs[@]}" --ring Preview "${roots[@]}" --store "$store" --reason "nightly build"
say "flight: ${#cabs[@]} updates added to Preview"

agent Preview install
[ "$(wc -l <"$DEMO_DIR/devices/Preview/installed.log")" -eq ${#cabs[@]} ] || fail "the Preview device installed: $(installed Preview)"
grep -n Driver "$DEMO_DIR/devices/Preview/installed.log" | cut -d: -f1 | {
	read -r driver
	app=$(grep -n ' Contoso.Toaster.App ' "$DEMO_DIR/devices/Preview/installed.log" | cut -d: -f1)
	[ "$driver" -lt "$app" ] || fail "the app was installed before the driver it requires"
}
say "Preview device $(device_id Preview), the golden device's SMBIOS dump: installed $(installed Preview) (the app after the driver it requires)"
agent GeneralAvailability install
grep -q '^nothing to install' "$out" && [ ! -s "$DEMO_DIR/devices/GeneralAvailability/installed.log" ] ||
	fail "the GeneralAvailability device installed before any promotion: $(installed GeneralAvailability)"
say "GeneralAvailability device $(device_id GeneralAvailability), the same model from a fields file: nothing in its ring yet; installed nothing"

for nv in "${names[@]}"; do
	read -r name version <<<"$nv"
	run "promote-ea-$name" "$DEVUPDATE" flight promote "$name" "$version" --to EarlyAdopter --store "$store" --reason "Preview soak passed"
	run "promote-ga-$name" "$DEVUPDATE" flight promote "$name" "$version" --to GeneralAvailability --rollout 50 --store "$store" --reason "EarlyAdopter looks good"
done
agent GeneralAvailability scan
in=$(count '^  applies' "$out")
outside=$(count ': outside the rollout at 50 %$' "$out")
waiting=$(count ': needs .* or higher$' "$out")
[ $((in + outside + waiting)) -eq ${#cabs[@]} ] || fail "at 50 %, an update is not offered for another reason: $(cat "$out")"
say "flight: promoted to EarlyAdopter, then GeneralAvailability at 50 %: its device is inside the rollout of $in of the ${#cabs[@]} updates (a stable hash of device id, name and version), outside for $outside, $waiting waiting for a requirement"

run pause "$DEVUPDATE" flight pause "$settings" 1.0.0.1 --ring GeneralAvailability --store "$store" --reason "support tickets under review"
agent GeneralAvailability scan
grep -q "  no       $settings 1.0.0.1 (ocp): paused in this ring" "$out" || fail "the paused update is offered: $(cat "$out")"
run resume "$DEVUPDATE" flight resume "$settings" 1.0.0.1 --ring GeneralAvailability --store "$store" --reason "tickets unrelated"
say "flight: $settings paused in GeneralAvailability (its device is told: paused in this ring), then resumed"

for nv in "${names[@]}"; do
	read -r name version <<<"$nv"
	run "rollout-$name" "$DEVUPDATE" flight rollout "$name" "$version" --ring GeneralAvailability --percent 100 --store "$store" --reason "no regressions at 50 %"
done
agent GeneralAvailability install
[ "$(wc -l <"$DEMO_DIR/devices/GeneralAvailability/installed.log")" -eq ${#cabs[@]} ] || fail "at 100 %, the GeneralAvailability device installed: $(installed GeneralAvailability)"
say "flight: GeneralAvailability at 100 %: its device installed $(installed GeneralAvailability)"

# settings VERSION: the example settings update at VERSION, built and
# signed (flight add publishes it).
next_settings() {
	local v=$1 dir=$DEMO_DIR/settings-$1
	mkdir -p "$dir/updates"
	cp "$repo/examples/contoso-toaster/product.yaml" "$dir/"
	cp -r "$repo/examples/contoso-toaster/updates/settings" "$dir/updates/"
	sed -i "s/^version: .*/version: $v/" "$dir/updates/settings/update.yaml"
	echo "<!-- $v -->" >>"$dir/updates/settings/payload/toaster-settings.xml"
	run "build-$v" "$DEVUPDATE" build "$dir/updates/settings/update.yaml" -o "$dir"
	cab=$dir/$settings\_$v.cab
	run "sign-$v" "$DEVUPDATE" sign "$cab" --key "file:$pki/leaf.key" --cert "$pki/chain.pem" --roots "$pki/root.pem"
}
next_settings 1.0.0.2
run add-bad "$DEVUPDATE" flight add "$cab" --ring Preview "${roots[@]}" --store "$store" --reason "nightly build"
agent Preview install
tail -n 1 "$DEMO_DIR/devices/Preview/installed.log" | grep -q " $settings 1.0.0.2$" || fail "the Preview device did not install 1.0.0.2"
run halt "$DEVUPDATE" flight halt "$settings" 1.0.0.2 --ring Preview --store "$store" --reason "the crumb-tray reminder fires every cycle"
refused promote-halted halted "$DEVUPDATE" flight promote "$settings" 1.0.0.2 --to EarlyAdopter --store "$store" --reason "retry"
say "flight: $settings 1.0.0.2 reached Preview (its device installed it) and was halted there; promoting it is refused (halted)"

next_settings 1.0.0.3
run add-fix "$DEVUPDATE" flight add "$cab" --ring Preview "${roots[@]}" --store "$store" --reason "fixes the crumb-tray reminder"
run promote-fix-ea "$DEVUPDATE" flight promote "$settings" 1.0.0.3 --to EarlyAdopter --store "$store" --reason "fix verified in Preview"
run promote-fix-ga "$DEVUPDATE" flight promote "$settings" 1.0.0.3 --to GeneralAvailability --store "$store" --reason "fix verified in EarlyAdopter"
agent Preview install
agent GeneralAvailability install
for ring in Preview GeneralAvailability; do
	agent "$ring" status
	grep -q "^	$settings 1.0.0.3 (agent" "$out" || fail "the $ring device is not on $settings 1.0.0.3: $(cat "$out")"
done
grep -q " $settings 1.0.0.2$" "$DEMO_DIR/devices/GeneralAvailability/installed.log" && fail "the GeneralAvailability device installed the halted 1.0.0.2"
say "flight: rolled forward to $settings 1.0.0.3: the Preview device (from 1.0.0.2) and the GeneralAvailability device (from 1.0.0.1, never offered 1.0.0.2) end on it"

run status "$DEVUPDATE" flight status --store "$store" --output json
run history "$DEVUPDATE" flight history "$settings" --store "$store" --output json
changes=$(count '"action"' "$out")
run refresh "$DEVUPDATE" flight refresh --store "$store"
say "flight: status, history ($changes signed changes of $settings: who, when, why) and refresh (re-signs timestamps when due) in \$DEMO_DIR/logs"
