#!/bin/sh
# A handler for testing devupdate-agent on Linux: it installs nothing. It
# checks that the agent handed it an extracted cabinet (and, for a driver
# or an app, the .inf or package in it), then records the update as
# installed: one line "KIND NAME VERSION" appended to the file named by its
# argument. `make demo` configures it for every kind:
#
#   "handlers": {"ocp": {"command": ["/path/to/test-handler.sh", "/path/to/installed.log"]}}
#
# The agent passes the update in the environment (DEVUPDATE_DIR,
# DEVUPDATE_NAME, DEVUPDATE_VERSION, DEVUPDATE_KIND, DEVUPDATE_INF,
# DEVUPDATE_PACKAGE, DEVUPDATE_CAB), never through a shell.
set -eu
log=${1:?usage: test-handler.sh LOG}
[ -d "$DEVUPDATE_DIR" ] || { echo "test-handler: no extracted cabinet at $DEVUPDATE_DIR" >&2; exit 1; }
for f in "${DEVUPDATE_INF:-}" "${DEVUPDATE_PACKAGE:-}"; do
	[ -z "$f" ] || [ -f "$f" ] || { echo "test-handler: $f is not in the cabinet" >&2; exit 1; }
done
echo "$DEVUPDATE_KIND $DEVUPDATE_NAME $DEVUPDATE_VERSION" >>"$log"
