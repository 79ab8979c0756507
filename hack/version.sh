#!/usr/bin/env bash
# Prints the version `make build` stamps into the binaries: git describe of
# the checkout (a tag such as v1.2.0, v1.2.0-3-gabc1234 past it, the short
# commit where there is no tag, -dirty with local changes), or "devel" where
# there is no git checkout. Independent of -buildvcs.
set -uo pipefail
cd "$(dirname "$0")/.."
v=$(git describe --tags --always --dirty --match 'v[0-9]*' 2>/dev/null) || v=""
case "$v" in
"") echo devel ;;
v[0-9]*) echo "$v" ;;
*) echo "devel-$v" ;; # no tag: the short commit
esac
