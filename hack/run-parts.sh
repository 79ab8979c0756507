#!/usr/bin/env bash
# Runs the numbered step scripts of a directory in order (hack/demo.d,
# hack/bench.d), each with the environment the Makefile exports. Each area of
# the pipeline adds its own step file, so the demo and the benchmark grow as
# the pipeline grows.
set -euo pipefail
dir=$1
for step in "$dir"/[0-9]*.sh; do
	[ -e "$step" ] || continue
	echo "==> $(basename "$step" .sh)"
	bash "$step"
done
