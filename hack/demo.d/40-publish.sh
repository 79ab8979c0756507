#!/usr/bin/env bash
# Demo step 40: publishing. Every signed cabinet is stored in the local
# store (the embedded default) as a content-addressed, immutable blob;
# publishing again uploads nothing.
source "$(dirname "$0")/lib.sh"
cabs=("$DEMO_DIR"/cabs/*.cab)
store=$DEMO_DIR/store
roots=(--roots "$DEMO_DIR/pki/root.pem" --os-vendor-roots "$DEMO_DIR/os-vendor-pki/root.pem")
run publish "$DEVUPDATE" publish "${cabs[@]}" --store "$store" "${roots[@]}" --output json
[ "$(count '"uploaded": true' "$out")" -eq ${#cabs[@]} ] || fail "publish uploaded $(count '"uploaded": true' "$out") of ${#cabs[@]}"
run publish-again "$DEVUPDATE" publish "${cabs[@]}" --store "$store" "${roots[@]}" --output json
[ "$(count '"uploaded": true' "$out")" -eq 0 ] || fail "publishing again uploaded $(count '"uploaded": true' "$out") cabinets"
say "publish: ${#cabs[@]} cabinets stored as immutable blobs/sha256/<hex> in \$DEMO_DIR/store; published again: nothing uploaded"
